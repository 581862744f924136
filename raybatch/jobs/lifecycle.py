"""A job's life: creating it from the inputs, starting a run of it, and closing the run.

Every state change of the manifest goes through :class:`~raybatch.jobs.manifest.JobManifest`'s
own methods; this module decides which ones, and when.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass

from raybatch.config.model import RaybatchConfig
from raybatch.config.presets import content_type_rank
from raybatch.errors import InputError, JobError
from raybatch.io.cache import content_fingerprint
from raybatch.io.layout import jobs_dir, write_check_path
from raybatch.io.storage import (
    check_output_location,
    configure_storage,
    exists,
    explain_storage_error,
    is_local,
    is_storage_failure,
    local_path,
    normalise_root,
    read_bytes,
    remove_tree,
    size,
    write_bytes_atomic,
)
from raybatch.jobs import lock
from raybatch.jobs.discover import assign_video_keys, discover_inputs, input_from_uri
from raybatch.jobs.ids import claim_job_id
from raybatch.jobs.manifest import UNFINISHED, JobManifest
from raybatch.jobs.records import CANCELLED, ErrorRecord, Outcome, VideoRef
from raybatch.jobs.schema import FILE_LIST, check_listed_sources, inside
from raybatch.jobs.space import check_room_for_work

log = logging.getLogger(__name__)


def new_job(
    config: RaybatchConfig,
    sources: list[str] | None = None,
    *,
    list_file: str | None = None,
    job_id: str | None = None,
) -> JobManifest:
    """Discover the inputs (``config.input``, or an explicit list of paths/URLs, read from
    ``list_file`` when given) and start a job: a unique id (``job_id`` when given, if it is
    free), and a manifest with every input's content fingerprint."""
    if not config.input and sources is None:
        raise InputError("no input given: set `input` in the config or pass INPUT on the command line")
    configure_storage(config.storage.options)
    output_root = normalise_root(config.output.directory)
    check_locations(config.input, output_root)
    batch = config.batch
    if sources is None:
        found = discover_inputs(
            config.input, pattern=batch.pattern, recursive=batch.recursive, exclude=(output_root,)
        )
    else:
        found = [input_from_uri(uri) for uri in sources]
    if found:
        check_room_for_work(output_root, found[0].uri, found[0].size_bytes)
    keys = assign_video_keys(
        [v.relative_path for v in found],
        preserve_directory_structure=config.output.preserve_directory_structure,
    )
    job_id = claim_job_id(output_root, requested=job_id)
    # Taken before the manifest is written: a second job into this output stops here.
    lock.acquire(output_root, job_id)
    manifest = JobManifest(
        job_id=job_id,
        output=output_root,
        # Absolute, like every source under it: the job is resumed and inspected from anywhere.
        input=normalise_root(config.input) if config.input else FILE_LIST,
        input_list=list_file,
        config=config.public_dump(),
    )
    for video, key in zip(found, keys, strict=True):
        manifest.add_video(
            key, video.uri, video.relative_path, video.size_bytes, fingerprint_or_empty(video.uri)
        )
    try:
        manifest.save()
    except Exception as exc:
        lock.release(output_root, job_id)
        if not is_storage_failure(exc):
            raise
        raise explain_storage_error(jobs_dir(output_root), exc, writing=True) from None
    return manifest


def check_locations(input_uri: str | None, output_root: str) -> None:
    """Before anything is written: the output must not hold the input (``--output /`` or the
    input folder itself), and must be writable (a file, ``/proc``, a missing bucket)."""
    if input_uri and inside(output_root, normalise_root(input_uri)):
        raise InputError(
            f"--output {output_root} holds the input {input_uri}: the outputs would be mixed "
            "with the videos, and the videos would be skipped as outputs",
            hint="give --output a folder beside the input or inside it (e.g. INPUT/../out)",
        )
    check_output_location(output_root, write_check_path(output_root, uuid.uuid4().hex[:12]))


def fingerprint_or_empty(uri: str) -> str:
    """The input's content fingerprint; "" when it cannot be read (the probe then says why)."""
    try:
        return content_fingerprint(uri)
    except OSError:
        return ""


@dataclass
class Run:
    """One run of a job: its number and the videos it takes on."""

    number: int
    kind: str
    videos: list[VideoRef]


def begin_run(manifest: JobManifest, only: list[str] | None = None, kind: str = "process") -> Run:
    """Start a run of the job: its unfinished videos (or ``only`` these), queued for one more
    attempt. Inputs whose content changed since the job began are processed afresh."""
    keys = only if only is not None else manifest.keys_in(*UNFINISHED)
    if manifest.runs and manifest.input_list:
        # The first run read its list a moment ago (new_job); later ones read it again.
        sources = {key: manifest.videos[key]["source"] for key in keys}
        check_listed_sources(manifest.uri, manifest.input_list, sources)
    # The first run fingerprinted its inputs a moment ago (new_job); later ones check them.
    changed = note_changed_inputs(manifest, keys) if manifest.runs else []
    if manifest.runs and keys:
        first = manifest.video_ref(keys[0])
        check_room_for_work(manifest.output, first.source_uri, first.size_bytes)
    for key in keys:
        manifest.queue_video(key)
    number = manifest.begin_run(kind, keys, changed)
    mark_work_folder(manifest)
    return Run(number, kind, [manifest.video_ref(key) for key in keys])


def _work_is_link(manifest: JobManifest) -> bool:
    return is_local(manifest.work) and os.path.islink(local_path(manifest.work))


def mark_work_folder(manifest: JobManifest) -> None:
    """Mark the job's work folder as raybatch's own: only a folder so marked is ever removed.
    A link in its place would send the work files elsewhere: it is refused."""
    if _work_is_link(manifest):
        raise JobError(
            f"{manifest.work} is a link: raybatch writes a job's work files only into a folder it made",
            hint="remove the link, then run the command again",
        )
    marker = manifest.layout.work_marker
    if not exists(marker):
        write_bytes_atomic(marker, manifest.job_id.encode())


def note_changed_inputs(manifest: JobManifest, keys: list[str]) -> list[str]:
    """Inputs whose content changed since the job recorded them: their new content is
    processed afresh (segment ids include the fingerprint, so nothing old is mixed in)."""
    changed = []
    for key in keys:
        entry = manifest.videos[key]
        now = fingerprint_or_empty(entry["source"])
        if entry["fingerprint"] and now and now != entry["fingerprint"]:
            changed.append(key)
            log.warning("%s changed since job %s began: processing its new content", entry["source"], key)
            manifest.input_changed(key, now, size(entry["source"]))
    return changed


def end_run(
    manifest: JobManifest, run: Run, outcomes: list[Outcome], *, stopped: bool, group_by_type: bool
) -> list[Outcome]:
    """Close the run: videos it never reached are cancelled, and the job's outcomes (this run's
    and those earlier runs finished) are returned in the job's order."""
    reached = {o.video for o in outcomes}
    for video in (v for v in run.videos if v.key not in reached):
        outcome = cancelled(video)
        outcomes.append(outcome)
        manifest.finish_video(outcome)
    this_run = {o.video for o in outcomes}
    earlier = (manifest.earlier_outcome(key) for key in manifest.videos if key not in this_run)
    outcomes += [o for o in earlier if o is not None]
    for outcome in outcomes:
        outcome.attempt = manifest.videos.get(outcome.video, {}).get("attempts", 1) or 1
    order = {key: i for i, key in enumerate(manifest.videos)}
    outcomes.sort(key=lambda o: order.get(o.video, 0))
    if group_by_type:
        outcomes.sort(key=lambda o: content_type_rank(o.content_type if o.done else None))
    all_done = all(o.done for o in outcomes)
    manifest.end_run("stopped" if stopped else ("completed" if all_done else "completed_with_errors"))
    return outcomes


def cancelled(video: VideoRef) -> Outcome:
    """A video the run never reached because the batch stopped after an earlier failure."""
    error = ErrorRecord(
        file=video.source_uri,
        stage="scheduling",
        message="not processed: the batch stopped after an earlier failure (--error-handling stop)",
        hint="fix the failing video, or rerun with --error-handling continue",
    )
    return Outcome(video.key, video.source_uri, video.relative_path, CANCELLED, error=error)


def interrupt_run(manifest: JobManifest) -> None:
    """Ctrl-C: the job is saved as interrupted, ready to resume."""
    manifest.end_run("interrupted")


def clean_up(manifest: JobManifest, keep_work_files: bool) -> None:
    """Finished segments stay for resume and retry until every video of the job is done."""
    if keep_work_files or manifest.state != "completed":
        return
    marker = manifest.layout.work_marker
    if _work_is_link(manifest):
        log.warning("kept %s: it is a link, not the work folder raybatch made", manifest.work)
    elif exists(marker) and read_bytes(marker) == manifest.job_id.encode():
        remove_tree(manifest.work)
    else:
        log.warning("kept %s: it lacks the mark of job %s's work folder", manifest.work, manifest.job_id)

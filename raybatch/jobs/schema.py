"""What a job's files read back from disk must hold before raybatch acts on them.

A manifest, a checkpoint or a registry entry may have been edited by hand or by someone else
with access to the output location. Nothing in one is trusted: its shape is checked (pydantic),
its identifiers are plain names, every path it names stays inside the job's output location
(its job id must be the one it was found by; its output location is where it was found,
whatever it says), and every input it names lies
inside the input the job recorded. Anything else is a :class:`~raybatch.errors.JobError` naming
the file and the field; nothing is read, written or deleted on its word.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from raybatch.errors import InputError, JobError
from raybatch.jobs.discover import input_from_uri, read_list_file

#: Job ids and checkpoint names: a plain name, never a path.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SEGMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: What ``input`` holds for a job made from a list of paths (``batch process-list``).
FILE_LIST = "(file list)"

VideoState = Literal["queued", "running", "done", "failed", "timed_out", "cancelled"]
JobState = Literal["running", "completed", "completed_with_errors", "interrupted", "failed", "stopped"]


def valid_name(name: str) -> bool:
    """A job id or checkpoint name: letters, digits, ``.``, ``_``, ``-``; no path."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and ".." not in name


def check_job_id(job_id: str) -> str:
    """``job_id`` itself, or a :class:`JobError` saying what a job id looks like."""
    if not valid_name(job_id):
        raise JobError(
            f"job id {job_id!r} is not a job id",
            hint="job ids are names like batch_20260101_120000 (see raybatch batch status)",
        )
    return job_id


class _VideoEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str
    relative_path: str
    size_bytes: int | None = None
    fingerprint: str = ""
    state: VideoState
    stage: str | None = None
    attempts: int = 0
    error: dict[str, Any] | None = None
    output: str | None = None
    segments_total: int | None = None
    segments_done: list[str] = []


class _ManifestFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    job_id: str
    output: str
    input: str
    input_list: str | None = None
    config: dict[str, Any]
    videos: dict[str, _VideoEntry]
    state: str
    created_at: str
    updated_at: str | None = None
    finished_at: str | None = None
    runs: list[dict[str, Any]] = []
    checkpoints: list[str] = []


def validate_manifest(data: Any, uri: str, *, job_id: str) -> dict[str, Any]:
    """The manifest (or checkpoint) read from ``uri`` as job ``job_id``'s, once nothing in it
    points elsewhere; else a :class:`JobError`. (Its ``output`` is never read: a job's output
    location is where its manifest was found.)"""
    try:
        manifest = _ManifestFile.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        raise _tampered(uri, field, problem["msg"]) from None
    if manifest.job_id != job_id:
        raise _tampered(uri, "job_id", f"names job {manifest.job_id!r}, but it is job {job_id!r}'s file")
    for name in manifest.checkpoints:
        if not valid_name(name):
            raise _tampered(uri, "checkpoints", f"{name!r} is not a checkpoint name")
    if manifest.input == FILE_LIST and not manifest.input_list:
        raise _tampered(uri, "input_list", "a job of listed videos must name its list file")
    for key, video in manifest.videos.items():
        _check_video(uri, key, video, manifest.input)
    return data


def check_listed_sources(uri: str, input_list: str, sources: dict[str, str]) -> None:
    """Before a job of listed videos reads its inputs again (resume, retry): every source
    (``key -> source``) must be one its list file names today. Checked then, not on every
    load, so that ``status`` works without the list."""
    try:
        entries = read_list_file(input_list)
    except InputError as exc:
        raise JobError(
            f"{uri}: the job's list {input_list} is gone or unreadable ({exc.message}); "
            "the job reads only the videos its list names",
            hint="put the list back where it was, or run process-list again",
        ) from None
    listed = {input_from_uri(entry).uri for entry in entries}
    for key, source in sources.items():
        if source not in listed:
            raise _tampered(uri, f"videos.{key}.source", f"{source!r} is not in the job's list")


def _check_video(uri: str, key: str, video: _VideoEntry, job_input: str) -> None:
    if not inside("", key):
        raise _tampered(uri, f"videos.{key}", "the video's key is not a relative name")
    if not inside("", video.relative_path):
        raise _tampered(uri, f"videos.{key}.relative_path", f"{video.relative_path!r} leaves the input")
    if job_input != FILE_LIST and not inside(job_input, video.source):
        raise _tampered(uri, f"videos.{key}.source", f"{video.source!r} is not inside the job's input")
    for segment in video.segments_done:
        if not _SEGMENT_ID.fullmatch(segment):
            raise _tampered(uri, f"videos.{key}.segments_done", f"{segment!r} is not a segment id")


def inside(root: str, path: str) -> bool:
    """Whether ``path`` is ``root`` or lies under it (both URIs or local paths, compared as
    text once normalised); with an empty root, whether ``path`` is a plain relative name."""
    if not path or "\x00" in path:
        return False
    if not root:
        normal = posixpath.normpath(path)
        return not path.startswith("/") and normal != ".." and not normal.startswith("../")
    scheme = root.split("://", 1)[0] + "://" if "://" in root else ""
    if not path.startswith(scheme):
        return False
    base = scheme + posixpath.normpath(root[len(scheme) :])
    normal = scheme + posixpath.normpath(path[len(scheme) :])
    return normal == base or normal.startswith(base.rstrip("/") + "/")


def _tampered(uri: str, field: str, what: str) -> JobError:
    return JobError(
        f"{uri}: {field}: {what}; raybatch acts on nothing in this file",
        hint="restore the file from a checkpoint (checkpoints/ beside it) or start the job again",
    )

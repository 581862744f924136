"""The series step: once a run's episodes are done, the driver writes what belongs to the whole
series under ``OUT/series_coordination/`` from the episodes' small results. A failed episode
does not stop it (the files list it as failed), and every ``resume`` or ``retry`` writes them
again with what the job has by then."""

from __future__ import annotations

import logging
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.errors import RunFailure
from raybatch.io.layout import Layout
from raybatch.io.storage import exists, is_storage_failure, join, read_json, write_json_atomic
from raybatch.jobs.records import Outcome
from raybatch.jobs.schema import inside
from raybatch.series.documents import series_metadata
from raybatch.series.plan import SeriesPlan

log = logging.getLogger(__name__)

#: The series' own folder in the output.
SERIES_DIR = "series_coordination"


def series_dir(output_root: str) -> str:
    return join(output_root, SERIES_DIR)


def episode_metadata(layout: Layout, outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Each done episode's published ``metadata.json`` (an unreadable one is left out, logged)."""
    found: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        # A folder read back from the manifest (an earlier run's result) must stay in the output.
        if not outcome.done or not outcome.folder or not inside("", outcome.folder):
            continue
        uri = layout.published(outcome.folder, "metadata", "metadata.json")
        if not exists(uri):
            continue
        try:
            found[outcome.video] = read_json(uri)
        except (OSError, ValueError) as exc:
            log.warning("series: cannot read %s (%s); its keywords are left out", uri, exc)
    return found


def write_series(config: RaybatchConfig, plan: SeriesPlan, outcomes: list[Outcome], layout: Layout) -> str:
    """Write the series files; returns the folder they are in."""
    folder = series_dir(layout.root)
    document = series_metadata(config, plan, outcomes, episode_metadata(layout, outcomes))
    try:
        write_json_atomic(join(folder, "series_metadata.json"), document)
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        raise RunFailure(
            f"cannot write the series files under {folder}: {exc}",
            hint="free space or make the output writable, then: "
            f"raybatch batch resume --job-id {layout.job_id}",
        ) from exc
    return folder

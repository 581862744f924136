"""Job identifiers and the local registry that maps them to output locations."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from raybatch.errors import JobError


def new_job_id(now: datetime | None = None) -> str:
    """``batch_YYYYMMDD_HHMMSS`` in local time, as the guide shows (see :func:`claim_job_id`
    for one that is unique)."""
    return (now or datetime.now()).strftime("batch_%Y%m%d_%H%M%S")


def raybatch_home() -> Path:
    """raybatch's folder on this machine: ``$RAYBATCH_HOME``, default ``~/.raybatch``."""
    return Path(os.environ.get("RAYBATCH_HOME") or os.path.join(os.path.expanduser("~"), ".raybatch"))


def registry_root() -> Path:
    """The local registry: ``$RAYBATCH_HOME/jobs`` (default ``~/.raybatch/jobs``), one small
    JSON file per job naming its output location."""
    root = raybatch_home() / "jobs"
    root.mkdir(parents=True, exist_ok=True)
    return root


#: What a job id chosen with ``--job-id`` may look like (it names files and folders).
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def claim_job_id(output_root: str, now: datetime | None = None, requested: str | None = None) -> str:
    """A new job id, unique on this machine even for jobs started in the same second: the
    registry entry is created exclusively, and a taken id gets a ``_2``, ``_3``... suffix.
    A ``requested`` id is used as it is, or refused when it is malformed or taken."""
    if requested is not None:
        if not JOB_ID_PATTERN.fullmatch(requested):
            raise JobError(
                f"--job-id {requested!r} is not a usable job id",
                hint="use letters, digits, '_', '-' and '.', starting with a letter or digit",
            )
        if not _register_new(requested, output_root):
            raise JobError(
                f"job id {requested} is taken on this machine ({registry_root() / requested}.json)",
                hint="choose another --job-id, or leave it out for a new one",
            )
        return requested
    base = new_job_id(now)
    for n in range(1, 1000):
        job_id = base if n == 1 else f"{base}_{n}"
        if _register_new(job_id, output_root):
            return job_id
    raise JobError(
        f"no free job id for {base} in {registry_root()}", hint="remove old entries from that folder"
    )


def _register_new(job_id: str, output_root: str) -> bool:
    """Create the registry entry of ``job_id`` exclusively; whether it was free."""
    try:
        fd = os.open(registry_root() / f"{job_id}.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    entry = {"job_id": job_id, "output": output_root, "registered_at": datetime.now(UTC).isoformat()}
    with os.fdopen(fd, "w") as handle:
        json.dump(entry, handle)
    return True


def register_job(job_id: str, output_root: str) -> None:
    """Record where an existing job's outputs live (a job resumed on another machine)."""
    path = registry_root() / f"{job_id}.json"
    if not path.exists():
        entry = {"job_id": job_id, "output": output_root, "registered_at": datetime.now(UTC).isoformat()}
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps(entry))
        os.replace(temp, path)


def registered_jobs() -> list[dict[str, Any]]:
    """Every job this machine knows, newest first."""
    entries = []
    for path in registry_root().glob("*.json"):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("registered_at", ""), str):
            entries.append(entry)
    return sorted(entries, key=lambda e: e.get("registered_at", ""), reverse=True)


def job_output(job_id: str) -> str | None:
    """The output location of a registered job, if this machine knows it (``job_id`` is a
    checked job id: it names the entry's file)."""
    path = registry_root() / f"{job_id}.json"
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JobError(f"{path}: not a registry entry ({exc})", hint=_REGISTRY_HINT) from None
    output = entry.get("output") if isinstance(entry, dict) else None
    if not isinstance(output, str) or not output or entry.get("job_id") != job_id:
        raise JobError(f"{path}: output: the entry does not name job {job_id}'s output", hint=_REGISTRY_HINT)
    return output


_REGISTRY_HINT = "remove that file and pass --output with the job's output folder or URL"

"""The driver's step for ``--batch-api-calls``: the run's kept metadata requests sent together
(:mod:`raybatch.llm.batching`), and each answered video's published ``metadata.json`` rewritten
with the model's text in place of the offline text it was published with."""

from __future__ import annotations

import logging
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.io.layout import Layout
from raybatch.io.storage import exists, read_json, write_json_atomic
from raybatch.jobs.records import Outcome
from raybatch.llm.batching import BatchOptions, BatchOutcome, PendingRequest, send_together
from raybatch.llm.budget import Spending
from raybatch.llm.client import Caller, chat_endpoint, similar_requests
from raybatch.package.metadata import with_draft
from raybatch.package.writers import MetadataDraft

log = logging.getLogger(__name__)

METADATA = "metadata/metadata.json"
#: Where a video's kept request travels, in what its package stage made.
PENDING = "llm_request"


def complete_batched_metadata(
    config: RaybatchConfig, outcomes: list[Outcome], layout: Layout, ledger: Any
) -> dict[str, Any] | None:
    """Send the done videos' kept requests together and rewrite their metadata; returns the
    calls and tokens it took (``None``: there was nothing to send). The kept requests leave the
    outcomes either way (they are not for the reports)."""
    waiting = {o.video: o for o in outcomes if o.done and (o.package or {}).get(PENDING)}
    pending = [PendingRequest.from_dict(o.package[PENDING]) for o in waiting.values()]
    for outcome in outcomes:
        if outcome.package and PENDING in outcome.package:
            outcome.package = {k: v for k, v in outcome.package.items() if k != PENDING}
    endpoint = chat_endpoint(config.metadata.model_dump(), ledger) if pending else None
    if endpoint is None:
        return None
    llm = config.metadata.llm
    result = send_together(
        Caller(endpoint, ledger),
        pending,
        MetadataDraft,
        BatchOptions.from_settings(llm),
        similar=similar_requests(endpoint, llm),
    )
    if result.note:
        log.warning("metadata: %s", result.note)
    for video in result.same_as:
        result.usage_by_video[video] = {"cached_calls": 1, "similar_hits": 1}
    for video, answer in result.answers.items():
        apply_answer(layout, waiting[video], answer, endpoint.model, result)
    same = len(result.same_as)
    return {**result.usage, "cached_calls": same, "similar_hits": same, "batched_videos": len(waiting)}


def apply_answer(layout: Layout, outcome: Outcome, answer: str, model: str, result: BatchOutcome) -> None:
    """One video's answer into its published metadata and its outcome (title, writer, usage)."""
    writer = {"kind": "llm", "model": model, "sent": result.route[outcome.video]}
    usage = Spending.total([outcome.package.get("usage"), result.usage_by_video.get(outcome.video)])
    title = rewrite_metadata(layout, outcome, MetadataDraft.model_validate_json(answer), writer, usage)
    if title:
        outcome.package = {**outcome.package, "title": title, "writer": writer, "usage": usage}


def rewrite_metadata(
    layout: Layout, outcome: Outcome, draft: MetadataDraft, writer: dict[str, Any], usage: dict[str, Any]
) -> str | None:
    """Put ``draft``'s text into the video's published metadata; its new title (``None``: the
    file is gone or unreadable, left as it is)."""
    published = outcome.published(METADATA)
    uri = layout.file(published) if published else None
    if uri is None or not exists(uri):
        return None
    try:
        document = read_json(uri)
    except (OSError, ValueError) as exc:
        log.warning("metadata: cannot read %s (%s): its offline text stays", uri, exc)
        return None
    document = {**with_draft(document, draft, writer), "usage": usage}
    write_json_atomic(uri, document)
    return document["title"]

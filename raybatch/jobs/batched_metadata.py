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
from raybatch.llm.batching import BatchOptions, PendingRequest, send_together
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
    calls and tokens it took (``None``: there was nothing to send)."""
    waiting = {o.video: o for o in outcomes if o.done and (o.package or {}).get(PENDING)}
    llm = config.metadata.llm
    endpoint = chat_endpoint(config.metadata.model_dump(), ledger) if waiting else None
    if endpoint is None:
        return None
    result = send_together(
        Caller(endpoint, ledger),
        [PendingRequest.from_dict(o.package[PENDING]) for o in waiting.values()],
        MetadataDraft,
        BatchOptions.from_settings(llm),
        similar=similar_requests(endpoint, llm),
    )
    if result.note:
        log.warning("metadata: %s", result.note)
    for video in result.same_as:
        result.usage_by_video[video] = {"cached_calls": 1, "similar_hits": 1}
    for video, answer in result.answers.items():
        outcome = waiting[video]
        writer = {"kind": "llm", "model": endpoint.model, "sent": result.route[video]}
        usage = Spending.total([outcome.package.get("usage"), result.usage_by_video.get(video)])
        draft = MetadataDraft.model_validate_json(answer)
        title = rewrite_metadata(layout, outcome, draft, writer, usage)
        if title:
            outcome.package = {**outcome.package, "title": title, "writer": writer, "usage": usage}
    for outcome in waiting.values():
        outcome.package = {k: v for k, v in outcome.package.items() if k != PENDING}
    same = len(result.same_as)
    return {**result.usage, "cached_calls": same, "similar_hits": same, "batched_videos": len(waiting)}


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

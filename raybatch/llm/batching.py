"""``--batch-api-calls``: the batch's metadata requests sent together, after the videos are done.

Each video is published with offline metadata first (so nothing waits on the API, and a batch
that never comes back loses nothing); its request is kept. Once every video of the run is done,
the driver sends the requests that no cache answered:

- where the server offers OpenAI's Batch API (``/v1/files`` + ``/v1/batches``), as one batch
  job: one JSONL upload, one job, polled until it ends or ``metadata.llm.batch_wait_s`` passes
  (then it is cancelled and the offline metadata stays). It is cheaper (priced at
  ``batch_price_factor`` of the normal rate) but can take hours;
- elsewhere (the upload is refused), as combined chat calls, each carrying as many videos as the
  model's context allows (``context_tokens``), every video's answer validated on its own; a video
  whose answer is missing or invalid gets a call of its own.

Every answer goes into the response cache under the video's own request key, so a rerun (or the
same request in another job) is answered from there without a call.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from raybatch.llm.budget import Spending
from raybatch.llm.client import (
    Caller,
    LlmUnavailable,
    chat_request,
    prompt_token_bound,
    request_key,
    strip_fences,
)

log = logging.getLogger(__name__)

PURPOSE = "video_metadata"


@dataclass
class PendingRequest:
    """One video's metadata request, kept for the batch (plain data: it travels on the row)."""

    video: str
    messages: list[dict[str, str]]
    max_tokens: int | None = None
    #: What tells the video from others (its transcript), for near-duplicate matching.
    content: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "messages": self.messages,
            "max_tokens": self.max_tokens,
            "content": self.content,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingRequest:
        return cls(data["video"], data["messages"], data.get("max_tokens"), data.get("content", ""))


@dataclass
class BatchOutcome:
    """What sending the requests together gave: each video's answer (the JSON text), how they
    went (``batch_api``, ``combined`` or ``separate`` per video) and the calls and tokens, in
    all and per video (a shared call's tokens split evenly, the call counted on its first)."""

    answers: dict[str, str] = field(default_factory=dict)
    route: dict[str, str] = field(default_factory=dict)
    usage_by_video: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Videos whose request was a near duplicate of another's in the batch: video -> that one.
    same_as: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class BatchOptions:
    """How the requests go together (the ``metadata.llm`` settings of the same names)."""

    context_tokens: int = 16000
    wait_s: float = 3600.0
    poll_s: float = 10.0
    price_factor: float = 0.5

    @classmethod
    def from_settings(cls, llm: Any) -> BatchOptions:
        return cls(llm.context_tokens, llm.batch_wait_s, llm.batch_poll_s, llm.batch_price_factor)


class BatchApiUnavailable(Exception):
    """The server has no Batch API (the upload or the job was refused)."""


def send_together(
    caller: Caller,
    pending: list[PendingRequest],
    schema: type[BaseModel],
    options: BatchOptions,
    *,
    similar: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Answer ``pending`` with as few calls as the server allows (see the module's text); with
    ``similar`` (the near-duplicate index), a request whose content is a near duplicate of an
    earlier one's in the batch is not sent: it gets that one's answer."""
    outcome = BatchOutcome()
    if similar is not None:
        outcome.same_as = near_duplicates(pending, similar)
    unique = [p for p in pending if p.video not in outcome.same_as]
    if unique:
        try:
            BatchJob(caller, schema, options, sleep).run(unique, outcome)
        except BatchApiUnavailable as exc:
            log.info("no Batch API at %s (%s): combining requests instead", caller.endpoint.base_url, exc)
            combine_calls(caller, unique, schema, options.context_tokens, outcome)
    for video, first in outcome.same_as.items():
        if first in outcome.answers:
            outcome.answers[video] = outcome.answers[first]
            outcome.route[video] = f"same as {first}"
    return outcome


def near_duplicates(pending: list[PendingRequest], similar: Any) -> dict[str, str]:
    """Each request whose content is a near duplicate of an earlier one's in ``pending``, with
    that one's video (the first of each group is sent)."""
    firsts: list[PendingRequest] = []
    same_as: dict[str, str] = {}
    for request in pending:
        match = similar.closest(request.content, [first.content for first in firsts])
        if match is None:
            firsts.append(request)
        else:
            same_as[request.video] = firsts[match].video
    return same_as


class BatchJob:
    """One OpenAI Batch API job for the requests."""

    def __init__(
        self, caller: Caller, schema: type[BaseModel], options: BatchOptions, sleep: Callable[[float], None]
    ):
        self.caller, self.schema, self.sleep = caller, schema, sleep
        self.wait_s, self.poll_s, self.price_factor = options.wait_s, options.poll_s, options.price_factor

    def run(self, pending: list[PendingRequest], outcome: BatchOutcome) -> None:
        import openai

        endpoint, client = self.caller.endpoint, self.caller.client
        bodies = {
            p.video: chat_request(endpoint, PURPOSE, p.messages, self.schema, p.max_tokens) for p in pending
        }
        lines = [
            json.dumps({"custom_id": video, "method": "POST", "url": "/v1/chat/completions", "body": body})
            for video, body in bodies.items()
        ]
        worst = (
            sum(
                endpoint.cost(
                    prompt_token_bound(b["messages"], self.schema.model_json_schema()), b["max_tokens"]
                )
                for b in bodies.values()
            )
            * self.price_factor
        )
        if not self.caller.ledger.reserve(worst):
            outcome.note = f"the batch could cost up to ${worst:.4f}, past the budget: offline metadata kept"
            return
        try:
            data = "\n".join(lines).encode()
            upload = client.files.create(file=("raybatch-metadata.jsonl", data), purpose="batch")
            job = client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
        except (openai.NotFoundError, openai.BadRequestError, openai.PermissionDeniedError) as exc:
            self.caller.ledger.settle(worst, {})
            raise BatchApiUnavailable(f"HTTP {exc.status_code}") from None
        except openai.APIStatusError as exc:
            self.caller.ledger.settle(worst, {})
            if exc.status_code in (404, 405, 501):
                raise BatchApiUnavailable(f"HTTP {exc.status_code}") from None
            raise
        log.warning(
            "metadata of %d videos sent as Batch API job %s: cheaper, but it can take long; "
            "the run waits up to %.0f s (metadata.llm.batch_wait_s)",
            len(pending),
            job.id,
            self.wait_s,
        )
        job = self._wait(job)
        usage = {"calls": 1, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        if job.status == "completed" and job.output_file_id:
            self._read_results(client.files.content(job.output_file_id).text, bodies, outcome, usage)
        else:
            outcome.note = f"Batch API job {job.id} ended {job.status}: offline metadata kept"
        self.caller.ledger.settle(worst, usage)
        outcome.usage = usage

    def _wait(self, job: Any) -> Any:
        """Poll ``job`` until it ends, or cancel it once the wait is over."""
        client, deadline = self.caller.client, time.monotonic() + self.wait_s
        while job.status in ("validating", "in_progress", "finalizing"):
            if time.monotonic() >= deadline:
                log.warning("Batch API job %s not done after %.0f s: cancelled", job.id, self.wait_s)
                return client.batches.cancel(job.id)
            self.sleep(self.poll_s)
            job = client.batches.retrieve(job.id)
        return job

    def _read_results(
        self, text: str, bodies: dict[str, dict[str, Any]], outcome: BatchOutcome, usage: dict[str, Any]
    ) -> None:
        endpoint = self.caller.endpoint
        for line in text.splitlines():
            if not line.strip():
                continue
            result = json.loads(line)
            video, response = result.get("custom_id"), (result.get("response") or {})
            body = response.get("body") or {}
            if video not in bodies or response.get("status_code") != 200:
                continue
            tokens = body.get("usage") or {}
            tokens_in, tokens_out = tokens.get("prompt_tokens", 0), tokens.get("completion_tokens", 0)
            own = {
                "calls": 0 if outcome.usage_by_video else 1,
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "cost_usd": endpoint.cost(tokens_in, tokens_out) * self.price_factor,
            }
            outcome.usage_by_video[video] = own
            for name in ("input_tokens", "output_tokens", "cost_usd"):
                usage[name] += own[name]
            content = body["choices"][0]["message"]["content"] or ""
            if _valid(content, self.schema):
                outcome.answers[video] = strip_fences(content)
                outcome.route[video] = "batch_api"
                self.caller.remember(request_key("chat", bodies[video]), content, (tokens_in, tokens_out))


class CombinedAnswer(BaseModel):
    """Several videos' answers in one: ``{"answers": [{"id", "metadata"}]}``."""

    answers: list[dict[str, Any]] = Field(default_factory=list)


def combine_calls(
    caller: Caller,
    pending: list[PendingRequest],
    schema: type[BaseModel],
    context_tokens: int,
    outcome: BatchOutcome,
) -> None:
    """Chat calls of several videos each, every answer validated on its own; what is left
    unanswered gets a call of its own."""
    records_before = len(caller.records)
    for group in context_groups(pending, schema, context_tokens, caller.endpoint.max_output_tokens):
        before = len(caller.records)
        answers = _combined_call(caller, group, schema) if len(group) > 1 else {}
        share_usage(outcome, list(answers), caller.records[before:])
        for request in group:
            content = answers.get(request.video)
            if content is not None:
                outcome.answers[request.video] = content
                outcome.route[request.video] = "combined"
                body = chat_request(caller.endpoint, PURPOSE, request.messages, schema, request.max_tokens)
                caller.remember(request_key("chat", body), content, (0, 0))
                continue
            before = len(caller.records)
            try:
                answer = caller.chat_json(PURPOSE, request.messages, schema, request.max_tokens)
            except LlmUnavailable as exc:
                outcome.note = f"{request.video}: {exc}"
                continue
            finally:
                share_usage(outcome, [request.video], caller.records[before:])
            outcome.answers[request.video] = answer.model_dump_json()
            outcome.route[request.video] = "separate"
    outcome.usage = Spending.total(r.usage() for r in caller.records[records_before:])


def share_usage(outcome: BatchOutcome, videos: list[str], records: list[Any]) -> None:
    """Put what ``records`` used on ``videos``: the calls on the first, the tokens and cost split
    evenly (a failed combined call, answering none, goes on no video)."""
    if not videos or not records:
        return
    total = Spending.total(r.usage() for r in records)
    for index, video in enumerate(videos):
        own = outcome.usage_by_video.setdefault(video, {})
        for name, value in total.items():
            if name in ("calls", "cached_calls", "failed_calls", "similar_hits"):
                share = value if index == 0 else 0
            elif isinstance(value, int):
                share = value // len(videos) + (1 if index < value % len(videos) else 0)
            else:
                share = value / len(videos)
            own[name] = own.get(name, 0) + share


def context_groups(
    pending: list[PendingRequest], schema: type[BaseModel], context_tokens: int, answer_tokens: int
) -> list[list[PendingRequest]]:
    """The requests in groups that fit the model's context: each video's prompt bound plus its
    answer, under ``context_tokens``."""
    groups: list[list[PendingRequest]] = [[]]
    overhead = prompt_token_bound([], CombinedAnswer.model_json_schema()) + len(
        json.dumps(schema.model_json_schema())
    )
    used = overhead
    for request in pending:
        size = prompt_token_bound(request.messages[1:], None) + (request.max_tokens or answer_tokens)
        if groups[-1] and used + size > context_tokens:
            groups.append([])
            used = overhead
        groups[-1].append(request)
        used += size
    return [group for group in groups if group]


def combined_messages(group: list[PendingRequest], schema: type[BaseModel]) -> list[dict[str, str]]:
    """One request for several videos: each one's own request, labelled with its id."""
    parts = [
        f"Answer for each of these {len(group)} videos separately, as "
        '{"answers": [{"id": "<the video id>", "metadata": <its object>}]} where each object follows '
        f"this schema: {json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    ]
    for request in group:
        user = "\n".join(m["content"] for m in request.messages if m["role"] == "user")
        parts.append(f"=== Video id={request.video} ===\n{user}")
    return [request_system(group), {"role": "user", "content": "\n\n".join(parts)}]


def request_system(group: list[PendingRequest]) -> dict[str, str]:
    return next(m for m in group[0].messages if m["role"] == "system")


def _combined_call(caller: Caller, group: list[PendingRequest], schema: type[BaseModel]) -> dict[str, str]:
    """The valid answers of one combined call, by video (none when the call fails)."""
    cap = min(16384, sum(r.max_tokens or caller.endpoint.max_output_tokens for r in group))
    try:
        messages = combined_messages(group, schema)
        combined = caller.chat_json("video_metadata_combined", messages, CombinedAnswer, cap)
    except LlmUnavailable as exc:
        log.warning("a combined metadata call failed (%s): asking per video", exc)
        return {}
    wanted = {r.video for r in group}
    answers = {}
    for entry in combined.answers:
        video, metadata = entry.get("id"), entry.get("metadata")
        text = json.dumps(metadata) if isinstance(metadata, dict) else ""
        if video in wanted and _valid(text, schema):
            answers[video] = text
    return answers


def _valid(content: str, schema: type[BaseModel]) -> bool:
    try:
        schema.model_validate_json(strip_fences(content))
    except (ValidationError, ValueError):
        return False
    return True

"""Calls to an OpenAI-compatible server through the official ``openai`` client.

Every call goes: response cache -> budget reservation (worst case) -> the request, retried with
exponential backoff on 429, 5xx, timeouts and connection errors (and re-asked when the answer is
not the JSON the schema wants) -> cost from the price table -> the cache. The API key is read
from the environment only, handed to the client and never written anywhere: every message this
module produces passes through :func:`redact`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from raybatch.io.storage import exists, join, read_json, write_json_atomic

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

#: Tokens a chat template adds around each message (an upper bound for the reservation).
MESSAGE_OVERHEAD_TOKENS = 8


class LlmUnavailable(Exception):
    """The endpoint could not give a usable answer (after retries); the caller falls back."""


class BudgetExceeded(LlmUnavailable):
    """The call was not made: it could take the batch past ``--budget``."""


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (and any bearer token) masked."""
    if secret:
        text = text.replace(secret, "***")
    return text


def default_cache_dir() -> str:
    """The user's cache folder for responses (``$XDG_CACHE_HOME/raybatch/llm``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "raybatch", "llm")


def request_key(kind: str, request: dict[str, Any]) -> str:
    """The cache key of a request: what was asked, never where or with which key."""
    canonical = json.dumps({"kind": kind, **request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def prompt_token_bound(messages: list[dict[str, str]], schema: dict[str, Any] | None) -> int:
    """An upper bound on a request's prompt tokens: byte-level tokenizers never make more
    tokens than UTF-8 bytes, plus the template's per-message overhead."""
    size = sum(len(m["content"].encode()) + MESSAGE_OVERHEAD_TOKENS for m in messages)
    if schema is not None:
        size += len(json.dumps(schema).encode())
    return size + 16


def estimate_prompt_tokens(text_bytes: int) -> int:
    """The usual size of a prompt (about four bytes a token in English)."""
    return max(1, text_bytes // 4)


@dataclass
class CallRecord:
    """One logical call (after retries): what it cost and how it went."""

    purpose: str
    model: str
    cached: bool = False
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    audio_minutes: float = 0.0
    cost_usd: float = 0.0
    error: str | None = None
    #: Answered from a near-duplicate request's answer (``--cache-similar-content``).
    similar: bool = False
    similarity: float | None = None

    def usage(self) -> dict[str, Any]:
        return {
            "calls": 0 if self.cached else self.attempts,
            "cached_calls": 1 if self.cached else 0,
            "similar_hits": 1 if self.similar else 0,
            "failed_calls": 1 if self.error else 0,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "audio_minutes": self.audio_minutes,
            "cost_usd": self.cost_usd,
        }


@dataclass
class Endpoint:
    """Where and how to call: resolved from the configuration and the environment."""

    base_url: str | None
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_attempts: int = 4
    backoff_s: float = 1.0
    max_output_tokens: int = 900
    temperature: float = 0.3
    price_in: float = 0.0  # USD per million tokens
    price_out: float = 0.0
    price_per_minute: float = 0.0
    cache_dir: str | None = None

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.price_in + output_tokens * self.price_out) / 1_000_000

    def client(self):
        from openai import OpenAI

        # Retries are ours (counted, budgeted, and the same for every error kind).
        return OpenAI(
            api_key=self.api_key or "none", base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )


def api_key(settings: dict[str, Any], ledger: Any = None) -> str | None:
    """The API key: this process's environment, else the driver's (through the job's ledger)."""
    name = settings["llm"]["api_key_env"]
    return os.environ.get(name) or (ledger.secret(name) if ledger is not None else None) or None


def chat_endpoint(settings: dict[str, Any], ledger: Any = None) -> Endpoint | None:
    """The chat endpoint the metadata settings describe; ``None`` when no key is configured."""
    llm = settings["llm"]
    key = api_key(settings, ledger)
    if not key:
        return None
    price = llm["prices"].get(llm["model"], llm["default_price"])
    return Endpoint(
        base_url=llm["base_url"] or os.environ.get("OPENAI_BASE_URL") or None,
        model=llm["model"],
        api_key=key,
        timeout_s=llm["timeout_s"],
        max_attempts=llm["max_attempts"],
        backoff_s=llm["backoff_s"],
        max_output_tokens=llm["max_output_tokens"],
        temperature=llm["temperature"],
        price_in=price.get("input", 0.0),
        price_out=price.get("output", 0.0),
        cache_dir=llm["cache_dir"],
    )


def transcription_endpoint(settings: dict[str, Any], ledger: Any = None) -> Endpoint | None:
    """The speech-to-text endpoint; ``None`` when transcripts are off or no key is configured."""
    transcript, llm = settings["transcript"], settings["llm"]
    key = api_key(settings, ledger)
    if not transcript["enabled"] or not key:
        return None
    return Endpoint(
        base_url=transcript["base_url"] or llm["base_url"] or os.environ.get("OPENAI_BASE_URL") or None,
        model=transcript["model"],
        api_key=key,
        timeout_s=max(llm["timeout_s"], 300.0),
        max_attempts=llm["max_attempts"],
        backoff_s=llm["backoff_s"],
        price_per_minute=transcript["price_per_minute"],
        cache_dir=llm["cache_dir"],
    )


def similar_requests(endpoint: Endpoint, llm: Any) -> Any:
    """The near-duplicate index beside ``endpoint``'s response cache when the LLM settings
    (``metadata.llm``) turn similar-content caching on; else ``None``."""
    if not llm.cache_similar_content:
        return None
    from raybatch.llm.similar import SimilarRequests

    return SimilarRequests(endpoint.cache_dir or default_cache_dir(), llm.similarity_threshold)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(60.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _is_transient(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | openai.RateLimitError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def chat_request(
    endpoint: Endpoint,
    purpose: str,
    messages: list[dict[str, str]],
    schema: type[BaseModel],
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """The chat-completions request body (also what the response cache is keyed by)."""
    return {
        "model": endpoint.model,
        "messages": messages,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": purpose, "schema": schema.model_json_schema(), "strict": False},
        },
        "max_tokens": max_tokens or endpoint.max_output_tokens,
        "temperature": endpoint.temperature,
    }


class Caller:
    """Makes budgeted, cached, retried calls to one endpoint; keeps a record of each.
    ``similar``: the near-duplicate index (``--cache-similar-content``), or ``None``."""

    def __init__(
        self,
        endpoint: Endpoint,
        ledger: Any,
        sleep: Callable[[float], None] = time.sleep,
        similar: Any = None,
    ):
        self.endpoint = endpoint
        self.ledger = ledger
        self.similar = similar
        self.records: list[CallRecord] = []
        self._sleep = sleep
        self._client = None
        self._last_exception: Exception | None = None

    @property
    def client(self):
        if self._client is None:
            self._client = self.endpoint.client()
        return self._client

    def _cache_path(self, key: str) -> str:
        return join(self.endpoint.cache_dir or default_cache_dir(), key[:2], f"{key}.json")

    def _cached(self, key: str) -> dict[str, Any] | None:
        path = self._cache_path(key)
        try:
            return read_json(path) if exists(path) else None
        except (OSError, ValueError):
            return None  # an unreadable entry is a miss; the call replaces it

    def _backoff(self, attempt: int, exc: Exception | None) -> None:
        delay = _retry_after(exc) if exc is not None else None
        if delay is None:
            delay = self.endpoint.backoff_s * (2 ** (attempt - 1)) * (0.75 + 0.5 * random.random())
        self._sleep(delay)

    def _describe(self, exc: Exception) -> str:
        status = getattr(exc, "status_code", None)
        kind = type(exc).__name__
        message = getattr(exc, "message", None) or str(exc)
        text = f"{kind} (HTTP {status}): {message}" if status else f"{kind}: {message}"
        return redact(text, self.endpoint.api_key)[:500]

    def chat_json(
        self,
        purpose: str,
        messages: list[dict[str, str]],
        schema: type[T],
        max_tokens: int | None = None,
        content: str = "",
    ) -> T:
        """Ask for a JSON object matching ``schema`` (an answer of at most ``max_tokens``, else
        the endpoint's cap); raises :class:`LlmUnavailable` (or :class:`BudgetExceeded`) when no
        valid answer can be had. An exact earlier answer is used first; then, with similar-content
        caching on, the answer to a near-duplicate request (``content``: what tells this
        request's subject from others', e.g. the transcript; see :mod:`raybatch.llm.similar`)."""
        endpoint = self.endpoint
        request = chat_request(endpoint, purpose, messages, schema, max_tokens)
        key = request_key("chat", request)
        parsed = self.known_answer(purpose, messages, schema, max_tokens, content)
        if parsed is not None:
            return parsed
        record = self.records[-1]
        self._refuse_if_down(record)
        worst = endpoint.cost(prompt_token_bound(messages, schema.model_json_schema()), request["max_tokens"])
        last_error = "no attempt made"
        for attempt in range(1, endpoint.max_attempts + 1):
            if not self.ledger.reserve(worst):
                record.error = "budget"
                raise BudgetExceeded(f"the next call could cost up to ${worst:.4f}, past the budget")
            record.attempts = attempt
            parsed, last_error = self._attempt(request, schema, record, worst, key)
            if parsed is not None:
                if self.similar is not None:
                    self.similar.add(endpoint.model, purpose, key, content)
                return parsed
            log.warning(
                "%s: %s; trying again (attempt %d of %d)", purpose, last_error, attempt, endpoint.max_attempts
            )
            self._backoff(attempt, self._last_exception)
        record.error = last_error
        raise LlmUnavailable(last_error)

    def _from_cache(self, key: str, schema: type[T], record: CallRecord, similar: bool = False) -> T | None:
        """A cached answer that still matches the schema (costs nothing); ``similar``: the
        answer to a near-duplicate request, counted as such."""
        hit = self._cached(key)
        if hit is None:
            return None
        try:
            parsed = schema.model_validate_json(hit["content"])
        except (ValidationError, KeyError, TypeError):
            return None
        record.cached = True
        record.similar = similar
        self.ledger.settle(0.0, {"cached_calls": 1, "similar_hits": int(similar)})
        return parsed

    def known_answer(
        self,
        purpose: str,
        messages: list[dict[str, str]],
        schema: type[T],
        max_tokens: int | None = None,
        content: str = "",
    ) -> T | None:
        """The answer the caches hold for this request, without a call: the exact one, else
        (similar-content caching on) a near-duplicate's. Starts this request's record."""
        request = chat_request(self.endpoint, purpose, messages, schema, max_tokens)
        record = CallRecord(purpose=purpose, model=self.endpoint.model)
        self.records.append(record)
        parsed = self._from_cache(request_key("chat", request), schema, record)
        if parsed is None and self.similar is not None:
            parsed = self._from_similar(purpose, content, schema, record)
        return parsed

    def remember(self, key: str, content: str, usage: tuple[int, int]) -> None:
        """Keep an answer obtained elsewhere (a batch) as the cached answer to request ``key``."""
        answer = {"content": content, "model": self.endpoint.model, "usage": list(usage)}
        write_json_atomic(self._cache_path(key), answer)

    def _from_similar(self, purpose: str, content: str, schema: type[T], record: CallRecord) -> T | None:
        """The answer to an earlier near-duplicate request, when it still matches the schema."""
        match = self.similar.find(self.endpoint.model, purpose, content)
        if match is None:
            return None
        key, similarity = match
        parsed = self._from_cache(key, schema, record, similar=True)
        if parsed is not None:
            record.similarity = round(similarity, 4)
            log.info("%s: reused a near-duplicate request's answer (similarity %.3f)", purpose, similarity)
        return parsed

    def _attempt(
        self, request: dict[str, Any], schema: type[T], record: CallRecord, worst: float, key: str
    ) -> tuple[T | None, str]:
        """One call: the parsed answer (cached for next time), or why there is none. A transient
        failure is worth another attempt; anything else, or the last attempt, raises."""
        self._last_exception = None
        try:
            response = self.client.chat.completions.create(**request)
        except Exception as exc:
            record.error = self._describe(exc)
            self._settle_attempt(record, worst, 0, 0)
            if not _is_transient(exc) or record.attempts == self.endpoint.max_attempts:
                self._note_down(exc, record.error)
                raise LlmUnavailable(record.error) from None
            self._last_exception = exc
            return None, record.error
        usage = getattr(response, "usage", None)
        tokens_in = getattr(usage, "prompt_tokens", 0) or 0
        tokens_out = getattr(usage, "completion_tokens", 0) or 0
        self._settle_attempt(record, worst, tokens_in, tokens_out)
        content = response.choices[0].message.content or ""
        try:
            parsed = schema.model_validate_json(strip_fences(content))
        except ValidationError as exc:
            return None, f"the answer was not the JSON asked for: {exc.errors()[0]['msg']}"
        record.error = None
        answer = {"content": content, "model": self.endpoint.model, "usage": [tokens_in, tokens_out]}
        write_json_atomic(self._cache_path(key), answer)
        return parsed, ""

    def _refuse_if_down(self, record: CallRecord) -> None:
        """Once the endpoint failed every attempt, the run makes no more calls to it: each
        video would otherwise wait out the same retries."""
        reason = self.ledger.down_reason()
        if reason is not None:
            record.error = f"the endpoint did not answer earlier in this run ({reason})"
            raise LlmUnavailable(record.error)

    def _note_down(self, exc: Exception, description: str) -> None:
        """A transient failure on the last attempt: the endpoint is down for this run. The
        first to learn it says so on the console, once."""
        if _is_transient(exc) and self.ledger.mark_down(description):
            log.warning(
                "%s did not answer (%s): the rest of this run writes offline metadata and no "
                "transcripts; rerun later to use it",
                self.endpoint.base_url or "the LLM endpoint",
                description,
            )

    def _settle_attempt(self, record: CallRecord, reserved: float, tokens_in: int, tokens_out: int) -> None:
        cost = self.endpoint.cost(tokens_in, tokens_out)
        record.input_tokens += tokens_in
        record.output_tokens += tokens_out
        record.cost_usd += cost
        self.ledger.settle(
            reserved, {"calls": 1, "input_tokens": tokens_in, "output_tokens": tokens_out, "cost_usd": cost}
        )

    def transcribe(self, audio_path: str, minutes: float, offset_s: float = 0.0) -> dict[str, Any]:
        """Transcribe one audio file (``verbose_json``: text, language and timed segments,
        shifted by ``offset_s``)."""
        endpoint = self.endpoint
        with open(audio_path, "rb") as stream:
            digest = hashlib.sha256(stream.read()).hexdigest()
        key = request_key("transcription", {"model": endpoint.model, "audio": digest})
        record = CallRecord(purpose="transcription", model=endpoint.model)
        self.records.append(record)
        hit = self._cached(key)
        if hit is None:
            self._refuse_if_down(record)
            hit = self._transcribe_call(record, audio_path, minutes)
            write_json_atomic(self._cache_path(key), hit)
        else:
            record.cached = True
            self.ledger.settle(0.0, {"cached_calls": 1})
        return {
            "text": hit.get("text", ""),
            "language": hit.get("language"),
            "segments": [(s[0] + offset_s, s[1] + offset_s, s[2]) for s in hit.get("segments", [])],
        }

    def _transcribe_call(self, record: CallRecord, audio_path: str, minutes: float) -> dict[str, Any]:
        endpoint = self.endpoint
        cost = minutes * endpoint.price_per_minute
        for attempt in range(1, endpoint.max_attempts + 1):
            if not self.ledger.reserve(cost):
                record.error = "budget"
                raise BudgetExceeded(
                    f"transcribing {minutes:.1f} min could cost ${cost:.4f}, past the budget"
                )
            record.attempts = attempt
            try:
                with open(audio_path, "rb") as audio:
                    response = self.client.audio.transcriptions.create(
                        model=endpoint.model, file=audio, response_format="verbose_json"
                    )
            except Exception as exc:
                self.ledger.settle(cost, {"calls": 1})
                if not _is_transient(exc) or attempt == endpoint.max_attempts:
                    record.error = self._describe(exc)
                    self._note_down(exc, record.error)
                    raise LlmUnavailable(record.error) from None
                log.warning("transcription: %s; retrying", self._describe(exc))
                self._backoff(attempt, exc)
                continue
            record.audio_minutes += minutes
            record.cost_usd += cost
            self.ledger.settle(cost, {"calls": 1, "audio_minutes": minutes, "cost_usd": cost})
            segments = [
                (float(_get(s, "start")), float(_get(s, "end")), str(_get(s, "text")).strip())
                for s in (getattr(response, "segments", None) or [])
            ]
            return {
                "text": getattr(response, "text", ""),
                "language": getattr(response, "language", None),
                "segments": segments,
            }
        raise LlmUnavailable("transcription failed")

    def usage(self) -> dict[str, Any]:
        """This caller's totals."""
        from raybatch.llm.budget import Spending

        return Spending.total(record.usage() for record in self.records)


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name)


def strip_fences(content: str) -> str:
    """Some servers wrap JSON in a Markdown fence even when asked for JSON."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text

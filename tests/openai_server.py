"""A real HTTP server on loopback that speaks the OpenAI chat-completions, transcription, files
and batches APIs: canned but schema-true answers (several videos' at once for a combined
request), a Batch API job that runs its JSONL for real and is polled until done, and scripted
failures (429, 500, malformed JSON, slow answers past the client's timeout, 401 that echoes the
key as careless servers do). ``batch_api=False`` makes it a server without files and batches
(404, as vLLM or Ollama answer)."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TRANSCRIPT = [
    (0.4, 3.8, "Welcome to this lesson about Python loops and iteration."),
    (4.2, 8.0, "First we write a for loop over a list of numbers."),
    (8.4, 11.5, "Then a while loop that counts down to zero."),
    (11.9, 15.6, "We use break to leave a loop early and continue to skip one pass."),
    (16.0, 19.4, "Finally we compare both loops on the same small exercise."),
]


def metadata_answer(prompt: str, title: str = "Python Loops Explained") -> dict[str, Any]:
    """A valid metadata object for the request (as many chapter titles as it asks for)."""
    match = re.search(r"exactly (\d+) short titles", prompt)
    count = int(match.group(1)) if match else 0
    return {
        "title": title,
        "description": "A short lesson on for and while loops, with examples you can follow.",
        "tags": ["python", "loops", "tutorial", "programming", "for loop"],
        "keywords": ["python", "loops"],
        "chapter_titles": [f"Section {i + 1}" for i in range(count)],
        "thumbnail_text": "Loops in Python",
    }


def series_answer(prompt: str) -> dict[str, Any]:
    """A valid series text for the request: each episode described between its neighbours."""
    facts = json.loads(prompt.split("Facts:\n", 1)[1])
    episodes = facts["episodes"]

    def blurb(i: int) -> str:
        parts = [f"Episode {episodes[i]['episode']} covers {episodes[i]['title']}."]
        if i:
            parts.append(f"It builds on episode {episodes[i - 1]['episode']}, {episodes[i - 1]['title']}.")
        if i + 1 < len(episodes):
            parts.append(f"Episode {episodes[i + 1]['episode']}, {episodes[i + 1]['title']}, comes next.")
        return " ".join(parts)

    return {
        "playlist_title": f"{facts['series']}: the whole {facts['kind']}",
        "playlist_description": f"All {len(episodes)} episodes of {facts['series']}, step by step.",
        "episode_descriptions": [
            {"episode": e["episode"], "description": blurb(i)} for i, e in enumerate(episodes)
        ],
    }


#: A second transcript, for a second distinct audio (the stub tells recordings apart by hash).
OTHER_TRANSCRIPT = [
    (0.3, 4.0, "Today we bake sourdough bread with a starter that is five days old."),
    (4.3, 8.2, "Knead the dough for ten minutes, then let it rest in a warm kitchen."),
    (8.5, 11.6, "Bake it at two hundred and thirty degrees until the crust is dark."),
    (12.0, 15.4, "Let the loaf cool on a rack for an hour before you cut it."),
    (15.8, 19.0, "Keep the starter in the fridge and feed it once a week."),
]


def combined_answer(prompt: str, title: str) -> dict[str, Any]:
    """The answer for several videos at once: each ``=== Video id=... ===`` block answered."""
    blocks = re.split(r"=== Video id=(.+?) ===\n", prompt)[1:]
    return {
        "answers": [
            {"id": video, "metadata": metadata_answer(text, f"{title} ({video})")}
            for video, text in zip(blocks[::2], blocks[1::2], strict=True)
        ]
    }


def chat_answer(prompt: str, title: str = "Python Loops Explained") -> dict[str, Any]:
    """The answer for a chat request: the series text, several videos' metadata, or one's
    (titled ``title``)."""
    if "text of this series' playlist" in prompt:
        return series_answer(prompt)
    if "=== Video id=" in prompt:
        return combined_answer(prompt, title)
    return metadata_answer(prompt, title)


class OpenAIStub:
    """The server, its script and what it received."""

    def __init__(self, batch_api: bool = True) -> None:
        self.batch_api = batch_api
        #: Polls of a batch job that still find it in progress, before it completes.
        self.batch_polls_in_progress = 1
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        #: Audio hashes in the order first heard: the first gets TRANSCRIPT, the next OTHER_TRANSCRIPT.
        self.audio_seen: list[str] = []
        self.script: deque[str] = deque()  # per chat request: ok | 429 | 500 | malformed | slow | 401
        self.transcription_script: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.slow_s = 3.0
        #: The title every metadata answer gives.
        self.title = "Python Loops Explained"
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with stub.lock:
                    stub.requests.append(
                        {"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}
                    )
                stub._route_post(self, body)

            def do_GET(self) -> None:
                with stub.lock:
                    stub.requests.append({"path": self.path, "authorization": None, "body": b""})
                stub._route_get(self)

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> OpenAIStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _route_post(self, handler, body: bytes) -> None:
        path = handler.path
        if path.endswith("/chat/completions"):
            self._chat(handler, json.loads(body))
        elif path.endswith("/audio/transcriptions"):
            self._transcription(handler, body)
        elif self.batch_api and path.endswith("/files"):
            self._upload(handler, body)
        elif self.batch_api and path.endswith("/batches"):
            self._create_batch(handler, json.loads(body))
        elif self.batch_api and path.endswith("/cancel"):
            job = self.batches[path.split("/")[-2]]
            job["status"] = "cancelled"
            handler._send(200, self._public(job))
        else:
            handler._send(404, {"error": {"message": "not found"}})

    def _route_get(self, handler) -> None:
        parts = handler.path.rstrip("/").split("/")
        if self.batch_api and parts[-2] == "batches" and parts[-1] in self.batches:
            handler._send(200, self._poll(parts[-1]))
        elif self.batch_api and parts[-1] == "content" and parts[-2] in self.files:
            handler._send(200, self.files[parts[-2]])
        else:
            handler._send(404, {"error": {"message": "not found"}})

    @staticmethod
    def _uploaded(handler, body: bytes) -> bytes:
        """The file of a multipart request."""
        header = f"Content-Type: {handler.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
        return next(p.get_payload(decode=True) for p in message.iter_parts() if p.get_filename())

    def _upload(self, handler, body: bytes) -> None:
        """``POST /v1/files``: a multipart upload, kept under a new id."""
        data = self._uploaded(handler, body)
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = data
        handler._send(
            200,
            {"id": file_id, "object": "file", "bytes": len(data), "created_at": 0, "filename": "x.jsonl",
             "purpose": "batch", "status": "processed"},
        )  # fmt: skip

    def _create_batch(self, handler, request: dict[str, Any]) -> None:
        """``POST /v1/batches``: the job's answers are made now, released after the polls."""
        lines = [
            json.loads(line) for line in self.files[request["input_file_id"]].decode().splitlines() if line
        ]
        results = []
        for line in lines:
            prompt = "\n".join(m["content"] for m in line["body"]["messages"])
            content = json.dumps(chat_answer(prompt, self.title))
            usage = {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(content) // 4}
            body = {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                "usage": usage,
            }
            results.append({"custom_id": line["custom_id"], "response": {"status_code": 200, "body": body}})
        output_id = f"file-{next(self._ids)}"
        self.files[output_id] = "\n".join(json.dumps(r) for r in results).encode()
        job_id = f"batch_{next(self._ids)}"
        self.batches[job_id] = {
            "id": job_id, "object": "batch", "endpoint": request["endpoint"],
            "input_file_id": request["input_file_id"], "completion_window": request["completion_window"],
            "created_at": 0, "status": "validating",
            "polls_left": self.batch_polls_in_progress, "pending_output": output_id,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        }  # fmt: skip
        handler._send(200, self._public(self.batches[job_id]))

    def _poll(self, job_id: str) -> dict[str, Any]:
        job = self.batches[job_id]
        if job["status"] in ("validating", "in_progress"):
            if job["polls_left"] > 0:
                job["polls_left"] -= 1
                job["status"] = "in_progress"
            else:
                job["status"] = "completed"
                job["output_file_id"] = job["pending_output"]
        return self._public(job)

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if k not in ("polls_left", "pending_output")}

    def batch_jobs(self) -> list[dict[str, Any]]:
        return list(self.batches.values())

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def transcription_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/audio/transcriptions")]

    def _next(self, queue: deque[str]) -> str:
        with self.lock:
            return queue.popleft() if queue else "ok"

    def _chat(self, handler, request: dict[str, Any]) -> None:
        action = self._next(self.script)
        if action == "429":
            handler._send(
                429, {"error": {"message": "Rate limit reached", "type": "rate_limit"}}, {"Retry-After": "0"}
            )
            return
        if action == "500":
            handler._send(500, {"error": {"message": "upstream failed", "type": "server_error"}})
            return
        if action == "401":
            key = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
            handler._send(401, {"error": {"message": f"Incorrect API key provided: {key}", "type": "auth"}})
            return
        if action == "slow":
            time.sleep(self.slow_s)
        prompt = "\n".join(m["content"] for m in request["messages"])
        content = "{not json at all" if action == "malformed" else json.dumps(chat_answer(prompt, self.title))
        handler._send(
            200,
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {
                    "prompt_tokens": len(prompt) // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": len(prompt) // 4 + len(content) // 4,
                },
            },
        )

    def _transcription(self, handler, body: bytes) -> None:
        action = self._next(self.transcription_script)
        if action == "500":
            handler._send(500, {"error": {"message": "upstream failed"}})
            return
        digest = hashlib.sha256(self._uploaded(handler, body)).hexdigest()
        with self.lock:
            if digest not in self.audio_seen:
                self.audio_seen.append(digest)
            transcript = TRANSCRIPT if self.audio_seen.index(digest) % 2 == 0 else OTHER_TRANSCRIPT
        segments = [
            {"id": i, "start": a, "end": b, "text": " " + t} for i, (a, b, t) in enumerate(transcript)
        ]
        handler._send(
            200,
            {
                "task": "transcribe",
                "language": "english",
                "duration": transcript[-1][1],
                "text": " ".join(t for _, _, t in transcript),
                "segments": segments,
            },
        )

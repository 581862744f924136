"""A real HTTP server on loopback that speaks the OpenAI chat-completions and transcription
APIs: canned but schema-true answers, and scripted failures (429, 500, malformed JSON, slow
answers past the client's timeout, 401 that echoes the key as careless servers do)."""

from __future__ import annotations

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


def chat_answer(prompt: str, title: str = "Python Loops Explained") -> dict[str, Any]:
    """The answer for a chat request: the series text or a video's metadata (titled ``title``)."""
    if "text of this series' playlist" in prompt:
        return series_answer(prompt)
    return metadata_answer(prompt, title)


class OpenAIStub:
    """The server, its script and what it received."""

    def __init__(self) -> None:
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
                if self.path.endswith("/chat/completions"):
                    stub._chat(self, json.loads(body))
                elif self.path.endswith("/audio/transcriptions"):
                    stub._transcription(self)
                else:
                    self._send(404, {"error": {"message": "not found"}})

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

    def _transcription(self, handler) -> None:
        action = self._next(self.transcription_script)
        if action == "500":
            handler._send(500, {"error": {"message": "upstream failed"}})
            return
        segments = [
            {"id": i, "start": a, "end": b, "text": " " + t} for i, (a, b, t) in enumerate(TRANSCRIPT)
        ]
        handler._send(
            200,
            {
                "task": "transcribe",
                "language": "english",
                "duration": TRANSCRIPT[-1][1],
                "text": " ".join(t for _, _, t in TRANSCRIPT),
                "segments": segments,
            },
        )

"""Bytes and requests a batch sends to S3: this tree against an earlier revision.

A moto S3 server on loopback sits behind a counting TCP proxy; raybatch processes the same three
generated clips from s3:// to s3:// through the proxy, once with this checkout and once with
``--ref`` (checked out into a temporary git worktree), and the bench prints what each sent:
bytes up (client to server, bodies and headers), requests by method, and the ratios.

    .venv/bin/python scripts/bench/s3_bytes.py --ref d24be67
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
REQUEST_LINE = re.compile(rb"(GET|PUT|POST|HEAD|DELETE) /[^ \r\n]* HTTP/1\.1\r\n")
KEYS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


class CountingProxy:
    """Forwards loopback TCP to ``target_port``, counting what clients send."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.bytes_up = 0
        self.requests: collections.Counter[str] = collections.Counter()
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._serve, daemon=True).start()

    def reset(self) -> None:
        self.bytes_up, self.requests = 0, collections.Counter()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self.loop.run_until_complete(server.serve_forever())

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer, True), self._pipe(up_reader, writer, False))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool) -> None:
        try:
            while chunk := await reader.read(1 << 16):
                if upstream:
                    self.bytes_up += len(chunk)
                    for match in REQUEST_LINE.finditer(chunk):
                        self.requests[match.group(1).decode()] += 1
                    # A server-side copy (what a move is on S3): the store moves the bytes again.
                    self.requests["(copies)"] += chunk.lower().count(b"x-amz-copy-source:")
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _generate(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for index, seconds in enumerate((4, 6, 8)):
        clip = folder / f"clip{index}.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc2=size=640x360:rate=25:duration={seconds}", "-f", "lavfi", "-i",
             f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset", "veryfast",
             "-c:a", "aac", "-shortest", str(clip)],
            check=True,
        )  # fmt: skip
        clips.append(clip)
    return clips


def _run(tree: Path, endpoint: str, run: str) -> None:
    env = {**os.environ, **KEYS, "AWS_ENDPOINT_URL": endpoint, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-m", "raybatch", "batch", "process", "s3://bench-in/raw", "--output",
         f"s3://bench-out/{run}", "--quality", "low", "--mode", "fast", "--no-progress-bar"],
        cwd=tree, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"{tree}: raybatch failed:\n{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref", required=True, help="the revision to compare with (a commit or branch)")
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            time.sleep(3)
            client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", **_boto(KEYS))
            for bucket in ("bench-in", "bench-out"):
                client.create_bucket(Bucket=bucket)
            for clip in _generate(work / "clips"):
                client.upload_file(str(clip), "bench-in", f"raw/{clip.name}")
            proxy = CountingProxy(port)
            subprocess.run(
                ["git", "worktree", "add", "-q", "--detach", str(work / "ref"), args.ref],
                cwd=ROOT,
                check=True,
            )
            results = {}
            for name, tree in ((args.ref, work / "ref"), ("this tree", ROOT)):
                proxy.reset()
                _run(tree, f"http://127.0.0.1:{proxy.port}", name.replace(" ", "_"))
                results[name] = (proxy.bytes_up, dict(proxy.requests))
        finally:
            server.terminate()
            subprocess.run(["git", "worktree", "remove", "--force", str(work / "ref")], cwd=ROOT, check=False)
    _print(results, args.ref)


def _boto(keys: dict[str, str]) -> dict[str, str]:
    return {
        "region_name": keys["AWS_DEFAULT_REGION"],
        "aws_access_key_id": keys["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": keys["AWS_SECRET_ACCESS_KEY"],
    }


def _print(results: dict[str, tuple[int, dict[str, int]]], ref: str) -> None:
    print(f"{'':12} {'bytes up':>12} {'requests':>9}  by method")
    for name, (sent, requests) in results.items():
        methods = " ".join(f"{m} {n}" for m, n in sorted(requests.items()))
        total = sum(n for m, n in requests.items() if m != "(copies)")
        print(f"{name:12} {sent:12,d} {total:9d}  {methods}")
    (before, before_requests), (after, after_requests) = results[ref], results["this tree"]
    count = lambda requests: sum(n for m, n in requests.items() if m != "(copies)")  # noqa: E731
    print(
        f"ratio (this tree / {ref}): bytes {after / before:.2f}, "
        f"requests {count(after_requests) / count(before_requests):.2f}"
    )


if __name__ == "__main__":
    main()

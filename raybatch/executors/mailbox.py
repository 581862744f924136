"""Feeding rows into a running Ray Data pipeline.

Ray Data streams each dataset from inputs known when it starts, but a video's parts exist only
once ``plan`` made them. So every branch of the pipeline starts from a *mailbox*: one long-lived
task per branch pulls the rows the driver posts for that branch and yields them one by one into
the branch's stages. The tasks claim no CPU: they only wait.

This module stays small on purpose: the pulling tasks import it and nothing heavier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

#: Posted to a branch when no more rows will come: its stream ends.
END = None


class Mailbox:
    """One queue per branch (a Ray actor: the driver posts, the branches' tasks take).

    An async actor may run calls in another order than they were made, so each post carries
    its number in its branch and is applied in that order: the end of a stream can never
    overtake its last rows."""

    def __init__(self, branches: list[str]):
        self.queues: dict[str, asyncio.Queue] = {name: asyncio.Queue() for name in branches}
        self.applied: dict[str, int] = {name: 0 for name in branches}
        self.early: dict[str, dict[int, list[dict[str, Any] | None]]] = {name: {} for name in branches}
        #: Stage starts the workers told (``raybatch.jobs.events``), until the driver drains them.
        self.started: list[tuple[str, str]] = []

    async def post(self, branch: str, number: int, rows: list[dict[str, Any] | None]) -> None:
        """Post number ``number`` (from 0) to ``branch``: its rows are queued once every
        earlier post to the branch is."""
        early = self.early[branch]
        early[number] = rows
        while self.applied[branch] in early:
            for row in early.pop(self.applied[branch]):
                self.queues[branch].put_nowait(row)
            self.applied[branch] += 1

    async def note_started(self, video_key: str, stage: str) -> None:
        self.started.append((video_key, stage))

    async def drain_started(self) -> list[tuple[str, str]]:
        """The stage starts told since the last drain, in order."""
        started, self.started = self.started, []
        return started

    async def take(self, branch: str) -> list[dict[str, Any] | None]:
        """Every row waiting for ``branch``; waits for at least one."""
        queue = self.queues[branch]
        rows = [await queue.get()]
        while not queue.empty():
            rows.append(queue.get_nowait())
        return rows


class Outbox:
    """The driver's side of a mailbox actor: numbers its posts, branch by branch."""

    def __init__(self, mailbox: Any):
        self.mailbox = mailbox
        self.posted: dict[str, int] = {}

    def post(self, branch: str, rows: list[dict[str, Any] | None]) -> None:
        number = self.posted.get(branch, 0)
        self.posted[branch] = number + 1
        self.mailbox.post.remote(branch, number, rows)


def pull_from(mailbox: Any) -> Callable[[dict[str, Any]], Iterator[dict[str, Any]]]:
    """The function a branch's source task runs: the branch's rows, as they are posted."""

    def pull(source: dict[str, Any]) -> Iterator[dict[str, Any]]:
        import ray

        while True:
            for row in ray.get(mailbox.take.remote(source["branch"])):
                if row is END:
                    return
                yield row

    return pull

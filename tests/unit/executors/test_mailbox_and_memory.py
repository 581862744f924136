"""The mailbox a branch pulls its rows from (its actor's methods, without Ray), and the memory
sampler of a run's process tree."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from raybatch.executors.mailbox import END, Mailbox
from raybatch.executors.memory import ProcessTreeMemory


def test_a_branch_takes_every_waiting_row_and_the_end_in_order():
    async def exchange():
        mailbox = Mailbox(["encode", "assemble"])
        await mailbox.post("encode", 0, [{"i": 1}, {"i": 2}])
        first = await mailbox.take("encode")
        waiting = asyncio.ensure_future(mailbox.take("encode"))
        await asyncio.sleep(0)
        assert not waiting.done()  # nothing posted yet: it waits
        await mailbox.post("encode", 1, [{"i": 3}, END])
        return first, await waiting

    first, second = asyncio.run(exchange())
    assert first == [{"i": 1}, {"i": 2}] and second == [{"i": 3}, END]


def test_a_post_that_arrives_early_waits_for_the_ones_before_it():
    """An async actor may run the driver's calls out of order: the end of a stream posted
    right after its last rows must not overtake them (a shot row was lost that way)."""

    async def exchange():
        mailbox = Mailbox(["detect_shots"])
        await mailbox.post("detect_shots", 1, [END])
        waiting = asyncio.ensure_future(mailbox.take("detect_shots"))
        await asyncio.sleep(0)
        assert not waiting.done()  # the end came first: held back
        await mailbox.post("detect_shots", 0, [{"video": "three"}])
        return await waiting

    assert asyncio.run(exchange()) == [{"video": "three"}, END]


def test_the_peak_covers_the_children_this_process_starts():
    with ProcessTreeMemory(interval_s=0.05) as memory:
        alone = memory.sample()
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; x = bytearray(80_000_000); time.sleep(1)"]
        )
        child.wait()
    assert memory.peak_bytes >= alone + 60_000_000

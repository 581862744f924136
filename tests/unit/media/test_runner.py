"""Running ffmpeg and friends: a process's stdin fed by a producer on a thread of its own."""

import pytest

from raybatch.media.runner import run_command


def test_a_producer_feeds_stdin_and_the_process_sees_all_of_it():
    def produce(stream):
        for piece in range(100):
            stream.write(bytes([piece]) * 65536)  # more than a pipe holds: the writer must stream

    run = run_command(["wc", "-c"], stdin_producer=produce, capture_stdout=True, what="count")
    assert run.stdout.decode().strip() == str(100 * 65536)


def test_a_failing_producer_stops_the_process_with_its_own_error():
    def produce(stream):
        stream.write(b"x" * 1024)
        raise RuntimeError("the render failed")

    with pytest.raises(RuntimeError, match="the render failed"):
        run_command(["cat"], stdin_producer=produce, capture_stdout=True, what="cat")


def test_a_process_that_stops_reading_ends_the_producer_without_an_error_of_its_own():
    def produce(stream):
        while True:
            stream.write(b"x" * 65536)

    run = run_command(["head", "-c", "10"], stdin_producer=produce, capture_stdout=True, what="head")
    assert run.stdout == b"x" * 10

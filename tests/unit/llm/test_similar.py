"""Near-duplicate requests by their transcripts' sentence embeddings (the real all-MiniLM-L6-v2,
offline): a re-upload and a re-cut match, another lecture of the course does not."""

from __future__ import annotations

import pytest

from raybatch.llm.similar import SimilarRequests

LOOPS = (
    "Welcome to this lesson about Python loops and iteration. First we write a for loop over a list "
    "of numbers and print each one. Then a while loop that counts down to zero, and we see why the "
    "condition must change inside the loop. Finally we use break and continue to leave a loop early "
    "or to skip one pass, and we compare the two kinds of loop on the same task."
)
RECUT = LOOPS.replace(
    " Finally we use break and continue to leave a loop early or to skip one pass,", " Then"
)
FUNCTIONS = (
    "Welcome to this lesson about Python functions. We define a function with def, give it "
    "parameters and return a value. Then we look at default arguments, keyword arguments and why a "
    "mutable default is a trap. Finally we write a small function that formats a receipt and we "
    "test it with a few examples from the previous lesson's exercise."
)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    similar = SimilarRequests(str(tmp_path_factory.mktemp("llm-cache")), threshold=0.9)
    similar.add("model", "video_metadata", "key-loops", LOOPS)
    return similar


def test_a_reupload_and_a_recut_reuse_the_answer(index):
    assert index.find("model", "video_metadata", LOOPS)[0] == "key-loops"
    key, similarity = index.find("model", "video_metadata", RECUT)
    assert key == "key-loops" and 0.9 <= similarity < 0.99


def test_another_lecture_of_the_same_course_does_not(index):
    assert index.find("model", "video_metadata", FUNCTIONS) is None


def test_other_models_purposes_and_thin_content_never_match(index):
    assert index.find("other-model", "video_metadata", LOOPS) is None
    assert index.find("model", "series_text", LOOPS) is None
    assert index.find("model", "video_metadata", "Welcome to this lesson.") is None

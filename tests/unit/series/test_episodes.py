"""Episode marks in file names, the series order they give and the numbers episodes go by."""

from __future__ import annotations

import pytest

from raybatch.series.episodes import EpisodeMark, episode_mark, order_episodes


@pytest.mark.parametrize(
    ("name", "mark"),
    [
        ("ep2.mp4", EpisodeMark(episode=2)),
        ("EP10.MP4", EpisodeMark(episode=10)),
        ("S01E02 - intro.mkv", EpisodeMark(season=1, episode=2)),
        ("show_s02e11.mkv", EpisodeMark(season=2, episode=11)),
        ("part 3 - x.mp4", EpisodeMark(episode=3)),
        ("Part_Three_Loops.mp4", EpisodeMark(episode=3)),
        ("10 - wrap up.mp4", EpisodeMark(episode=10)),
        ("course_01.mp4", EpisodeMark(episode=1)),
        ("lesson 4.mov", EpisodeMark(episode=4)),
        ("python_tutorial_ep03_loops.mp4", EpisodeMark(episode=3)),
        ("Leçon épisode 5.mp4", EpisodeMark(episode=5)),
        ("２０２４-03-01 standup.mp4", EpisodeMark(date="2024-03-01")),  # full-width digits
        ("standup 20240302.mp4", EpisodeMark(date="2024-03-02")),
        ("Trip to Paris 2019.mp4", EpisodeMark()),  # a year is no episode
        ("sleep3.mp4", EpisodeMark()),  # "ep" inside a word is no mark
        ("lecture.mp4", EpisodeMark()),
        ("folder/ep 7/intro.mp4", EpisodeMark()),  # only the file's own name counts
    ],
)
def test_episode_marks_in_file_names(name, mark):
    assert episode_mark(name) == mark


def numbers(paths, explicit=None):
    return [(e.relative_path, e.number) for e in order_episodes(paths, explicit)]


def test_episodes_follow_their_marks_in_natural_order():
    assert numbers(["ep10.mp4", "Ep2.mp4", "ep1.mp4"]) == [("ep1.mp4", 1), ("Ep2.mp4", 2), ("ep10.mp4", 10)]
    assert numbers(["course_02.mp4", "course_01.mp4", "course_10.mp4"]) == [
        ("course_01.mp4", 1),
        ("course_02.mp4", 2),
        ("course_10.mp4", 10),
    ]
    seasons = order_episodes(["S02E01.mp4", "S01E02.mp4", "S01E01.mp4"])
    assert [(e.season, e.number, e.position) for e in seasons] == [(1, 1, 1), (1, 2, 2), (2, 1, 3)]


def test_without_a_mark_on_every_episode_they_are_numbered_in_order():
    assert numbers(["b.mp4", "A.mp4", "ep3.mp4"]) == [("A.mp4", 1), ("b.mp4", 2), ("ep3.mp4", 3)]
    # Two episodes marked 1 (two parts): numbered by position.
    assert numbers(["intro part 1.mp4", "outro part 1.mp4"]) == [
        ("intro part 1.mp4", 1),
        ("outro part 1.mp4", 2),
    ]
    by_date = numbers(["2024-03-10 review.mp4", "2024-03-02 kickoff.mp4"])
    assert by_date == [("2024-03-02 kickoff.mp4", 1), ("2024-03-10 review.mp4", 2)]


def test_an_explicit_list_sets_the_order_and_the_rest_follow():
    paths = ["intro.mp4", "basics/loops.mp4", "wrap.mp4", "extra.mp4"]
    assert numbers(paths, ["wrap.mp4", "basics/loops.mp4", "intro.mp4"]) == [
        ("wrap.mp4", 1),
        ("basics/loops.mp4", 2),
        ("intro.mp4", 3),
        ("extra.mp4", 4),
    ]
    assert numbers(["a/loops.mp4", "b.mp4"], ["loops.mp4"])[0] == ("a/loops.mp4", 1)  # by file name too

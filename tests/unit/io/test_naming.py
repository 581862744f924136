"""Output structures: the default one, the guide's custom patterns, and hostile names."""

from __future__ import annotations

from pathlib import Path

import pytest

from raybatch.config.loader import load_config
from raybatch.errors import ConfigError
from raybatch.io.names import safe_name
from raybatch.io.naming import Patterns, check_pattern, plan_names

REPO = Path(__file__).resolve().parents[3]
GUIDE = Patterns(
    video_dir="{series_name}/{episode_number}_{video_name}",
    thumbnail_dir="{series_name}/thumbnails/{video_name}",
    metadata_dir="{series_name}/metadata/{video_name}",
    video_file="{series_name}_E{episode:02d}_{title}.mp4",
    thumbnail_file="{series_name}_E{episode:02d}_thumb_{strategy}.jpg",
    metadata_file="{series_name}_E{episode:02d}_metadata.json",
)


def names(patterns: Patterns, keys: list[str], numbered: bool = False, **kw):
    episodes = {key: number for number, key in enumerate(keys, 1)}
    return plan_names(patterns, keys, series_name="Python Basics", episodes=episodes, numbered=numbered, **kw)


def test_the_default_structure_keeps_every_file_under_the_video_folder():
    files = names(Patterns(), ["talk"]).files("talk", "Any title", "music")
    assert files.paths["video"] == "talk/video/enhanced_talk.mp4"
    assert files.paths["metadata/metadata.json"] == "talk/metadata/metadata.json"
    assert files.paths["metadata/edl.otio"] == "talk/metadata/edl.otio"
    assert files.paths["thumbnails/clean.jpg"] == "talk/thumbnails/clean.jpg"
    assert files.paths["thumbnails/thumbnails.json"] == "talk/thumbnails/thumbnails.json"
    assert files.folder == "talk"


def test_types_and_source_folders_add_levels_and_a_numbered_series_leads_with_the_number():
    planned = names(Patterns(), ["season1/intro", "season1/outro"], numbered=True, organize_by_type=True)
    files = planned.files("season1/intro", "", "educational")
    assert files.paths["video"] == "educational/season1/E01_intro/video/enhanced_E01_intro.mp4"
    wide = plan_names(Patterns(), ["intro"], series_name="S", episodes={"intro": 3}, numbered=True)
    assert wide.files("intro").folder == "E03_intro"
    assert (
        plan_names(Patterns(), ["i"], series_name="S", episodes={"i": 120}, numbered=True)
        .files("i")
        .folder.startswith("E120_")
    )


def test_the_guides_custom_patterns_put_every_file_where_they_say():
    files = names(GUIDE, ["lesson_a", "lesson_b"]).files("lesson_b", "Loops & Lists", "educational")
    assert files.paths["video"] == "Python Basics/02_lesson_b/Python Basics_E02_Loops & Lists.mp4"
    assert files.paths["thumbnails/closeup.jpg"] == (
        "Python Basics/thumbnails/lesson_b/Python Basics_E02_thumb_closeup.jpg"
    )
    assert files.paths["thumbnails/thumbnails.json"].endswith("/Python Basics_E02_thumb_index.json")
    assert (
        files.paths["metadata/metadata.json"]
        == "Python Basics/metadata/lesson_b/Python Basics_E02_metadata.json"
    )
    # Companions share the metadata file's name, so a shared folder still holds every video's.
    assert files.paths["metadata/analysis.json"].endswith("/Python Basics_E02_metadata.analysis.json")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("../../etc/passwd", "E01_.._.._etc_passwd.mp4"),
        ("a/b", "E01_a_b.mp4"),
        ("tab\there\x07", "E01_tab_here_.mp4"),
        ("🎬 Intro", "E01_🎬 Intro.mp4"),
    ],
)
def test_hostile_titles_become_one_safe_name(title, expected):
    patterns = Patterns(video_dir="out", video_file="E{episode:02d}_{title}.mp4")
    video = names(patterns, ["v"]).files("v", title).paths["video"]
    assert video == f"out/{expected}"


def test_reserved_dot_and_long_names_are_made_safe():
    assert safe_name("con") == "_con" and safe_name("LPT1.txt") == "_LPT1.txt"
    assert safe_name("..") == "_" and safe_name(" .hidden. ") == "hidden"
    long = names(Patterns(video_dir="v", video_file="{title}.mp4"), ["a"]).files("a", "é" * 300)
    name = long.paths["video"].split("/")[-1]
    assert name.endswith(".mp4") and len(name.encode()) <= 255
    assert (
        long.paths
        == names(Patterns(video_dir="v", video_file="{title}.mp4"), ["a"]).files("a", "é" * 300).paths
    )
    # A name for summary/ or raybatch's own state never lands on them.
    assert (
        names(Patterns(video_dir="{video_name}"), ["summary"])
        .files("summary")
        .paths["video"]
        .startswith("_summary/")
    )


def test_names_that_would_meet_get_a_deterministic_suffix_and_a_warning():
    patterns = Patterns(video_dir="all", video_file="{title}.mp4", thumbnail_dir="all", metadata_dir="all")
    patterns = Patterns(
        **{**patterns.__dict__, "metadata_file": "{title}.json", "thumbnail_file": "{title}_{strategy}.jpg"}
    )
    planned = names(patterns, ["a", "b", "c"])
    videos = [planned.files(k, "Same: title").paths["video"] for k in ("a", "b", "c")]
    assert videos == ["all/Same_ title.mp4", "all/Same_ title-2.mp4", "all/Same_ title-3.mp4"]
    assert len(planned.warnings) == 2 and "suffix -2" in planned.warnings[0]
    assert names(patterns, ["a", "b", "c"]).videos == planned.videos
    # Folders that differ only in case meet on a case-insensitive disk too.
    cased = names(Patterns(), ["Talk", "talk"])
    assert cased.files("talk").paths["video"] != cased.files("Talk").paths["video"]


@pytest.mark.parametrize(
    ("key", "pattern", "message"),
    [
        ("naming.video_file", "{name}.mp4", "unknown placeholder {name}"),
        ("patterns.video_dir", "{strategy}", "unknown placeholder {strategy}"),
        ("naming.video_file", "{episode:q}.mp4", "bad format"),
        ("patterns.video_dir", "../up", "inside the output folder"),
        ("patterns.video_dir", "/abs", "inside the output folder"),
        ("naming.video_file", "a/b.mp4", "is a file name"),
        ("naming.thumbnail_file", "thumb.jpg", "needs {strategy}"),
        ("naming.video_file", "{title.mp4", "cannot read"),
    ],
)
def test_bad_patterns_are_config_errors_naming_the_problem(key, pattern, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_pattern(key, pattern)


def test_the_shipped_custom_block_loads_and_patterns_need_the_custom_structure(tmp_path):
    assert load_config(REPO / "configs" / "custom_output.yaml").output.patterns_in_use() == GUIDE
    (tmp_path / "half.yaml").write_text("output:\n  naming:\n    video_file: '{title}.mp4'\n")
    with pytest.raises(ConfigError, match="structure: custom"):
        load_config(tmp_path / "half.yaml")
    (tmp_path / "bad.yaml").write_text(
        "output:\n  structure: custom\n  naming:\n    video_file: '{name}.mp4'\n"
    )
    with pytest.raises(ConfigError, match=r"output.naming.video_file.*unknown placeholder \{name\}"):
        load_config(tmp_path / "bad.yaml")

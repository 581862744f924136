"""Discovery: natural order, distinct output folders, filters, symlinks, list files."""

from __future__ import annotations

import pytest

from raybatch.errors import InputError
from raybatch.jobs.discover import assign_video_keys, discover_inputs, natural_key, read_file_list


def test_file_list_skips_comments_and_blank_lines_and_resolves_relative_paths():
    text = "# course\nweek1.mp4\n\n  /abs/week2.mp4  \ns3://bucket/week3.mp4\n# done\n"
    assert read_file_list(text, "/lists") == ["/lists/week1.mp4", "/abs/week2.mp4", "s3://bucket/week3.mp4"]


def test_natural_order():
    names = ["ep10.mp4", "ep2.mp4", "Ep1.mp4"]
    assert sorted(names, key=natural_key) == ["Ep1.mp4", "ep2.mp4", "ep10.mp4"]


def test_same_names_never_share_a_folder():
    keys = assign_video_keys(["a/clip.mp4", "b/clip.mp4", "clip.mkv", "other.mp4"])
    assert keys == ["a_clip_mp4", "b_clip_mp4", "clip_mkv", "other"]
    assert len(set(keys)) == 4


def test_keys_with_structure_and_unsafe_names():
    assert assign_video_keys(["x/y/my: talk?.mp4"], preserve_directory_structure=True) == ["x/y/my_ talk_"]


def test_discovery_filters_sorts_and_skips_output(tmp_path):
    for name in ["ep10.mp4", "ep2.MOV", "notes.txt", ".hidden.mp4"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ep3.mkv").write_bytes(b"x")
    out = tmp_path / "out"
    out.mkdir()
    (out / "enhanced.mp4").write_bytes(b"x")
    flat = [v.relative_path for v in discover_inputs(str(tmp_path))]
    assert flat == ["ep2.MOV", "ep10.mp4"]
    deep = [v.relative_path for v in discover_inputs(str(tmp_path), recursive=True, exclude=(str(out),))]
    assert deep == ["ep2.MOV", "ep10.mp4", "sub/ep3.mkv"]
    assert [v.relative_path for v in discover_inputs(str(tmp_path), pattern="ep1*")] == ["ep10.mp4"]


def test_discovery_follows_symlinks_and_keeps_dangling_ones(tmp_path):
    real = tmp_path / "elsewhere.mp4"
    real.write_bytes(b"x")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "linked.mp4").symlink_to(real)
    (folder / "dangling.mp4").symlink_to(tmp_path / "gone.mp4")
    assert [v.relative_path for v in discover_inputs(str(folder))] == ["dangling.mp4", "linked.mp4"]


def test_discovery_of_nothing_says_what_to_change(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ep1.mp4").write_bytes(b"x")
    with pytest.raises(InputError, match="--recursive"):
        discover_inputs(str(tmp_path))
    with pytest.raises(InputError, match=r"matching '\*\.avi'"):
        discover_inputs(str(tmp_path), pattern="*.avi", recursive=True)


def test_skipped_entries_say_why(tmp_path):
    (tmp_path / "talk.mp4").write_bytes(b"x")
    (tmp_path / ".draft.mp4").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "more").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "enhanced.mp4").write_bytes(b"x")
    skipped: list[tuple[str, str]] = []
    found = discover_inputs(str(tmp_path), skipped=skipped)
    assert [v.relative_path for v in found] == ["talk.mp4"]
    assert dict(skipped) == {
        ".draft.mp4": "hidden",
        "notes.txt": "not a video or audio file name",
        "more": "a folder (add --recursive to look inside)",
        "out": "a folder (add --recursive to look inside)",
    }
    skipped.clear()
    discover_inputs(
        str(tmp_path), recursive=True, exclude=(str(tmp_path / "out"),), skipped=skipped, pattern="*.mp4"
    )
    assert dict(skipped) == {
        ".draft.mp4": "hidden",
        "notes.txt": "does not match --pattern *.mp4",
        "out/enhanced.mp4": "inside the output folder",
    }

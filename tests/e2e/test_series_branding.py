"""A series with different loudness and exposure, and one episode whose picture is a still,
processed as one through the CLI: one loudness, one look, one branding, cross-references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import SHARED_MEDIA, ffmpeg
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.e2e

SPEECH = SHARED_MEDIA / "auto-editor" / "example.mp4"
#: name: (picture filter, gain on the voice)
EPISODES = {
    "python_ep01_variables_and_types.mp4": ("eq=brightness=0", "0dB"),
    "python_ep02_loops_over_variables.mp4": ("eq=brightness=-0.25:gamma=0.8", "-12dB"),
    "python_ep03_functions_and_loops.mp4": ("eq=brightness=0.1", "5dB"),
}
STILL = "python_ep04_classes_and_functions.mp4"


def _voice() -> list[str]:
    """Real speech where ../shared/media is present, else a gated tone."""
    if SPEECH.is_file():
        return ["-ss", "1", "-t", "9", "-i", str(SPEECH)]
    return [
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=300:duration=9,volume='if(lt(mod(t,2),1.2),0.4,0)':eval=frame",
    ]


def _episode(path: Path, picture: str, gain: str) -> None:
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25:duration=9", *_voice(),
        "-map", "0:v", "-map", "1:a", "-vf", picture, "-af", f"volume={gain}", "-t", "9",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
    )  # fmt: skip


def _still(path: Path) -> None:
    """Speech over a flat dark blue frame: no frame passes the thumbnail rules."""
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=0x1E2A60:size=480x270:rate=25:duration=9", *_voice(),
        "-map", "0:v", "-map", "1:a", "-t", "9",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
    )  # fmt: skip


@pytest.fixture(scope="module")
def series_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("python_course")
    for name, (picture, gain) in EPISODES.items():
        _episode(root / name, picture, gain)
    _still(root / STILL)
    logo = root.parent / "logo.png"
    Image.new("RGBA", (96, 48), (230, 30, 30, 255)).save(logo)
    config = root.parent / "series_config.yaml"
    config.write_text(
        f'series:\n  name: "Python Basics"\n  branding:\n    series_logo: "{logo}"\n'
        "metadata:\n  progressive_numbering: true\n"
    )
    out = tmp_path_factory.mktemp("course_output")
    result = raybatch(
        "batch", "process", str(root), "--config", str(config), "--type", "educational",
        "--coordinate-series", "--output", str(out), "--executor", "local",
        "--quality", "low", "--mode", "fast",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "series_coordination" / "series_metadata.json").read_text())
    return out, document


def _loudness(path: Path) -> float:
    import subprocess

    run = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = run.stderr[run.stderr.rindex("Summary:") :]
    return float(summary.split("I:")[1].split("LUFS")[0])


def test_every_episode_sounds_equally_loud(series_run):
    out, document = series_run
    measured = [_loudness(out / e["output"].split(str(out) + "/")[-1]) for e in document["episodes"]]
    assert len(measured) == 4 and max(measured) - min(measured) <= 1.0, measured
    assert document["consistency"]["loudness_spread_lu"] <= 1.0


def test_the_darker_episode_is_pulled_toward_the_others(series_run):
    _, document = series_run
    spreads = document["consistency"]
    rows = spreads["episodes"]
    lit = [r for r in rows.values() if r["episode"] != 4]  # the still is a dark card by design
    before = max(r["brightness_before"] for r in lit) - min(r["brightness_before"] for r in lit)
    after = max(r["brightness_after"] for r in lit) - min(r["brightness_after"] for r in lit)
    assert after < before, rows


def _accent(palette: dict) -> np.ndarray:
    return np.array([int(palette["accent"][i : i + 2], 16) for i in (1, 3, 5)])


def test_every_title_thumbnail_carries_the_series_branding(series_run):
    out, document = series_run
    branding = json.loads((out / "series_coordination" / "unified_branding" / "branding.json").read_text())
    palette = branding["palette"]
    assert palette["source"].startswith("derived from") and branding["logo"]["position"] == "top-right"
    assert len(branding["episodes"]) == 4
    for entry in document["episodes"]:
        assert {"metadata/metadata.json", "thumbnails/title.jpg"} <= set(entry["files"])
        assert all((out / path).is_file() for path in entry["files"].values())
        title = np.asarray(Image.open(out / entry["files"]["thumbnails/title.jpg"]).convert("RGB"))
        assert title.shape == (720, 1280, 3)
        assert np.abs(title[44, 44].astype(int) - _accent(palette)).max() < 16  # the episode badge
        red, green, _ = title[50, 1280 - 80].astype(int)
        assert red > 180 and green < 90  # the series logo
        index = json.loads((out / entry["folder"] / "thumbnails" / "thumbnails.json").read_text())
        rendered = [t for t in index["thumbnails"] if t["strategy"] == "title"]
        assert rendered[0]["file"] == "title.jpg" and rendered[0]["palette"] == palette["band"]
    still = branding["episodes"][Path(STILL).stem]
    assert "still picture" in still["fallback"] or "card" in still["fallback"]
    sheet = Image.open(out / "series_coordination" / "unified_branding" / "preview.jpg")
    sheet.verify()
    assert sheet.size == (3 * 426 + 4 * 12, 2 * (240 + 34) + 3 * 12)


def test_titles_are_numbered_and_every_episode_has_cross_references(series_run):
    out, document = series_run
    assert [e["folder"][:4] for e in document["episodes"]] == ["E01_", "E02_", "E03_", "E04_"]
    for entry in document["episodes"]:
        assert Path(entry["output"]).name == f"enhanced_{entry['folder']}.mp4"
    titles = [e["title"] for e in document["episodes"]]
    assert [t.split(":")[0] for t in titles] == [f"Python Basics – Episode {n}" for n in range(1, 5)]
    links = json.loads((out / "series_coordination" / "cross_references.json").read_text())
    by_episode = {e["episode"]: e for e in links["episodes"]}
    assert all(len(e["related"]) == 3 and e["related"][0]["similarity"] > 0 for e in links["episodes"])
    assert by_episode[2]["prerequisites"][0]["concepts"] == ["variables"]
    assert by_episode[3]["related"][0]["episode"] in (2, 4)  # loops or functions, not types
    assert set(document["difficulty"]["episodes"]) == {e["video"] for e in document["episodes"]}
    assert {"variables", "loops", "functions"} <= set(document["keywords"])


def test_a_bad_series_logo_stops_the_run_before_any_work(tmp_path):
    (tmp_path / "in").mkdir()
    _still(tmp_path / "in" / "lesson_01.mp4")
    config = tmp_path / "series.yaml"
    config.write_text('series:\n  branding:\n    series_logo: "./assets/series_logo.png"\n')
    out = tmp_path / "out"
    result = raybatch(
        "batch", "process", str(tmp_path / "in"), "--config", str(config), "--output", str(out),
        "--executor", "local",
    )  # fmt: skip
    assert result.returncode == 2
    assert "series_logo" in result.stderr and "./assets/series_logo.png" in result.stderr
    assert "no such file" in result.stderr
    assert not (out / "series_coordination").exists()


def test_the_report_page_shows_the_series(series_run):
    out, document = series_run
    page = (out / "summary" / "report.html").read_text()
    assert "Series: Python Basics" in page
    assert 'src="../series_coordination/unified_branding/preview.jpg"' in page
    links = json.loads((out / "series_coordination" / "cross_references.json").read_text())
    for episode in document["episodes"]:
        assert f"<td>{episode['video']}</td>" in page
    related = links["episodes"][0]["related"][0]
    assert f"{related['episode']} " in page

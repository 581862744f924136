"""The HTML report's page builder and charts, from report dictionaries shaped as the run writes them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from raybatch.jobs import charts
from raybatch.jobs.html_report import Published, render_report, source_time

HOSTILE = "<script>alert(1)</script>"


def _report(videos: list[dict]) -> dict:
    done = [v for v in videos if v["status"] == "done"]
    return {
        "job_id": "batch_20261207_101500",
        "status": "completed_with_errors",
        "started_at": "2026-12-07T10:15:00+00:00",
        "finished_at": "2026-12-07T10:16:30+00:00",
        "input": "/videos",
        "output": "/out",
        "totals": {
            "videos": len(videos),
            "done": len(done),
            "failed": len(videos) - len(done),
            "input_duration_s": 130.0,
            "output_duration_s": 100.0,
        },
        "api": {"cost_usd": 0.0123},
        "videos": videos,
    }


def _done(name: str) -> dict:
    return {
        "video": name,
        "status": "done",
        "input_duration_s": 70.0,
        "output_duration_s": 50.0,
        "output_resolution": [1280, 720],
        "content_type": "educational",
        "enhancement": {"denoise": 1.2, "sharpen": {"amount": 0.4}},
        "encoding": {"quality": "medium", "encoder": "libx264", "crf": 23},
        "quality": {"ssim": 0.9712, "psnr_db": 38.4},
        "loudness": {
            "target_lufs": -16.0,
            "true_peak_ceiling_dbtp": -1.5,
            "before": {"integrated_lufs": -27.2, "true_peak_dbtp": -9.0, "lra_lu": 8.1},
            "after": {"integrated_lufs": -16.1, "true_peak_dbtp": -1.9, "lra_lu": 7.0},
            "note": None,
        },
        "warnings": [],
        "files": {
            "video": f"{name}/video/enhanced_{name}.mp4",
            "metadata/metadata.json": f"{name}/metadata/metadata.json",
            "metadata/edl.otio": f"{name}/metadata/edl.otio",
            "thumbnails/clean.jpg": f"{name}/thumbnails/clean.jpg",
        },
    }


def _failed(name: str) -> dict:
    return {
        "video": name,
        "status": "failed",
        "error": {"stage": "probe", "message": "no video stream", "hint": "pass a video file"},
    }


def _edl() -> dict:
    return {
        "source_duration_s": 70.0,
        "keep": [
            {"source": {"start_s": 0.0, "end_s": 30.0}, "output": {"start_s": 0.0, "end_s": 30.0}},
            {"source": {"start_s": 50.0, "end_s": 70.0}, "output": {"start_s": 30.0, "end_s": 50.0}},
        ],
    }


class _Collector(HTMLParser):
    """Headings, the text inside <script> elements, and every tag."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts = 0
        self.headings: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.scripts += tag == "script"
        self._in_heading = tag in ("h1", "h2", "h3")
        if self._in_heading:
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data


def _page(published: dict[str, Published] | None = None, videos: list[dict] | None = None) -> str:
    videos = videos or [_done("talk"), _failed("broken")]
    metrics = {
        "wall_time_s": 90.0,
        "realtime_factor": 1.44,
        "error_rate_percent": 50.0,
        "stage_totals": {
            "encode": {"count": 4, "wall_s": 20.0, "cpu_s": 38.5},
            "audio": {"count": 1, "wall_s": 5.0, "cpu_s": 6.0},
        },
    }
    errors = {"errors": [{"video": "broken", **_failed("broken")["error"]}]}
    return render_report(
        _report(videos), metrics, errors, published or {}, None, [{"node": "n1", "cpu_s": 44.5}]
    )


def test_hostile_title_is_text_and_the_page_has_no_script():
    metadata = {"title": HOSTILE, "description": f"about {HOSTILE}", "tags": [HOSTILE], "chapters": []}
    page = _page({"talk": Published(metadata=metadata, edl=_edl())})
    parsed = _Collector()
    parsed.feed(page)
    assert parsed.scripts == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE not in page
    assert any(HOSTILE in heading for heading in parsed.headings)  # shown, as text


def test_every_video_section_summary_and_chart_is_present():
    page = _page(
        {"talk": Published(metadata={"title": "A talk", "chapters": []}, edl=_edl(), shots_s=[12.0, 55.0])}
    )
    parsed = _Collector()
    parsed.feed(page)
    assert parsed.headings[:2] == ["Batch report", "Summary"]
    assert page.count('<article class="video') == 2
    assert page.count('class="chart"') == 3  # the timeline, the loudness, the stages
    assert "no video stream" in page and "pass a video file" in page
    assert 'href="../talk/video/enhanced_talk.mp4"' in page
    assert 'src="../talk/thumbnails/clean.jpg"' in page
    assert re.search(r"Time saved by cuts</dt><dd>30\.0 s", page)
    assert "38.5" in page  # the table behind the stage chart


def test_chapters_are_placed_on_the_source_timeline():
    edl = _edl()
    assert source_time(edl, 10.0) == 10.0
    assert source_time(edl, 35.0) == 55.0  # after the 20-second cut
    assert source_time(edl, 99.0) == 70.0


def test_timeline_strip_draws_kept_ranges_shots_and_chapters_in_scale():
    svg = charts.timeline_strip("t", 100.0, [(0.0, 50.0)], [25.0], [(75.0, "<b>x</b>")])
    assert svg.count('class="kept"') == 1 and 'width="320.0"' in svg  # half of 640
    assert 'x1="160.0"' in svg  # the shot at a quarter
    assert "<b>" not in svg


def test_bar_chart_scales_to_the_largest_and_escapes_labels():
    svg = charts.bar_chart("cpu", [charts.Bar("a&b", 10.0, "10"), charts.Bar("c", 5.0, "5")])
    widths = [float(w) for w in re.findall(r'class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert widths[0] == 2 * widths[1]
    assert "a&amp;b" in svg

"""``summary/report.html`` through the CLI, opened in a real headless Chromium: a batch with a
success, a failure and a title an LLM made hostile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import ffmpeg
from tests.helpers import run_raybatch as raybatch
from tests.openai_server import OpenAIStub

pytestmark = pytest.mark.e2e

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """A 24 s talk in two shots with a tone, a 6 s clip, and a file that is not a video."""
    root = tmp_path_factory.mktemp("report_in")
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=12",
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=12",
        "-f", "lavfi", "-i", "sine=frequency=300:duration=24",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[v]",
        "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
        str(root / "talk.mp4"),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-f", "lavfi", "-i",
           "sine=duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
           str(root / "clip.mp4"))  # fmt: skip
    (root / "broken.mp4").write_bytes(b"this is not a video\n" * 50)
    return root


@pytest.fixture(scope="module")
def report(batch, tmp_path_factory) -> Path:
    """The batch processed with an LLM writer (on loopback) whose titles are a script tag."""
    stub = OpenAIStub().start()
    stub.title = HOSTILE
    work = tmp_path_factory.mktemp("report_out")
    config = work / "llm.yaml"
    config.write_text(yaml.safe_dump({"metadata": {"llm": {"model": "stub-model", "backoff_s": 0.01}}}))
    try:
        run = raybatch("batch", "process", str(batch), "--output", str(work / "out"), "--config", str(config),
                       "--executor", "local", "--quality", "low", "--mode", "fast", "--no-progress-bar",
                       env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": stub.base_url})  # fmt: skip
    finally:
        stub.stop()
    assert run.returncode == 1, run.stderr  # broken.mp4 failed, the rest went on
    return work / "out" / "summary" / "report.html"


def test_the_report_is_written_beside_the_json_reports(report):
    batch_report = json.loads((report.parent / "batch_report.json").read_text())
    assert report.is_file()
    page = report.read_text()
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for video in batch_report["videos"]:
        assert video["video"] in page


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (scripts/test.sh installs Debian's chromium)"
)
def test_the_report_in_chromium(report, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    console_errors, requests = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            sections = page.locator("article.video").count()
            headings = page.locator("h3").all_inner_texts()
            charts = page.locator("svg.chart").count()
            scripts = page.locator("script").count()
            # Thumbnails load lazily: scroll the page through so that every one is fetched.
            for y in range(0, page.evaluate("document.body.scrollHeight"), 600):
                page.evaluate(f"window.scrollTo(0, {y})")
                page.wait_for_timeout(30)
            page.wait_for_load_state("load")
            page.evaluate("window.scrollTo(0, 0)")
            broken_images = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
            )
            images = page.evaluate("document.images.length")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            dark = browser.new_page(viewport={"width": 1200, "height": 900}, color_scheme="dark")
            dark.goto(report.as_uri(), wait_until="load")
            backgrounds = [
                p.evaluate("getComputedStyle(document.body).backgroundColor") for p in (page, dark)
            ]
            dark.screenshot(path=str(tmp_path / "report-dark.png"), full_page=True)
        finally:
            browser.close()
    print(f"screenshot: {tmp_path / 'report.png'}")
    assert console_errors == []
    assert [u for u in requests if not u.startswith("file://")] == []  # nothing from the network
    assert sections == 3
    assert any(HOSTILE in h for h in headings)  # the hostile title, shown as text
    assert scripts == 0
    # Two done videos: a timeline and a loudness chart each; the stage chart.
    assert charts == 5
    assert images >= 2 and broken_images == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert backgrounds == ["rgb(251, 251, 253)", "rgb(20, 22, 27)"]  # light, and dark mode

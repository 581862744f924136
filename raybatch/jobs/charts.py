"""The HTML report's charts: small inline SVGs drawn from the report's numbers.

Each chart is static markup (no script, no fonts or images fetched), coloured through CSS
classes so the page's light and dark themes apply, and labelled for screen readers; the report
puts a data table behind every one. Every text that goes in is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: Drawing width of every chart (user units; the SVG scales to its box).
WIDTH = 640
BAR_HEIGHT = 18
BAR_GAP = 6
LABEL_WIDTH = 150
#: Loudness axis of the loudness chart (LUFS / dBTP).
LOUDNESS_AXIS = (-40.0, 0.0)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, and the text printed after it."""

    label: str
    value: float
    text: str


def _svg(height: float, label: str, body: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:g}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def bar_chart(label: str, bars: Sequence[Bar]) -> str:
    """Horizontal bars, longest first as given, scaled to the largest value."""
    top = max((b.value for b in bars), default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - 110
    rows = []
    for n, bar in enumerate(bars):
        y = n * (BAR_HEIGHT + BAR_GAP)
        length = max(1.0, span * max(bar.value, 0.0) / top)
        rows.append(
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" rx="2"/>'
            f'<text class="value" x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 13}">{escape(bar.text)}</text>'
        )
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    return _svg(height, label, "".join(rows))


def timeline_strip(
    label: str,
    duration_s: float,
    kept: Sequence[tuple[float, float]],
    shots: Sequence[float] = (),
    chapters: Sequence[tuple[float, str]] = (),
) -> str:
    """A video's source timeline: cut ranges behind the kept ones, a tick at every shot
    boundary, and each chapter's start marked and numbered (the table names them)."""
    if duration_s <= 0:
        return _svg(40, label, "")
    scale = WIDTH / duration_s

    def x(seconds: float) -> float:
        return min(WIDTH, max(0.0, seconds * scale))

    parts = [f'<rect class="cut" x="0" y="14" width="{WIDTH}" height="22"/>']
    parts += [
        f'<rect class="kept" x="{x(start):.1f}" y="14" '
        f'width="{max(0.5, x(end) - x(start)):.1f}" height="22"/>'
        for start, end in kept
    ]
    parts += [f'<line class="shot" x1="{x(t):.1f}" y1="10" x2="{x(t):.1f}" y2="40"/>' for t in shots]
    for n, (start, _title) in enumerate(chapters, 1):
        parts.append(
            f'<path class="chapter" d="M{x(start):.1f} 0 l5 0 l-5 8 z"/>'
            f'<text class="chapter-number" x="{x(start) + 7:.1f}" y="8">{n}</text>'
        )
    return _svg(44, label, "".join(parts))


def loudness_chart(label: str, target: float, ceiling: float, before: dict | None, after: dict | None) -> str:
    """Integrated loudness and true peak before and after on one LUFS/dBTP axis, with the
    target and the ceiling marked."""
    low, high = LOUDNESS_AXIS
    span = WIDTH - LABEL_WIDTH - 20

    def x(value: float | None) -> float:
        clamped = min(high, max(low, value if value is not None else low))
        return LABEL_WIDTH + span * (clamped - low) / (high - low)

    rows = []
    for n, (name, measured) in enumerate((("before", before), ("after", after))):
        if not measured:
            continue
        y = 18 + n * 26
        loud, peak = measured.get("integrated_lufs"), measured.get("true_peak_dbtp")
        rows.append(
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{name}</text>'
            f'<rect class="bar {name}" x="{LABEL_WIDTH}" y="{y}" '
            f'width="{x(loud) - LABEL_WIDTH:.1f}" height="16"/>'
            f'<circle class="peak" cx="{x(peak):.1f}" cy="{y + 8}" r="4"/>'
        )
    marks = (
        f'<line class="target" x1="{x(target):.1f}" y1="12" x2="{x(target):.1f}" y2="72"/>'
        f'<text class="value" x="{x(target):.1f}" y="10" text-anchor="middle">target {target:g}</text>'
        f'<line class="ceiling" x1="{x(ceiling):.1f}" y1="12" x2="{x(ceiling):.1f}" y2="72"/>'
        f'<text class="value" x="{x(ceiling):.1f}" y="84" text-anchor="end">ceiling {ceiling:g} dBTP</text>'
    )
    return _svg(90, label, "".join(rows) + marks)

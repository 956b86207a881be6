"""Charts drawn on the server as inline SVG: no JavaScript, nothing to download.

A chart is a picture of a table the page shows beside it, never the only place a
number is: it carries a <title> and a <desc> (its text alternative, named by
aria-labelledby/aria-describedby), role="img", and a viewBox 320 units wide drawn at
the width of its container, so that on a 360 px phone one unit is about one pixel
and its 13-unit text reads like the page's small print.

The content security policy refuses inline styles, so colours are SVG presentation
attributes (which it does not block) holding the stylesheet's own colours, and the
classes let portal.css restate them from its variables. Every text is escaped here:
labels come from the database (a department's name, a school's) and may hold markup.
"""

import math
import re
from collections.abc import Callable, Sequence
from typing import Literal

from markupsafe import Markup, escape

WIDTH = 320
TEXT_SIZE = 13
# The stylesheet's colours (portal.css :root): --brand on white is 7.8:1, --line 3.3:1
# (a graphic needs 3:1), --ink 17:1.
BRAND = "#0b5394"
LINE = "#8a8f98"
INK = "#1a1a1a"
# A label longer than this is cut with an ellipsis in the picture; the table has it whole.
LABEL_LENGTH = 38
CHART_ID = re.compile(r"[a-z][a-z0-9-]{0,60}")

ValueText = Callable[[float | None], str]
Point = tuple[str, float | int | None]


def _plain(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _label(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1].rstrip() + "…"


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _value(value: float | int | None) -> float | None:
    """A value to draw: a finite number not below zero, or None (nothing to draw)."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    return max(float(value), 0.0)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value`: the top of a scale."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def _text(x: float, y: float, content: str, *, anchor: str = "start", css: str = "chart-text") -> str:
    return (
        f'<text x="{_number(x)}" y="{_number(y)}" font-size="{TEXT_SIZE}" fill="{INK}" '
        f'text-anchor="{anchor}" class="{css}">{escape(content)}</text>'
    )


def _frame(chart_id: str, height: float, title: str, description: str, body: list[str]) -> Markup:
    if not CHART_ID.fullmatch(chart_id):
        raise ValueError(f"not a chart id: {chart_id!r}")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_number(height)}" width="100%" '
        f'class="chart" role="img" focusable="false" '
        f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    # Every text above and in `body` went through escape(); the rest is numbers and fixed names.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


# --- bars ------------------------------------------------------------------

BAR_ROW = 40  # a label line, then the bar with its value after it
BAR_HEIGHT = 16
VALUE_SPACE = 96  # room right of the longest bar for its value in words


def bar_chart(
    bars: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    description: str,
    value_text: ValueText = _plain,
) -> Markup:
    """Horizontal bars, one per (label, value), each label above its bar and the value
    after it: long names fit a phone. No bars, no chart (an empty Markup)."""
    if not bars:
        return Markup("")
    values = [_value(value) for _label_text, value in bars]
    top = max((value for value in values if value is not None), default=0.0)
    span = WIDTH - VALUE_SPACE
    body = []
    for row, ((label, raw), value) in enumerate(zip(bars, values, strict=True)):
        y = row * BAR_ROW
        body.append(_text(0, y + 13, _label(label)))
        length = 0.0 if value is None or top <= 0 else value / top * span
        if length > 0:
            body.append(
                f'<rect x="0" y="{y + 18}" width="{_number(max(length, 1.0))}" height="{BAR_HEIGHT}" '
                f'fill="{BRAND}" class="chart-bar"/>'
            )
        shown = None if raw is None or value is None else float(raw)
        body.append(_text(length + 6, y + 31, value_text(shown)))
    return _frame(chart_id, len(bars) * BAR_ROW + 4, title, description, body)


# --- trends ------------------------------------------------------------------

PLOT_TOP = 22
PLOT_BOTTOM = 128
TREND_HEIGHT = 150
MARGIN = 4
LABELLED = 4  # week labels under the axis: about four fit a phone


def trend_chart(
    points: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    description: str,
    value_text: ValueText = _plain,
    style: Literal["columns", "line"] = "columns",
) -> Markup:
    """A series over time, oldest first: columns (counts) or a line with its points
    (times, percentages, means; a missing value breaks the line). The top of the scale
    is written above the plot, and about four of the (label, value) labels below it.
    No points, no chart (an empty Markup)."""
    if not points:
        return Markup("")
    values = [_value(value) for _label_text, value in points]
    highest = max((value for value in values if value is not None), default=None)
    top = nice_ceiling(highest) if highest else 1.0
    slot = (WIDTH - 2 * MARGIN) / len(points)
    height = PLOT_BOTTOM - PLOT_TOP

    def x_of(index: int) -> float:
        return MARGIN + slot * (index + 0.5)

    def y_of(value: float) -> float:
        return PLOT_BOTTOM - value / top * height

    body = [
        f'<line x1="{MARGIN}" y1="{PLOT_BOTTOM}" x2="{WIDTH - MARGIN}" y2="{PLOT_BOTTOM}" '
        f'stroke="{LINE}" stroke-width="1" class="chart-axis"/>'
    ]
    if highest:
        body.append(
            f'<line x1="{MARGIN}" y1="{PLOT_TOP}" x2="{WIDTH - MARGIN}" y2="{PLOT_TOP}" '
            f'stroke="{LINE}" stroke-width="1" stroke-dasharray="3 3" class="chart-axis"/>'
        )
        body.append(_text(MARGIN, PLOT_TOP - 6, value_text(top)))
    if style == "columns":
        for index, value in enumerate(values):
            if value:
                y = y_of(value)
                body.append(
                    f'<rect x="{_number(x_of(index) - slot * 0.3)}" y="{_number(y)}" '
                    f'width="{_number(slot * 0.6)}" height="{_number(max(PLOT_BOTTOM - y, 1.0))}" '
                    f'fill="{BRAND}" class="chart-bar"/>'
                )
    else:
        run: list[str] = []
        for index, value in enumerate([*values, None]):
            if value is not None:
                run.append(f"{_number(x_of(index))},{_number(y_of(value))}")
                body.append(
                    f'<circle cx="{_number(x_of(index))}" cy="{_number(y_of(value))}" r="3" '
                    f'fill="{BRAND}" class="chart-bar"/>'
                )
                continue
            if len(run) > 1:
                body.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{BRAND}" '
                    f'stroke-width="2" class="chart-line"/>'
                )
            run = []
    step = math.ceil(len(points) / LABELLED)
    for index in range(0, len(points), step):
        if index == 0:
            x, anchor = float(MARGIN), "start"
        elif index == len(points) - 1:
            x, anchor = float(WIDTH - MARGIN), "end"
        else:
            x, anchor = x_of(index), "middle"
        body.append(_text(x, TREND_HEIGHT - 6, _label(points[index][0]), anchor=anchor))
    return _frame(chart_id, TREND_HEIGHT, title, description, body)

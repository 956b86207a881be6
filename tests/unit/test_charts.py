"""portal/charts.py: server-drawn SVG charts are well-formed, escaped, labelled for
screen readers, and survive empty, zero, missing and single values."""

import math
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from portal import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>&amp;'


def parsed(markup: Markup) -> ET.Element:
    """The chart as XML: a parse error here is markup a browser would misread."""
    return ET.fromstring(str(markup))  # noqa: S314 (markup drawn by the test itself)


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def weeks(values: list[float | None]) -> list[tuple[str, float | None]]:
    return [(f"Week {number}", value) for number, value in enumerate(values, start=1)]


def test_a_bar_chart_is_an_image_with_a_title_and_a_text_alternative():
    root = parsed(
        charts.bar_chart([("Under 1 day", 4), ("1–3 days", 2)], chart_id="ages", title="Age", description="Two ages")
    )
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "ages-title"
    assert root.get("aria-describedby") == "ages-desc"
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 320 ")
    assert root.find(f"{SVG}title").text == "Age"  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").get("id") == "ages-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "Two ages"  # type: ignore[union-attr]
    assert next(iter(root)).tag == f"{SVG}title"
    assert texts(root) == ["Under 1 day", "4", "1–3 days", "2"]


def test_bars_are_as_long_as_their_values():
    root = parsed(charts.bar_chart([("a", 10), ("b", 5), ("c", 0)], chart_id="c", title="t", description="d"))
    widths = [float(rect.get("width", "0")) for rect in root.iter(f"{SVG}rect")]
    assert widths == [charts.WIDTH - charts.VALUE_SPACE, (charts.WIDTH - charts.VALUE_SPACE) / 2]


def test_no_style_attribute_or_element_reaches_the_page():
    """The content security policy refuses inline styles: colours are presentation attributes."""
    for markup in (
        charts.bar_chart([("a", 1)], chart_id="a", title="t", description="d"),
        charts.trend_chart(weeks([1, 2]), chart_id="b", title="t", description="d"),
        charts.trend_chart(weeks([1, 2]), chart_id="c", title="t", description="d", style="line"),
    ):
        assert "style" not in str(markup)
        assert "<script" not in str(markup)
        assert all(element.get("fill") or element.get("stroke") for element in parsed(markup).iter(f"{SVG}rect"))


@pytest.mark.parametrize("style", ["columns", "line"])
def test_hostile_labels_titles_and_values_are_escaped(style):
    markups = [
        charts.bar_chart(
            [(HOSTILE, 3)], chart_id="x", title=HOSTILE, description=HOSTILE, value_text=lambda value: HOSTILE
        ),
        charts.trend_chart(
            [(HOSTILE, 3), (HOSTILE, 4)],
            chart_id="y",
            title=HOSTILE,
            description=HOSTILE,
            value_text=lambda value: HOSTILE,
            style=style,
        ),
    ]
    for markup in markups:
        assert "<script" not in str(markup)
        assert "<img" not in str(markup)
        root = parsed(markup)
        assert root.find(f"{SVG}title").text == HOSTILE  # type: ignore[union-attr]
        assert root.find(f"{SVG}desc").text == HOSTILE  # type: ignore[union-attr]
        assert HOSTILE in texts(root)


def test_a_long_label_is_cut_in_the_picture():
    root = parsed(charts.bar_chart([("x" * 500, 1)], chart_id="x", title="t", description="d"))
    assert texts(root)[0] == "x" * (charts.LABEL_LENGTH - 1) + "…"


@pytest.mark.parametrize("chart_id", ["", "1abc", 'a" onload="x', "a b", "A", "x" * 80])
def test_a_chart_id_must_be_a_plain_name(chart_id):
    with pytest.raises(ValueError, match="chart id"):
        charts.bar_chart([("a", 1)], chart_id=chart_id, title="t", description="d")


def test_no_data_no_chart():
    assert charts.bar_chart([], chart_id="a", title="t", description="d") == Markup("")
    assert charts.trend_chart([], chart_id="b", title="t", description="d") == Markup("")


def test_zero_and_missing_values_draw_no_bar_and_say_so():
    said = []

    def value_text(value: float | None) -> str:
        said.append(value)
        return "none" if value is None else str(int(value))

    root = parsed(
        charts.bar_chart(
            [("zero", 0), ("missing", None), ("nan", math.nan)],
            chart_id="z",
            title="t",
            description="d",
            value_text=value_text,
        )
    )
    assert list(root.iter(f"{SVG}rect")) == []
    assert texts(root) == ["zero", "0", "missing", "none", "nan", "none"]
    assert said == [0.0, None, None]


@pytest.mark.parametrize("style", ["columns", "line"])
def test_a_trend_of_nothing_but_gaps_and_zeros_has_an_axis_and_no_scale(style):
    root = parsed(charts.trend_chart(weeks([None, 0, None]), chart_id="g", title="t", description="d", style=style))
    assert len(list(root.iter(f"{SVG}line"))) == 1  # the base line only
    assert list(root.iter(f"{SVG}rect")) == []
    assert list(root.iter(f"{SVG}polyline")) == []


def test_one_point_is_drawn():
    columns = parsed(charts.trend_chart(weeks([7]), chart_id="a", title="t", description="d"))
    assert len(list(columns.iter(f"{SVG}rect"))) == 1
    line = parsed(charts.trend_chart(weeks([7]), chart_id="b", title="t", description="d", style="line"))
    assert len(list(line.iter(f"{SVG}circle"))) == 1
    assert list(line.iter(f"{SVG}polyline")) == []  # a line needs two points
    assert "Week 1" in texts(line)


def test_twelve_weeks_of_columns_fit_the_width_and_four_weeks_are_named():
    values: list[float | None] = [float(n) for n in range(12)]
    root = parsed(charts.trend_chart(weeks(values), chart_id="w", title="t", description="d"))
    rects = list(root.iter(f"{SVG}rect"))
    assert len(rects) == 11  # week 1 is zero
    for rect in rects:
        assert float(rect.get("x", "-1")) >= 0
        assert float(rect.get("x", "0")) + float(rect.get("width", "0")) <= charts.WIDTH
        assert charts.PLOT_TOP <= float(rect.get("y", "-1")) <= charts.PLOT_BOTTOM
    assert [text for text in texts(root) if text.startswith("Week")] == ["Week 1", "Week 4", "Week 7", "Week 10"]
    assert "20" in texts(root)  # the top of the scale: 11 rounded up


def test_a_line_breaks_where_a_week_has_no_value():
    root = parsed(
        charts.trend_chart(
            weeks([1, 2, None, 3, 4, 5, None, None, 1, 1, 1, 1]),
            chart_id="l",
            title="t",
            description="d",
            style="line",
        )
    )
    assert len(list(root.iter(f"{SVG}polyline"))) == 3
    assert len(list(root.iter(f"{SVG}circle"))) == 9


def test_the_highest_point_touches_the_top_of_the_scale():
    root = parsed(charts.trend_chart(weeks([5, 10]), chart_id="s", title="t", description="d", style="line"))
    heights = sorted(float(circle.get("cy", "0")) for circle in root.iter(f"{SVG}circle"))
    assert heights[0] == charts.PLOT_TOP


@pytest.mark.parametrize(
    ("value", "top"), [(0.3, 0.5), (1, 1), (7, 10), (11, 20), (23, 25), (95.5, 100), (101, 200), (3600, 5000)]
)
def test_the_scale_ends_on_a_round_number(value, top):
    assert charts.nice_ceiling(value) == pytest.approx(top)


def test_a_huge_or_negative_value_stays_inside_the_picture():
    root = parsed(charts.trend_chart(weeks([1e300, -5, math.inf]), chart_id="h", title="t", description="d"))
    for rect in root.iter(f"{SVG}rect"):
        assert charts.PLOT_TOP <= float(rect.get("y", "-1")) <= charts.PLOT_BOTTOM

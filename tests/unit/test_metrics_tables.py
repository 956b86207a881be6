"""portal/blueprints/metrics/tables.py: how the metrics page words a figure and a change,
and what its CSV downloads hold (the numbers themselves, with their units)."""

from datetime import date

import pytest
from flask import Flask

from portal.blueprints.metrics.tables import NO_FIGURE, Cell, Kind, shown


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        (Cell(None, Kind.COUNT), NO_FIGURE),
        (Cell(None, Kind.SECONDS, change=True), NO_FIGURE),
        (Cell(1234, Kind.COUNT), "1,234"),
        (Cell(3, Kind.COUNT, change=True), "+3"),
        (Cell(-2, Kind.COUNT, change=True), "−2"),
        (Cell(0, Kind.COUNT, change=True), "no change"),
        (Cell(7200, Kind.SECONDS), "2 business hours"),
        (Cell(-7200, Kind.SECONDS, change=True), "−2 business hours"),
        (Cell(900, Kind.SECONDS), "15 minutes"),
        (Cell(95.4, Kind.PERCENT), "95%"),
        (Cell(12.6, Kind.PERCENT, change=True), "+13 points"),
        (Cell(-1.0, Kind.PERCENT, change=True), "−1 point"),
        (Cell(0.3, Kind.PERCENT, change=True), "no change"),
        (Cell(4.25, Kind.RATING), "4.2"),
        (Cell(0.5, Kind.RATING, change=True), "+0.5"),
        (Cell(1.5, Kind.MEAN), "1.5"),
        (Cell(date(2026, 3, 2), Kind.DAY), "Mar 2, 2026"),
        (Cell("<b>Counselling</b>"), "<b>Counselling</b>"),  # escaped by the template, not here
    ],
)
def test_a_cell_reads_as_words(app: Flask, cell, words):
    with app.test_request_context():
        assert shown(cell) == words


def test_spanish_readers_read_their_own_numbers(app: Flask):
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert shown(Cell(1234, Kind.COUNT)) == "1.234"
        assert shown(Cell(4.5, Kind.RATING)) == "4,5"

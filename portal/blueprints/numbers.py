"""Figures as readers read them: percentages and means in their language's way
("85 %" and "4,5" in Spanish), a dash where there is no figure."""

from flask_babel import format_decimal, format_percent


def percent(value: float | None) -> str:
    """A percentage already between 0 and 100, rounded to a whole number."""
    if value is None:
        return "—"
    return format_percent(round(value) / 100)


def rating_mean(value: float | None) -> str:
    """A mean rating out of 5, with one decimal."""
    if value is None:
        return "—"
    return format_decimal(round(value, 1), format="0.0")


FILTERS = {"percent": percent, "rating_mean": rating_mean}

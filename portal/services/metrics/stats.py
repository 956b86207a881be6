"""The metrics' arithmetic on lists of numbers, defined once: pure functions.

Median and 90th percentile are the nearest-rank percentiles of the sorted values: the
value at rank ceil(p * n) (1-based). The median of an even count is the lower of the
middle two; every figure is a time some family actually waited, in whole seconds. The
queries rank in the database with the same definition (`queries._ranked`: window
functions, the same SQL on SQLite and PostgreSQL); these functions are the definition
the tests hold both to.
"""

from collections.abc import Sequence

# The percentiles as fractions (numerator, denominator): the queries rank with them too.
MEDIAN = (1, 2)
P90 = (9, 10)


def nearest_rank(sorted_values: Sequence[int], numerator: int, denominator: int) -> int | None:
    """The value at rank ceil(numerator / denominator * n) of values sorted ascending;
    None when there are none."""
    count = len(sorted_values)
    if count == 0:
        return None
    rank = max(1, -(-numerator * count // denominator))
    return sorted_values[rank - 1]


def median(sorted_values: Sequence[int]) -> int | None:
    return nearest_rank(sorted_values, *MEDIAN)


def p90(sorted_values: Sequence[int]) -> int | None:
    return nearest_rank(sorted_values, *P90)


def percent(part: int, whole: int) -> float | None:
    """part of whole in percent, to one decimal; None when whole is 0. Never above 100."""
    if whole <= 0:
        return None
    return round(min(100.0, 100.0 * max(part, 0) / whole), 1)


def mean(total: float, count: int) -> float | None:
    return round(total / count, 2) if count else None

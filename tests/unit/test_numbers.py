"""Figures as readers read them: a percentage says "100 %" only when all of them were."""

from flask import Flask
from flask_babel import Babel, force_locale
from hypothesis import given
from hypothesis import strategies as st

from portal.blueprints import numbers


def test_percentages_in_each_language(app: Flask) -> None:
    with app.test_request_context():
        assert numbers.percent(None) == "—"
        assert numbers.percent(87.5) == "88%"
        assert numbers.percent(99.6) == "99%"
        assert numbers.percent(100.0) == "100%"
        assert numbers.percent(0.2) == "1%"
        assert numbers.percent(0.0) == "0%"
        assert numbers.rating_mean(4.25) in ("4.2", "4.3")
        with force_locale("es"):
            assert numbers.percent(87.5).replace("\xa0", " ") == "88 %"
            assert numbers.rating_mean(4.5) == "4,5"


@given(st.floats(min_value=0, max_value=100))
def test_only_all_reads_as_all_and_only_none_as_none(value: float) -> None:
    bare = Flask(__name__)
    Babel(bare)
    with bare.test_request_context():
        shown = int(numbers.percent(value).rstrip("%"))
    assert 0 <= shown <= 100
    assert (shown == 100) == (value == 100)
    assert (shown == 0) == (value == 0)
    assert abs(shown - value) <= 1

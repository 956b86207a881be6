"""Phone numbers in E.164."""

import pytest

from portal.services.errors import InvalidInput
from portal.services.households import phones


@pytest.mark.parametrize("typed", ["213-555-0143", "(213) 555-0143", "+1 213 555 0143", "2135550143", "1-213-555-0143"])
def test_phone_numbers_typed_in_common_ways_become_e164(typed):
    assert phones.normalize_phone(typed, region="US") == "+12135550143"


def test_a_foreign_number_keeps_its_country():
    assert phones.normalize_phone("+52 55 1234 5678", region="US") == "+525512345678"


@pytest.mark.parametrize("typed", ["", "call me", "123", "555-01", "+1 000 000 0000", "9" * 40, "<script>"])
def test_a_phone_number_that_is_not_one_is_refused_on_the_field(typed):
    with pytest.raises(InvalidInput) as refused:
        phones.normalize_phone(typed, region="US", field="guardians-0-phone")
    assert refused.value.field == "guardians-0-phone"


def test_display_phone_is_readable():
    assert phones.display_phone("+12135550143") == "+1 213-555-0143"

"""One page of a list, and the count behind it."""

import pytest
from sqlalchemy import select

from portal.models import School
from portal.services.pagination import MAX_PAGE, Page, paginate
from tests import factories


@pytest.fixture
def seven_schools(db):
    return [factories.make_school(db, name=f"School {letter}").name for letter in "ABCDEFG"]


def schools(db, number, size=3):
    return paginate(db, select(School).order_by(School.name), number=number, size=size)


def test_a_page_holds_its_slice_of_the_list_in_order(db, seven_schools):
    pages = [schools(db, n) for n in (1, 2, 3)]
    assert [[s.name for s in page.items] for page in pages] == [
        seven_schools[0:3],
        seven_schools[3:6],
        seven_schools[6:],
    ]
    assert {(page.total, page.pages, page.size) for page in pages} == {(7, 3, 3)}


def test_previous_and_next_exist_only_inside_the_list(db, seven_schools):
    first, middle, last = (schools(db, n) for n in (1, 2, 3))
    assert (first.has_previous, first.has_next) == (False, True)
    assert (middle.has_previous, middle.has_next) == (True, True)
    assert (last.has_previous, last.has_next) == (True, False)


def test_page_numbers_below_one_give_the_first_page(db, seven_schools):
    for number in [0, -1, -10_000]:
        page = schools(db, number)
        assert page.number == 1
        assert [s.name for s in page.items] == seven_schools[:3]


def test_a_page_past_the_end_is_clamped_to_the_last_page(db, seven_schools):
    page = schools(db, 99)
    assert page.number == 3
    assert [s.name for s in page.items] == seven_schools[6:]


def test_an_enormous_page_number_does_not_fail(db, seven_schools):
    page = schools(db, 10**18)
    assert page.number <= MAX_PAGE
    assert page.total == 7


def test_an_empty_list_has_one_empty_page(db):
    page = schools(db, 1)
    assert (page.items, page.total, page.pages, page.has_previous, page.has_next) == ([], 0, 1, False, False)


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (25, 1), (26, 2), (50, 2), (51, 3)])
def test_the_number_of_pages_rounds_up(total, pages):
    assert Page(items=[], number=1, size=25, total=total).pages == pages

"""services.text.clean_text: the one rule every free-text field a service saves goes through."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.services.errors import InvalidInput
from portal.services.text import CONTROL_CHARACTERS_MESSAGE, clean_text, has_control_characters

LIMIT = 40


# Any character a Python string holds, halves of UTF-16 pairs (category Cs) included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=80)


@given(ANY_TEXT, st.booleans())
def test_saved_text_is_trimmed_within_its_limit_and_free_of_control_characters(typed, one_line):
    try:
        saved = clean_text(typed, field="body", limit=LIMIT, missing="Write something.", one_line=one_line)
    except InvalidInput as error:
        assert error.field == "body"
        return
    assert saved and saved == saved.strip()
    assert len(saved) <= LIMIT
    assert not has_control_characters(saved, multiline=not one_line)
    assert saved.encode("utf-8")  # storable: UTF-8 has no halves of pairs
    if one_line:
        assert "  " not in saved and not set(saved) & set("\t\n\r")


@pytest.mark.parametrize("typed", ["Ana\x00Lee", "Ana\x1b[2J", "Ana\x85Lee", "\x7f", "\ud800", "Ana\udfffLee"])
def test_control_characters_are_refused_not_removed(typed):
    with pytest.raises(InvalidInput) as refused:
        clean_text(typed, field="subject", limit=LIMIT, missing="Write something.")
    assert refused.value.message == CONTROL_CHARACTERS_MESSAGE


def test_tabs_and_line_breaks_stay_in_a_text_box_and_fold_on_one_line():
    assert clean_text(" a\tb\r\n\nc ", field="body", limit=LIMIT) == "a\tb\r\n\nc"
    assert clean_text(" a\tb\r\n\nc ", field="subject", limit=LIMIT, one_line=True) == "a b c"


def test_an_empty_text_is_refused_only_where_the_field_is_required():
    assert clean_text("   ", field="comment", limit=LIMIT) == ""
    with pytest.raises(InvalidInput) as refused:
        clean_text("   ", field="body", limit=LIMIT, missing="Write something.")
    assert (refused.value.field, refused.value.message) == ("body", "Write something.")


def test_the_limit_counts_what_is_saved_after_trimming():
    assert clean_text(" " + "x" * LIMIT + " ", field="body", limit=LIMIT) == "x" * LIMIT
    with pytest.raises(InvalidInput):
        clean_text("x" * (LIMIT + 1), field="body", limit=LIMIT)

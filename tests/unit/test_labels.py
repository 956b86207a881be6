"""portal/labels.py: every value of every labelled enum reads as words, in English
and in Spanish, and the `label` filter never fails on a value it does not know."""

from enum import StrEnum

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale

from portal import labels
from portal.models import FeedbackKind, FeedbackStatus, NotificationStatus, Priority, RequestStatus, Role

# Members a wording leaves out on purpose: families are named without a role.
LEFT_OUT = {("in_sentence", Role.FAMILY)}
# Spanish words spelled as the English ones.
SAME_IN_SPANISH = {(Priority, Priority.NORMAL), (labels.SentimentLabel, labels.SentimentLabel.NEUTRAL)}


def all_wordings() -> list[tuple[str, type[StrEnum], dict[StrEnum, object]]]:
    wordings = [("", enum, dict(mapping)) for enum, mapping in labels.LABELS.items()]
    wordings += [
        (variant, enum, dict(mapping))
        for variant, mappings in labels.VARIANTS.items()
        for enum, mapping in mappings.items()
    ]
    return wordings


@pytest.mark.parametrize(
    ("variant", "enum", "mapping"), all_wordings(), ids=lambda value: getattr(value, "__name__", None)
)
def test_every_member_has_a_label(variant: str, enum: type[StrEnum], mapping: dict[StrEnum, object]) -> None:
    wanted = {member for member in enum if (variant, member) not in LEFT_OUT}
    assert set(mapping) == wanted
    for member in wanted:
        assert labels.label(member, variant) is mapping[member]


def test_the_feedback_forms_choices_cover_every_kind() -> None:
    assert set(labels.FEEDBACK_KIND_CHOICES) == set(FeedbackKind)


def test_values_without_a_label_read_as_their_value() -> None:
    assert labels.label(NotificationStatus.SENT) == "sent"  # an enum with no mapping
    assert labels.label("closed") == "closed"  # a plain string: request or feedback?
    assert labels.label(Role.FAMILY, "in_sentence") == "family"
    assert labels.label(RequestStatus.OPEN, "no-such-wording") == "open"
    assert labels.label(None) == "None"
    assert labels.label(42) == "42"


def test_the_filter_reads_the_same_mapping(app: Flask) -> None:
    with app.test_request_context():
        assert app.jinja_env.filters["label"] is labels.label
        assert render_template_string("{{ status|label }}", status=FeedbackStatus.IN_REVIEW) == "Being reviewed"
        assert render_template_string("{{ role|label('in_sentence') }}", role=Role.ADMIN) == "administrator"
        assert render_template_string("{{ value|label }}", value="<b>") == "&lt;b&gt;"
    # Views hand templates ready values, not service functions.
    assert "promise_of" not in app.jinja_env.globals
    assert "sentiment_label" not in app.jinja_env.globals


def test_every_label_is_translated_to_spanish(app: Flask) -> None:
    wordings = [*all_wordings(), ("", FeedbackKind, dict(labels.FEEDBACK_KIND_CHOICES))]
    untranslated, same = [], set()
    with app.app_context():
        for variant, enum, mapping in wordings:
            for member, text in mapping.items():
                english = str(text)
                with force_locale("es"):
                    spanish = str(text)
                if spanish == english:
                    same.add((enum, member))
                    if (enum, member) not in SAME_IN_SPANISH:
                        untranslated.append(f"{enum.__name__}.{member.name} {variant}: {english!r}")
    assert not untranslated
    assert same == SAME_IN_SPANISH, "a word listed as the same in Spanish is translated now: update SAME_IN_SPANISH"

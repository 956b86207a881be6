"""The contact page in sections a parent saves one at a time (numbers and email, language,
what reaches me, quiet hours): each save changes its section only, is audited as before,
shows its confirmation inside the section, and keeps the section's input on a mistake."""

import html
import re

import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import AccountNote, AuditEvent, Channel, ContactPreference, Household, Topic, TopicSubscription, User
from portal.services.households import contacts
from tests import factories
from tests.conftest import Browser, csrf_token_from
from tests.web.support import HOSTILE_SCRIPT, field_error, input_value, text

PAGE = "/account/contact"
MOBILE = "+12135550143"
VOICE = "+13105550188"
SAVED_CHANNELS = frozenset(
    {(Topic.EMERGENCY, Channel.EMAIL), (Topic.EMERGENCY, Channel.SMS), (Topic.EVENTS, Channel.EMAIL)}
)
CONFIRMATIONS = {
    "numbers": "Your phone numbers are saved.",
    "language": "Your language is saved.",
    "channels": "What reaches you, and how, is saved.",
    "quiet": "Your quiet hours are saved.",
}


@pytest.fixture
def household(db: Session) -> Household:
    return factories.make_household(db, guardians=2, name="Rivera family")


@pytest.fixture
def saved(db: Session, guardian: User) -> ContactPreference:
    """Everything saved once, so that a section's save can be seen leaving the rest alone."""
    details = contacts.details_for_family(db, guardian)
    contacts.save_choices(
        db,
        guardian,
        guardian,
        contacts.ContactChoices(
            mobile_phone=MOBILE,
            voice_phone=VOICE,
            language="en",
            interpreter_language="Vietnamese",
            quiet_start="21:00",
            quiet_end="07:00",
            channels=SAVED_CHANNELS,
        ),
        based_on_version=details.preference.version,
        languages=("en", "es"),
        now=utcnow(),
    )
    db.commit()
    return details.preference


def state(db: Session, user: User) -> dict[str, object]:
    """Every saved contact field of `user`."""
    db.expire_all()
    preference = db.scalar(select(ContactPreference).where(ContactPreference.user_id == user.id))
    assert preference is not None
    rows = db.execute(
        select(TopicSubscription.topic, TopicSubscription.channel).where(TopicSubscription.user_id == user.id)
    )
    language = db.scalar(select(User.language).where(User.id == user.id))
    return {
        "mobile_phone": preference.mobile_phone,
        "voice_phone": preference.voice_phone,
        "language": language,
        "interpreter_language": preference.interpreter_language,
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
        "channels": frozenset((topic, channel) for topic, channel in rows),
    }


def section_of(page: str, name: str) -> str:
    match = re.search(rf'<section id="contact-{name}".*?</section>', page, re.S)
    assert match, f"no section {name}"
    return match.group(0)


def send(family: Browser, section: str, fields: dict[str, object], *, version: str | None = None):  # type: ignore[no-untyped-def]
    served = text(family.get(PAGE))
    form = section_of(served, section)
    token = csrf_token_from(form)
    current = version if version is not None else re.search(r'name="version"[^>]*value="([^"]*)"', form).group(1)  # type: ignore[union-attr]
    return family.client.post(PAGE, data={"csrf_token": token, "version": current, "section": section, **fields})


# What each section sends, changed from what `saved` holds.
CHANGES: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "numbers": (
        {"mobile_phone": "213-555-0199", "voice_phone": ""},
        {"mobile_phone": "+12135550199", "voice_phone": None},
    ),
    "language": ({"language": "es", "interpreter_language": "Mam"}, {"language": "es", "interpreter_language": "Mam"}),
    "channels": (
        {"emergency__email": "y", "emergency__voice": "y", "attendance__sms": "y"},
        {
            "channels": frozenset(
                {(Topic.EMERGENCY, Channel.EMAIL), (Topic.EMERGENCY, Channel.VOICE), (Topic.ATTENDANCE, Channel.SMS)}
            )
        },
    ),
    "quiet": ({"quiet_start": "22:00", "quiet_end": "06:30"}, {"quiet_start": "22:00", "quiet_end": "06:30"}),
}


@pytest.mark.parametrize("section", list(CHANGES))
def test_a_section_saves_its_own_fields_only_and_is_audited_as_before(db, family, guardian, saved, section):
    before = state(db, guardian)
    sent, changed = CHANGES[section]
    response = send(family, section, sent)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PAGE}#contact-{section}")
    after = state(db, guardian)
    assert after == {**before, **changed}, "the other sections are untouched"
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "contact.updated").order_by(AuditEvent.id.desc())
    ).first()
    audited = {"quiet_hours"} if section == "quiet" else set(changed)
    assert set(event.after) == audited and set(event.before) == audited
    assert event.actor_id == guardian.id


@pytest.mark.parametrize("section", list(CHANGES))
def test_the_confirmation_is_inside_the_saved_section_and_announced(db, family, guardian, saved, section):
    response = send(family, section, CHANGES[section][0])
    page = text(family.get(response.headers["Location"]))
    shown = html.unescape(section_of(page, section))
    message = CONFIRMATIONS[section] if section != "language" else None
    if message:
        assert f'<p class="flash section-saved" role="status">{message}</p>' in shown
    else:
        assert 'class="flash section-saved" role="status"' in shown
    for other in set(CHANGES) - {section}:
        assert "section-saved" not in section_of(page, other)
    # Shown once: the next visit has no confirmation.
    assert "section-saved" not in text(family.get(PAGE))


def test_a_section_saved_unchanged_says_so_and_records_nothing(db, family, guardian, saved):
    response = send(family, "quiet", {"quiet_start": "21:00", "quiet_end": "07:00"})
    page = text(family.get(response.headers["Location"]))
    assert "Nothing was changed." in section_of(page, "quiet")
    assert db.scalar(select(ContactPreference.version).where(ContactPreference.user_id == guardian.id)) == saved.version


def test_after_switching_to_spanish_the_confirmation_is_in_spanish(app: Flask, db, family, guardian, saved):
    response = send(family, "language", {"language": "es", "interpreter_language": "Vietnamese"})
    page = text(family.get(response.headers["Location"]))
    assert '<html lang="es"' in page
    with app.test_request_context(), force_locale("es"):
        expected = gettext("Your language is saved.")
    assert f'role="status">{expected}</p>' in html.unescape(section_of(page, "language"))


@pytest.mark.parametrize(
    ("section", "fields", "field_id", "message", "kept"),
    [
        (
            "numbers",
            {"mobile_phone": "12", "voice_phone": "310-555-0111"},
            "mobile_phone",
            "phone number",
            "voice_phone",
        ),
        (
            "numbers",
            {"mobile_phone": "", "voice_phone": "310-555-0111"},
            "mobile_phone",
            "Add a mobile number",
            "voice_phone",
        ),
        (
            "numbers",
            {"mobile_phone": "213\x0b555", "voice_phone": "310-555-0111"},
            "mobile_phone",
            "control",
            "voice_phone",
        ),
        (
            "language",
            {"language": "fr", "interpreter_language": "Mam"},
            "language",
            "Not a valid choice",
            "interpreter_language",
        ),
        ("language", {"language": "en", "interpreter_language": "x" * 61}, "interpreter_language", "60", None),
        ("quiet", {"quiet_start": "21:00", "quiet_end": ""}, "quiet_end", "Give both", "quiet_start"),
        ("quiet", {"quiet_start": "9pm", "quiet_end": "07:00"}, "quiet_start", "Enter a time like 21:00.", "quiet_end"),
        (
            "quiet",
            {"quiet_start": "25:61", "quiet_end": "07:00"},
            "quiet_start",
            "Enter a time like 21:00.",
            "quiet_end",
        ),
    ],
)
def test_a_mistake_is_shown_next_to_its_field_in_its_section_and_the_sections_input_kept(
    db, family, guardian, saved, section, fields, field_id, message, kept
):
    before = state(db, guardian)
    response = send(family, section, fields)
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, field_id)
    assert error and message in html.unescape(error), error
    shown = section_of(page, section)
    assert 'class="error-summary"' in shown
    if kept:
        assert input_value(shown, kept) == html.escape(str(fields[kept]))
    # The other sections show what is saved, with no message.
    assert input_value(
        section_of(page, "quiet" if section != "quiet" else "numbers"),
        "quiet_start" if section != "quiet" else "mobile_phone",
    ) in (
        "21:00",
        "+1 213-555-0143",
    )
    assert page.count('class="error-summary"') == 1
    assert state(db, guardian) == before


def test_texts_chosen_without_a_mobile_number_are_refused_in_the_channels_section(db, family, guardian):
    contacts.details_for_family(db, guardian)
    db.commit()
    response = send(family, "channels", {"emergency__email": "y", "attendance__sms": "y"})
    assert response.status_code == 200
    page = text(response)
    channels = section_of(page, "channels")
    assert "Add a mobile number to get text messages." in html.unescape(channels)
    assert re.search(r'id="attendance__sms"[^>]*checked|checked[^>]*id="attendance__sms"', channels), (
        "the ticks are kept"
    )
    assert field_error(page, "mobile_phone") is None, "shown where the parent is, not in another section"


def test_a_stale_section_is_refused_in_that_section_with_its_input_kept(db, family, guardian, saved):
    response = send(family, "quiet", {"quiet_start": "22:00", "quiet_end": "06:00"}, version="1")
    assert response.status_code == 200
    page = html.unescape(text(response))
    quiet = section_of(page, "quiet")
    assert "changed by someone else" in quiet
    assert input_value(quiet, "quiet_start") == "22:00"
    assert re.search(rf'name="version"[^>]*value="{saved.version}"', quiet)


@pytest.mark.parametrize("section", list(CHANGES))
@pytest.mark.parametrize("hostile", [HOSTILE_SCRIPT, "\x00", "é" * 5000, "١٢٣", "' OR 1=1 --"])
def test_hostile_input_in_any_section_gets_an_answer_and_no_500(db, family, guardian, saved, section, hostile):
    fields = {name: hostile for name in CHANGES[section][0]}
    response = send(family, section, fields)
    assert response.status_code in (200, 302)
    assert HOSTILE_SCRIPT not in text(response)
    if response.status_code == 302:
        assert HOSTILE_SCRIPT not in text(family.get(PAGE))


@pytest.mark.parametrize("section", ["", "everything", "numbers\x00", "channels " * 100])
def test_an_unknown_section_saves_the_whole_form_as_the_staff_page_does(db, family, guardian, saved, section):
    response = send(family, "quiet", {"section": section})  # type: ignore[arg-type]
    assert response.status_code in (200, 302)


def test_a_section_post_without_the_pages_token_is_refused(db, family, guardian, saved):
    before = state(db, guardian)
    family.get(PAGE)
    response = family.client.post(
        PAGE, data={"version": str(saved.version), "section": "quiet", "quiet_start": "", "quiet_end": ""}
    )
    assert response.status_code == 400
    assert state(db, guardian) == before


def test_a_section_save_never_reaches_another_guardian(db, family, guardian, saved, household):
    other = factories.guardians_of(db, household)[1]
    contacts.details_for_family(db, other)
    db.commit()
    theirs = state(db, other)
    extra = {name: str(other.id) for name in ("user_id", "guardian_id", "id", "household_id")}
    response = send(family, "quiet", {"quiet_start": "20:00", "quiet_end": "06:00", **extra})
    assert response.status_code == 302
    assert state(db, other) == theirs
    assert state(db, guardian)["quiet_start"] == "20:00"


def test_each_section_has_its_own_form_token_and_save_button(family, saved):
    page = text(family.get(PAGE))
    for name in CHANGES:
        form = section_of(page, name)
        assert form.count("<form ") == 1 and 'name="csrf_token"' in form and 'type="submit"' in form
        assert f'<input type="hidden" name="section" value="{name}">' in form
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids are unique across the sections"
    # The plain-words summary comes first.
    assert page.index('aria-labelledby="summary-heading"') < page.index('id="contact-numbers"')


# Notes: the confirmation in the note saved -----------------------------------------------


def test_a_saved_note_says_so_in_its_own_card(db, family, guardian):
    added = family.submit("/account/notes", {"category": "pickup", "text": "Grandma Rosa picks up on Fridays."})
    assert added.status_code == 302
    note_id = db.scalar(select(AccountNote.id))
    assert added.headers["Location"].endswith(f"/account/notes#note-{note_id}")
    page = html.unescape(text(family.get(added.headers["Location"])))
    card = re.search(rf'<li class="card" id="note-{note_id}">.*?</li>', page, re.S)
    added_message = "Your note is saved. Staff see it whenever they help your family."
    assert card and f'<p class="flash section-saved" role="status">{added_message}</p>' in card.group(0)
    assert "section-saved" not in text(family.get("/account/notes")), "shown once"

    revised = family.submit(
        f"/account/notes/{note_id}",
        {"version": "1", "category": "pickup", "text": "Grandma Rosa, Fridays and Mondays."},
    )
    assert revised.headers["Location"].endswith(f"/account/notes#note-{note_id}")
    page = html.unescape(text(family.get(revised.headers["Location"])))
    assert '<p class="flash section-saved" role="status">Your note is saved.</p>' in page


def test_a_refused_note_shows_no_confirmation(db, family):
    refused = family.submit("/account/notes", {"category": "pickup", "text": ""})
    assert refused.status_code == 200
    assert "section-saved" not in text(refused)

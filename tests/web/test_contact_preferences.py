"""How the district reaches a family: the guardian's page, staff edits with a reason, contact lists."""

import csv
import html
import io
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import (
    AuditEvent,
    Channel,
    ContactPreference,
    Household,
    Notification,
    Topic,
    TopicSubscription,
    User,
)
from portal.services.households import access_log, contacts
from tests import factories
from tests.conftest import Browser, csrf_token_from
from tests.web.support import HOSTILE_SCRIPT, field_error, input_value, location, submit, text

PAGE = "/account/contact"
NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
MOBILE = "+12135550143"
MOBILE_SHOWN = "+1 213-555-0143"
VOICE = "+13105550188"
CONFLICT = "These preferences were changed by someone else since you opened the page."
ATTACHMENT = re.compile(r'^attachment; filename="contacts-attendance-sms-\d{8}-\d{6}\.csv"$')
# Emergencies and attendance by email and text.
CHANNELS = frozenset(
    {
        (Topic.EMERGENCY, Channel.EMAIL),
        (Topic.EMERGENCY, Channel.SMS),
        (Topic.ATTENDANCE, Channel.EMAIL),
        (Topic.ATTENDANCE, Channel.SMS),
    }
)


def contact_form(version: object, channels=CHANNELS, **fields: str) -> dict[str, str]:
    """The form as a browser sends it: unticked boxes are absent."""
    form = {
        "version": str(version),
        "mobile_phone": "213-555-0143",
        "voice_phone": "",
        "language": "en",
        "interpreter_language": "",
        "quiet_start": "",
        "quiet_end": "",
    }
    form.update({f"{topic.value}__{channel.value}": "y" for topic, channel in channels})
    form.update(fields)
    return form


def checked(page: str, name: str) -> bool:
    """Whether the checkbox `name` was rendered ticked."""
    for tag in re.findall(r"<input\b[^>]*>", page):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            return re.search(r"\bchecked\b", tag) is not None
    raise AssertionError(f"no checkbox {name}")


def summary(page: str) -> str:
    """The words of the "What is saved now" section."""
    match = re.search(r'<section aria-labelledby="summary-heading".*?</section>', page, re.S)
    assert match, "the page has no summary"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    Browser(client, app).sign_in(user.email)
    return client


def preference_of(db: Session, user: User) -> ContactPreference | None:
    db.expire_all()
    return db.scalar(select(ContactPreference).where(ContactPreference.user_id == user.id))


def subscriptions_of(db: Session, user: User) -> frozenset[tuple[Topic, Channel]]:
    db.expire_all()
    rows = db.execute(
        select(TopicSubscription.topic, TopicSubscription.channel).where(TopicSubscription.user_id == user.id)
    )
    return frozenset((topic, channel) for topic, channel in rows)


def page_version(client: FlaskClient, url: str = PAGE) -> str:
    version = input_value(text(client.get(url)), "version")
    assert version, f"{url} has no version"
    return version


def save_as_family(db: Session, guardian: User, **overrides: object) -> None:
    """Saved through the service, as if on an earlier visit."""
    details = contacts.details_for_family(db, guardian)
    values: dict[str, object] = {
        "mobile_phone": MOBILE,
        "voice_phone": None,
        "language": "en",
        "interpreter_language": "",
        "quiet_start": None,
        "quiet_end": None,
        "channels": CHANNELS,
    }
    values.update(overrides)
    contacts.save_choices(
        db,
        guardian,
        guardian,
        contacts.ContactChoices(**values),  # type: ignore[arg-type]
        based_on_version=details.preference.version,
        languages=("en", "es"),
        now=NOW,
    )
    db.commit()


@pytest.fixture
def household(db: Session) -> Household:
    household = factories.make_household(db, guardians=2, name="Rivera family")
    alex, sam = factories.guardians_of(db, household)
    alex.display_name, sam.display_name = "Alex Rivera", "Sam Rivera"
    db.commit()
    return household


@pytest.fixture
def other_guardian(db: Session, household: Household) -> User:
    return factories.guardians_of(db, household)[1]


@pytest.fixture
def family(app: Flask, guardian: User) -> FlaskClient:
    return signed_in(app, guardian)


@pytest.fixture
def staff(db: Session) -> User:
    return factories.make_staff(db, name="Jordan Lee")


def staff_url(household: Household, user: User) -> str:
    return f"/staff/households/{household.id}/guardians/{user.id}/contact"


# The guardian's own page ---------------------------------------------------------------------


def test_a_guardian_sees_the_form_with_their_saved_choices_and_the_summary(db, family, guardian):
    save_as_family(db, guardian, interpreter_language="Vietnamese", quiet_start="21:00", quiet_end="07:00")
    response = family.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert input_value(page, "mobile_phone") == MOBILE_SHOWN
    assert input_value(page, "interpreter_language") == "Vietnamese"
    assert (input_value(page, "quiet_start"), input_value(page, "quiet_end")) == ("21:00", "07:00")
    assert input_value(page, "version") == "2"
    assert checked(page, "emergency__sms")
    assert checked(page, "attendance__sms")
    assert not checked(page, "emergency__voice")
    assert not checked(page, "school_news__email")
    words = summary(page)
    assert "What is saved now" in words
    assert (
        f"Attendance: email to {guardian.email} and text message to {MOBILE_SHOWN} (not between 21:00 and 07:00)"
        in (words)
    )
    assert "School news: nothing" in words
    assert "Interpreter needed: Vietnamese" in words


def test_a_first_visit_shows_and_saves_the_defaults(db, family, guardian):
    page = text(family.get(PAGE))
    assert checked(page, "emergency__email")
    assert input_value(page, "version") == "1"
    assert (Topic.EMERGENCY, Channel.EMAIL) in subscriptions_of(db, guardian)


def test_a_guardian_saves_and_the_summary_and_history_show_it(db, family, guardian):
    version = page_version(family)
    response = submit(
        family,
        PAGE,
        contact_form(version, interpreter_language="Vietnamese", quiet_start="21:00", quiet_end="07:00"),
    )
    assert response.status_code == 302
    assert location(response).endswith(PAGE)
    shown = family.get(location(response))
    page = text(shown)
    assert "Your contact preferences are saved." in page
    assert f"text message to {MOBILE_SHOWN}" in summary(page)
    assert "Interpreter needed: Vietnamese" in summary(page)
    assert "(not between 21:00 and 07:00)" in summary(page)
    assert input_value(page, "version") == str(int(version) + 1)
    preference = preference_of(db, guardian)
    assert (preference.mobile_phone, preference.interpreter_language) == (MOBILE, "Vietnamese")
    assert subscriptions_of(db, guardian) == CHANNELS
    history = html.unescape(text(family.get("/family/history")))
    assert "Alex Rivera changed their contact preferences" in history


def test_the_other_guardian_of_the_household_sees_the_change_in_the_history(app, db, family, other_guardian):
    submit(family, PAGE, contact_form(page_version(family)))
    history = html.unescape(text(signed_in(app, other_guardian).get("/family/history")))
    assert "Alex Rivera changed their contact preferences" in history


def test_a_save_of_the_same_choices_records_nothing(db, family, guardian):
    submit(family, PAGE, contact_form(page_version(family)))
    again = submit(family, PAGE, contact_form(page_version(family)))
    assert again.status_code == 302
    assert preference_of(db, guardian).version == 2
    events = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "contact.updated"))
    assert events == 1


def test_two_people_saving_from_the_same_version_the_second_gets_the_conflict_with_their_input_kept(
    app, db, family, guardian
):
    first = family
    second = signed_in(app, guardian)
    first_page, second_page = text(first.get(PAGE)), text(second.get(PAGE))
    # Each keeps the token and version of the page it opened, as a browser tab does.
    first_token, second_token = csrf_token_from(first_page), csrf_token_from(second_page)
    version = input_value(first_page, "version")
    assert input_value(second_page, "version") == version

    saved = first.post(
        PAGE, data={"csrf_token": first_token, **contact_form(version, interpreter_language="Vietnamese")}
    )
    assert saved.status_code == 302

    theirs = CHANNELS | {(Topic.EMERGENCY, Channel.VOICE), (Topic.SURVEYS, Channel.SMS)}
    refused = second.post(
        PAGE,
        data={
            "csrf_token": second_token,
            **contact_form(version, theirs, interpreter_language="Mam", quiet_start="22:00", quiet_end="06:30"),
        },
    )
    assert refused.status_code == 200
    page = text(refused)
    assert CONFLICT in html.unescape(page)
    # The saved version is shown...
    assert "Interpreter needed: Vietnamese" in summary(page)
    assert "Surveys: nothing" in summary(page)
    # ...and what the second person typed is still in the form, on top of the saved version.
    assert input_value(page, "interpreter_language") == "Mam"
    assert (input_value(page, "quiet_start"), input_value(page, "quiet_end")) == ("22:00", "06:30")
    assert checked(page, "emergency__voice")
    assert checked(page, "surveys__sms")
    assert not checked(page, "school_news__email")
    assert input_value(page, "version") == str(int(version) + 1)
    assert preference_of(db, guardian).interpreter_language == "Vietnamese"

    # Sending that form again, after checking it, saves it.
    resent = second.post(
        PAGE,
        data={
            "csrf_token": csrf_token_from(page),
            **contact_form(
                input_value(page, "version"), theirs, interpreter_language="Mam", quiet_start="22:00", quiet_end="06:30"
            ),
        },
    )
    assert resent.status_code == 302
    preference = preference_of(db, guardian)
    assert (preference.interpreter_language, preference.quiet_start, preference.version) == ("Mam", "22:00", 3)
    assert subscriptions_of(db, guardian) == theirs


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"mobile_phone": "12"}, "mobile_phone", "phone number"),
        ({"mobile_phone": "555-0000-555-0000-555"}, "mobile_phone", "phone number"),
        ({"voice_phone": "call me"}, "voice_phone", "phone number"),
        ({"mobile_phone": ""}, "mobile_phone", "Add a mobile number to get text messages."),
        ({"quiet_start": "21:00"}, "quiet_end", "Give both the start and the end of your quiet hours"),
        ({"quiet_start": "9pm", "quiet_end": "07:00"}, "quiet_start", "Enter a time like 21:00."),
        ({"quiet_start": "07:00", "quiet_end": "07:00"}, "quiet_end", "must end at another time"),
        ({"language": "fr"}, "language", "Not a valid choice"),
        ({"interpreter_language": "x" * 61}, "interpreter_language", "60"),
        ({"interpreter_language": "Mam\x1b"}, "interpreter_language", "control characters"),
        ({"mobile_phone": "213\x0b555 0143"}, "mobile_phone", "control characters"),
        ({"quiet_start": "21:00\x00", "quiet_end": "07:00"}, "quiet_start", "control characters"),
    ],
)
def test_a_mistake_is_shown_next_to_its_field_and_the_rest_is_kept(db, family, guardian, fields, field_id, message):
    version = page_version(family)
    typed = contact_form(version, CHANNELS | {(Topic.EVENTS, Channel.EMAIL)}, **fields)
    if "interpreter_language" not in fields:
        typed["interpreter_language"] = "Tagalog"
    response = submit(family, PAGE, typed)
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, field_id)
    assert error and message in html.unescape(error), error
    if field_id != "mobile_phone":
        assert input_value(page, "mobile_phone") == typed["mobile_phone"]
    if field_id != "interpreter_language":
        assert input_value(page, "interpreter_language") == "Tagalog"
    assert checked(page, "events__email")
    assert not checked(page, "school_news__email")
    assert preference_of(db, guardian).version == int(version)


def test_turning_every_emergency_channel_off_is_refused_next_to_the_emergency_choices(db, family, guardian):
    version = page_version(family)
    response = submit(family, PAGE, contact_form(version, {(Topic.ATTENDANCE, Channel.EMAIL)}))
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, "emergency")
    assert error and "Emergency and safety messages must reach you" in html.unescape(error)
    assert not checked(page, "emergency__email")
    assert (Topic.EMERGENCY, Channel.EMAIL) in subscriptions_of(db, guardian)


def test_script_in_the_interpreter_language_is_stored_as_typed_and_shown_escaped(db, family, guardian):
    response = submit(family, PAGE, contact_form(page_version(family), interpreter_language=HOSTILE_SCRIPT))
    assert response.status_code == 302
    assert preference_of(db, guardian).interpreter_language == HOSTILE_SCRIPT
    page = text(family.get(PAGE))
    assert HOSTILE_SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f"Interpreter needed: {HOSTILE_SCRIPT}" in summary(page)


@pytest.mark.parametrize(
    "version",
    ["", "abc", "1.0", "-1", "0", " 1", "1e0", "٢", "１", "9" * 5000, "99999999999999999999", "2\x00"],
)
def test_an_odd_version_counts_as_stale_and_never_as_an_error(db, family, guardian, version):
    page_version(family)
    response = submit(family, PAGE, contact_form(version, interpreter_language="Mam"))
    assert response.status_code == 200
    page = text(response)
    assert CONFLICT in html.unescape(page)
    assert input_value(page, "interpreter_language") == "Mam"
    assert input_value(page, "version") == "1"
    assert preference_of(db, guardian).interpreter_language == ""


def test_a_missing_version_counts_as_stale(db, family, guardian):
    page_version(family)
    typed = contact_form(1, interpreter_language="Mam")
    del typed["version"]
    response = submit(family, PAGE, typed)
    assert response.status_code == 200
    assert CONFLICT in html.unescape(text(response))
    assert preference_of(db, guardian).interpreter_language == ""


def test_a_post_without_the_pages_token_is_refused(db, family, guardian):
    version = page_version(family)
    response = family.post(PAGE, data=contact_form(version, interpreter_language="Mam"))
    assert response.status_code == 400
    assert preference_of(db, guardian).interpreter_language == ""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    typed=st.text(max_size=80),
    field=st.sampled_from(
        ["mobile_phone", "voice_phone", "language", "interpreter_language", "quiet_start", "quiet_end", "version"]
    ),
)
def test_any_text_in_any_field_gets_an_answer_and_no_500(family, typed, field):
    version = input_value(text(family.get(PAGE)), "version")
    response = submit(family, PAGE, {**contact_form(version), field: typed})
    assert response.status_code in (200, 302)
    assert HOSTILE_SCRIPT not in text(response)


# Household isolation --------------------------------------------------------------------------


def test_a_family_cannot_change_another_guardians_preferences_with_extra_fields(db, family, guardian, other_guardian):
    contacts.details_for_family(db, other_guardian)
    db.commit()
    before = preference_of(db, other_guardian)
    before_state = (before.version, before.interpreter_language, before.mobile_phone)
    before_channels = subscriptions_of(db, other_guardian)
    typed = contact_form(page_version(family), interpreter_language="Mam")
    extra = str(other_guardian.id)
    for name in ("user_id", "guardian_id", "id", "user", "preference_id"):
        typed[name] = extra
    response = submit(family, f"{PAGE}?user_id={extra}&guardian_id={extra}", typed, page=PAGE)
    assert response.status_code == 302
    after = preference_of(db, other_guardian)
    assert (after.version, after.interpreter_language, after.mobile_phone) == before_state
    assert subscriptions_of(db, other_guardian) == before_channels
    # The change went to the signed-in guardian, the only one the page is about.
    assert preference_of(db, guardian).interpreter_language == "Mam"


def test_the_familys_page_has_no_field_naming_a_guardian(family, other_guardian):
    page = text(family.get(PAGE))
    names = set(re.findall(r'\bname="([^"]+)"', page))
    assert not names & {"user_id", "guardian_id", "household_id", "id"}


def test_a_family_gets_403_for_the_staff_edit_page(db, family, household, guardian, other_guardian):
    contacts.details_for_family(db, other_guardian)
    db.commit()
    url = staff_url(household, other_guardian)
    assert family.get(url).status_code == 403
    response = submit(family, url, contact_form(1, interpreter_language="Mam", reason="me"), page=PAGE)
    assert response.status_code == 403
    assert preference_of(db, other_guardian).interpreter_language == ""


def test_staff_get_404_for_a_guardian_of_another_household(db, client, sign_in, staff, household):
    stranger = factories.guardians_of(db, factories.make_household(db))[0]
    contacts.details_for_family(db, stranger)
    db.commit()
    sign_in(staff)
    url = staff_url(household, stranger)
    assert client.get(url).status_code == 404
    page = f"/staff/households/{household.id}"
    response = submit(client, url, contact_form(1, interpreter_language="Mam", reason="Asked on the phone"), page=page)
    assert response.status_code == 404
    assert preference_of(db, stranger).interpreter_language == ""
    assert client.get(f"/staff/households/999999/guardians/{stranger.id}/contact").status_code == 404


def test_staff_cannot_use_the_familys_page(client, sign_in, staff):
    sign_in(staff)
    assert client.get(PAGE).status_code == 403


@pytest.mark.parametrize("url", [PAGE, "/staff/households/1/guardians/1/contact", "/admin/contact-lists"])
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/sign-in" in location(response)


# Staff change preferences for a family --------------------------------------------------------


def test_staff_opening_the_edit_page_is_recorded_as_a_contacts_view(
    app, db, client, sign_in, staff, household, guardian
):
    sign_in(staff)
    response = client.get(staff_url(household, guardian))
    assert response.status_code == 200
    assert "What is saved now" in text(response)
    db.expire_all()
    views = db.scalars(select(AuditEvent).where(AuditEvent.action == access_log.VIEW_ACTION)).all()
    assert [(e.actor_id, e.household_id, e.after) for e in views] == [(staff.id, household.id, {"what": "contacts"})]
    history = html.unescape(text(signed_in(app, guardian).get("/family/history")))
    assert "Jordan Lee (staff) looked at your contact details" in history


def test_staff_without_a_reason_see_a_message_by_the_reason_and_keep_everything_typed(
    db, client, sign_in, staff, household, guardian
):
    sign_in(staff)
    url = staff_url(household, guardian)
    version = page_version(client, url)
    theirs = CHANNELS | {(Topic.TRANSPORTATION, Channel.SMS)}
    response = submit(
        client,
        url,
        contact_form(version, theirs, interpreter_language="Mam", quiet_start="21:00", quiet_end="07:00", reason=" "),
    )
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "reason") == "Say why you are changing this family's details."
    assert input_value(page, "interpreter_language") == "Mam"
    assert input_value(page, "mobile_phone") == "213-555-0143"
    assert (input_value(page, "quiet_start"), input_value(page, "quiet_end")) == ("21:00", "07:00")
    assert checked(page, "transportation__sms")
    assert not checked(page, "school_news__email")
    assert preference_of(db, guardian).version == int(version)
    assert db.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_control_character_in_the_reason_is_refused_next_to_it(db, client, sign_in, staff, household, guardian):
    sign_in(staff)
    url = staff_url(household, guardian)
    response = submit(client, url, contact_form(page_version(client, url), reason="Phoned\x07 in"))
    assert response.status_code == 200
    assert "control characters" in (field_error(text(response), "reason") or "")
    assert preference_of(db, guardian).version == 1


def test_staff_save_with_a_reason_the_guardian_is_emailed_and_the_history_shows_the_reason(
    app, db, client, sign_in, staff, household, guardian
):
    sign_in(staff)
    url = staff_url(household, guardian)
    reason = "Alex phoned: new mobile & <b>texts</b> please"
    response = submit(client, url, contact_form(page_version(client, url), interpreter_language="Mam", reason=reason))
    assert response.status_code == 302
    assert location(response).endswith(f"/staff/households/{household.id}")
    assert "Saved. Alex Rivera is emailed what changed and why." in html.unescape(text(client.get(location(response))))
    preference = preference_of(db, guardian)
    assert (preference.mobile_phone, preference.interpreter_language, preference.updated_by_id) == (
        MOBILE,
        "Mam",
        staff.id,
    )
    notification = db.scalars(select(Notification).where(Notification.template == "changed_by_staff")).one()
    assert notification.recipient_id == guardian.id
    assert notification.to_address == guardian.email
    assert set(notification.payload["changes"]) == {"mobile_phone", "interpreter_language", "channels"}
    assert notification.payload["reason"] == reason
    history_page = text(signed_in(app, guardian).get("/family/history"))
    assert "<b>texts</b>" not in history_page
    assert f"Jordan Lee (staff) changed contact preferences on your behalf. Their reason: {reason}" in html.unescape(
        history_page
    )


def test_staff_and_the_guardian_editing_at_once_the_later_save_gets_the_conflict(
    db, client, sign_in, staff, household, guardian, app
):
    sign_in(staff)
    url = staff_url(household, guardian)
    staff_page = text(client.get(url))
    family = signed_in(app, guardian)
    assert (
        submit(family, PAGE, contact_form(page_version(family), interpreter_language="Vietnamese")).status_code == 302
    )
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token_from(staff_page),
            **contact_form(input_value(staff_page, "version"), interpreter_language="Mam", reason="Phoned in"),
        },
    )
    assert response.status_code == 200
    page = text(response)
    assert CONFLICT in html.unescape(page)
    assert input_value(page, "interpreter_language") == "Mam"
    assert "Phoned in" in page
    assert preference_of(db, guardian).interpreter_language == "Vietnamese"
    assert db.scalar(select(func.count()).select_from(Notification)) == 0


def test_the_household_page_shows_each_guardians_preferences_and_a_link_to_change_them(
    db, client, sign_in, staff, household, guardian, other_guardian
):
    save_as_family(db, guardian, interpreter_language="Vietnamese")
    sign_in(staff)
    page = text(client.get(f"/staff/households/{household.id}"))
    assert staff_url(household, guardian) in page
    assert staff_url(household, other_guardian) in page
    assert "Interpreter needed: Vietnamese" in html.unescape(page)


# Contact lists for administrators ------------------------------------------------------------


def test_admins_download_a_contact_list_as_a_csv_attachment(db, client, sign_in, admin, household, guardian):
    save_as_family(db, guardian, interpreter_language="Mam", quiet_start="21:00", quiet_end="07:00")
    sign_in(admin)
    assert client.get("/admin/contact-lists").status_code == 200
    response = client.get("/admin/contact-lists.csv?topic=attendance&channel=sms&filename=evil.html")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert ATTACHMENT.match(response.headers["Content-Disposition"]), response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = text(response)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0] == [
        "household_id",
        "guardian_id",
        "name",
        "language",
        "interpreter_language",
        "address",
        "quiet_start",
        "quiet_end",
        "time_zone",
    ]
    assert rows[1:] == [
        [
            str(household.id),
            str(guardian.id),
            "Alex Rivera",
            "en",
            "Mam",
            MOBILE,
            "21:00",
            "07:00",
            "America/Los_Angeles",
        ]
    ]
    exported = db.scalar(select(AuditEvent).where(AuditEvent.action == "contacts.exported"))
    assert exported.after == {"topic": "attendance", "channel": "sms", "rows": 1}
    assert exported.actor_id == admin.id


@pytest.mark.parametrize(
    "query",
    [
        "topic=weather&channel=sms",
        "topic=attendance&channel=fax",
        "topic=&channel=sms",
        "channel=sms",
        "topic=attendance",
        "",
        "topic=../../etc/passwd&channel=sms",
        "topic=ATTENDANCE&channel=sms",
    ],
)
def test_a_contact_list_of_an_unknown_topic_or_channel_is_404(client, sign_in, admin, query):
    sign_in(admin)
    assert client.get(f"/admin/contact-lists.csv?{query}").status_code == 404


@pytest.mark.parametrize("role", ["family", "staff"])
@pytest.mark.parametrize("url", ["/admin/contact-lists", "/admin/contact-lists.csv?topic=attendance&channel=sms"])
def test_only_admins_get_contact_lists(db, client, sign_in, role, url):
    user = factories.make_staff(db) if role == "staff" else factories.guardians_of(db, factories.make_household(db))[0]
    sign_in(user)
    response = client.get(url)
    assert response.status_code == 403
    assert "household_id" not in text(response)

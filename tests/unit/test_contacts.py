"""Contact preferences without HTTP: the rules, saving with a version check, and contact lists."""

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    Channel,
    ContactPreference,
    Guardianship,
    Notification,
    Topic,
    TopicSubscription,
    User,
)
from portal.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from portal.services.households import contacts
from portal.services.households.contacts import ContactChoices
from tests import factories

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LANGUAGES = ("en", "es")
MOBILE = "+12135550143"
VOICE = "+13105550188"
OTHER_MOBILE = "+14155550123"
HEADER = [
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
E, A = Topic.EMERGENCY, Topic.ATTENDANCE
EMAIL, SMS, VOICE_CALL = Channel.EMAIL, Channel.SMS, Channel.VOICE


def choose(**overrides: object) -> ContactChoices:
    """Valid choices (emergency by email and text, attendance by text), then `overrides`."""
    values: dict[str, object] = {
        "mobile_phone": MOBILE,
        "voice_phone": None,
        "language": "en",
        "interpreter_language": "",
        "quiet_start": None,
        "quiet_end": None,
        "channels": frozenset({(E, EMAIL), (E, SMS), (A, SMS)}),
    }
    values.update(overrides)
    return ContactChoices(**values)  # type: ignore[arg-type]


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def preference_of(db, user: User) -> ContactPreference:
    db.expire_all()
    preference = db.scalar(select(ContactPreference).where(ContactPreference.user_id == user.id))
    assert preference is not None
    return preference


def subscriptions_of(db, user: User) -> frozenset[tuple[Topic, Channel]]:
    db.expire_all()
    rows = db.execute(
        select(TopicSubscription.topic, TopicSubscription.channel).where(TopicSubscription.user_id == user.id)
    )
    return frozenset((topic, channel) for topic, channel in rows)


@pytest.fixture
def household(db):
    return factories.make_household(db, guardians=2, name="Rivera family")


@pytest.fixture
def guardian(db, household) -> User:
    return factories.guardians_of(db, household)[0]


@pytest.fixture
def staff(db) -> User:
    return factories.make_staff(db, name="Jordan Lee")


def save_own(db, guardian: User, choices: ContactChoices, *, now: datetime = NOW, version: int | None = None):
    """The guardian saves their own choices from the version now saved (or `version`); committed."""
    details = contacts.details_for_family(db, guardian)
    result = contacts.save_choices(
        db,
        guardian,
        guardian,
        choices,
        based_on_version=details.preference.version if version is None else version,
        languages=LANGUAGES,
        now=now,
    )
    db.commit()
    return result


# The rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channels": frozenset()}, "emergency__email"),
        ({"channels": frozenset({(A, EMAIL), (A, SMS), (Topic.SURVEYS, VOICE_CALL)})}, "emergency__email"),
        ({"mobile_phone": None, "channels": frozenset({(E, EMAIL), (A, SMS)})}, "mobile_phone"),
        ({"mobile_phone": None, "voice_phone": VOICE, "channels": frozenset({(E, SMS)})}, "mobile_phone"),
        ({"mobile_phone": None, "channels": frozenset({(E, EMAIL), (Topic.EVENTS, VOICE_CALL)})}, "voice_phone"),
        ({"quiet_start": "21:00"}, "quiet_end"),
        ({"quiet_end": "07:00"}, "quiet_end"),
        ({"quiet_start": "21:00", "quiet_end": "21:00"}, "quiet_end"),
        ({"quiet_start": "9:00", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "24:00", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "21:60", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "2100", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "21:00:00", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "21:00\n", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "２１:００", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "21:00", "quiet_end": "7pm"}, "quiet_end"),
        ({"language": "fr"}, "language"),
        ({"language": ""}, "language"),
        ({"language": "EN"}, "language"),
        ({"interpreter_language": "x" * 61}, "interpreter_language"),
    ],
)
def test_choices_that_break_a_rule_are_refused_for_the_field_concerned(overrides, field):
    with pytest.raises(InvalidInput) as raised:
        contacts.check_choices(choose(**overrides), LANGUAGES)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"channels": frozenset({(E, EMAIL)})},
        {"channels": frozenset({(E, VOICE_CALL)})},  # voice falls back to the mobile number
        {"mobile_phone": None, "voice_phone": VOICE, "channels": frozenset({(E, VOICE_CALL), (A, VOICE_CALL)})},
        {"mobile_phone": None, "channels": frozenset({(E, EMAIL)} | {(t, EMAIL) for t in Topic})},
        {"quiet_start": "21:00", "quiet_end": "07:00"},
        {"quiet_start": "00:00", "quiet_end": "23:59"},
        {"language": "es", "interpreter_language": "Mam"},
        {"interpreter_language": "x" * 60},
    ],
)
def test_choices_within_the_rules_are_accepted(overrides):
    contacts.check_choices(choose(**overrides), LANGUAGES)


@settings(max_examples=300, deadline=None)
@given(
    channels=st.frozensets(st.tuples(st.sampled_from(list(Topic)), st.sampled_from(list(Channel)))),
    mobile_phone=st.one_of(st.none(), st.just(MOBILE)),
    voice_phone=st.one_of(st.none(), st.just(VOICE)),
    quiet=st.sampled_from([(None, None), ("21:00", "07:00"), ("21:00", None), ("07:00", "07:00")]),
)
def test_accepted_choices_always_reach_emergencies_and_have_a_number_for_every_phone_channel(
    channels, mobile_phone, voice_phone, quiet
):
    choices = choose(
        channels=channels,
        mobile_phone=mobile_phone,
        voice_phone=voice_phone,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
    )
    try:
        contacts.check_choices(choices, LANGUAGES)
    except InvalidInput:
        return
    assert any(topic == Topic.EMERGENCY for topic, _channel in channels)
    for _topic, channel in channels:
        if channel == SMS:
            assert mobile_phone
        if channel == VOICE_CALL:
            assert voice_phone or mobile_phone


def test_a_save_that_would_turn_emergencies_off_is_refused_and_nothing_changes(db, guardian):
    save_own(db, guardian, choose())
    with pytest.raises(InvalidInput) as raised:
        save_own(db, guardian, choose(channels=frozenset({(A, EMAIL)})))
    assert raised.value.field == "emergency__email"
    db.rollback()
    assert (E, EMAIL) in subscriptions_of(db, guardian)
    assert preference_of(db, guardian).version == 2


# Defaults for a new guardian ------------------------------------------------------------------


def test_a_new_guardian_with_a_mobile_gets_emergencies_on_every_channel_and_attendance_by_email_and_text(db):
    user = factories.make_user(db)
    contacts.start_preferences(db, user, mobile_phone=MOBILE)
    db.commit()
    saved = subscriptions_of(db, user)
    assert {(E, EMAIL), (E, SMS), (E, VOICE_CALL), (A, EMAIL), (A, SMS)} <= saved
    assert (A, VOICE_CALL) not in saved
    assert {(t, EMAIL) for t in Topic} <= saved
    assert not {(t, c) for t, c in saved if t not in (E, A) and c != EMAIL}
    preference = preference_of(db, user)
    assert (preference.mobile_phone, preference.version, preference.quiet_start) == (MOBILE, 1, None)


def test_a_new_guardian_without_a_phone_gets_emergencies_by_email_only(db):
    user = factories.make_user(db)
    contacts.start_preferences(db, user)
    db.commit()
    saved = subscriptions_of(db, user)
    assert {c for t, c in saved if t == E} == {EMAIL}
    assert saved == {(t, EMAIL) for t in Topic}


def test_the_defaults_of_a_guardian_with_only_a_voice_number_call_in_an_emergency():
    channels = contacts.default_channels(User(), ContactPreference(voice_phone=VOICE))
    assert {c for t, c in channels if t == E} == {EMAIL, VOICE_CALL}
    assert SMS not in {c for _t, c in channels}


@pytest.mark.parametrize(("mobile", "voice"), [(None, None), (MOBILE, None), (None, VOICE), (MOBILE, VOICE)])
def test_the_defaults_keep_every_rule(mobile, voice):
    channels = contacts.default_channels(User(), ContactPreference(mobile_phone=mobile, voice_phone=voice))
    contacts.check_choices(choose(mobile_phone=mobile, voice_phone=voice, channels=channels), LANGUAGES)


def test_a_guardian_without_saved_preferences_gets_the_defaults_with_their_account_phone(db, guardian):
    guardian.phone = MOBILE
    db.commit()
    details = contacts.details_for_family(db, guardian)
    db.commit()
    assert details.preference.mobile_phone == MOBILE
    assert {(E, EMAIL), (E, SMS), (E, VOICE_CALL)} <= details.channels
    assert subscriptions_of(db, guardian) == details.channels


# Saving -------------------------------------------------------------------------------------


def test_a_save_based_on_an_older_version_is_refused_and_changes_nothing(db, guardian):
    save_own(db, guardian, choose(interpreter_language="Vietnamese"))
    saved_channels = subscriptions_of(db, guardian)
    with pytest.raises(Conflict):
        save_own(
            db,
            guardian,
            choose(interpreter_language="Mam", mobile_phone=OTHER_MOBILE, channels=frozenset({(E, EMAIL)})),
            version=1,
            now=LATER,
        )
    assert not (db.new or db.dirty or db.deleted)
    db.commit()
    preference = preference_of(db, guardian)
    assert (preference.version, preference.interpreter_language, preference.mobile_phone) == (2, "Vietnamese", MOBILE)
    assert preference.updated_at == NOW
    assert subscriptions_of(db, guardian) == saved_channels
    assert count(db, AuditEvent, AuditEvent.action == "contact.updated") == 1


def test_a_save_is_refused_when_another_save_lands_after_its_version_check(app, db, guardian, monkeypatch):
    """Two saves from version 1 at the same moment: the one that commits second must get a
    Conflict, not overwrite the first, so the version check has to be part of the UPDATE.
    The other save is made to commit just after this one checked the version (_snapshot
    runs right after that check and before anything is written)."""
    contacts.details_for_family(db, guardian)
    db.commit()
    other_db = app.extensions["portal.sessionmaker"]()
    other_guardian = other_db.get(User, guardian.id)
    snapshot = contacts._snapshot
    interleaved = []

    def snapshot_then_let_the_other_save_land(details):
        if not interleaved:
            interleaved.append(True)
            save_own(other_db, other_guardian, choose(interpreter_language="Vietnamese"))
        return snapshot(details)

    monkeypatch.setattr(contacts, "_snapshot", snapshot_then_let_the_other_save_land)
    try:
        with pytest.raises(Conflict):
            contacts.save_choices(
                db,
                guardian,
                guardian,
                choose(interpreter_language="Mam"),
                based_on_version=1,
                languages=LANGUAGES,
                now=LATER,
            )
            db.commit()
    finally:
        db.rollback()
        other_db.close()
    assert interleaved
    preference = preference_of(db, guardian)
    assert (preference.version, preference.interpreter_language) == (2, "Vietnamese")


def test_a_save_that_changes_nothing_records_nothing(db, guardian):
    save_own(db, guardian, choose(interpreter_language="Mam", quiet_start="21:00", quiet_end="07:00"))
    _details, changed = save_own(
        db, guardian, choose(interpreter_language="Mam", quiet_start="21:00", quiet_end="07:00"), now=LATER
    )
    assert changed == []
    assert preference_of(db, guardian).version == 2
    assert preference_of(db, guardian).updated_at == NOW
    assert count(db, AuditEvent, AuditEvent.action == "contact.updated") == 1


def test_a_first_save_of_the_defaults_records_nothing(db, guardian):
    details = contacts.details_for_family(db, guardian)
    db.commit()
    defaults = choose(mobile_phone=None, channels=details.channels)
    _details, changed = save_own(db, guardian, defaults)
    assert changed == []
    assert count(db, AuditEvent, AuditEvent.action == "contact.updated") == 0


def test_a_change_is_audited_with_only_the_changed_keys_and_the_household(db, household, guardian):
    details = contacts.details_for_family(db, guardian)
    db.commit()
    old_channels = sorted(f"{t.value}:{c.value}" for t, c in details.channels)
    new_channels = details.channels | {(E, SMS), (A, SMS)}
    saved, changed = save_own(db, guardian, choose(interpreter_language="Vietnamese", channels=new_channels))
    assert set(changed) == {"mobile_phone", "interpreter_language", "channels"}
    assert saved.channels == new_channels
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.updated")).one()
    assert event.actor_id == guardian.id
    assert event.household_id == household.id
    assert (event.object_type, event.object_id) == ("contact_preference", saved.preference.id)
    assert event.created_at == NOW
    assert event.before == {"mobile_phone": None, "interpreter_language": "", "channels": old_channels}
    assert event.after == {
        "mobile_phone": MOBILE,
        "interpreter_language": "Vietnamese",
        "channels": sorted(f"{t.value}:{c.value}" for t, c in new_channels),
    }
    preference = preference_of(db, guardian)
    assert (preference.version, preference.updated_at, preference.updated_by_id) == (2, NOW, guardian.id)
    assert subscriptions_of(db, guardian) == new_channels
    assert count(db, Notification, Notification.template == "changed_by_staff") == 0


def test_quiet_hours_and_language_are_audited_in_words(db, guardian):
    save_own(db, guardian, choose())
    save_own(db, guardian, choose(quiet_start="21:00", quiet_end="07:00", language="es"), now=LATER)
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.before == {"quiet_hours": None, "language": "en"}
    assert event.after == {"quiet_hours": "21:00-07:00", "language": "es"}
    db.expire_all()
    assert db.get(User, guardian.id).language == "es"


@pytest.mark.parametrize("reason", ["", "   \n\t"])
def test_staff_must_give_a_reason(db, household, guardian, staff, reason):
    contacts.details_for_staff(db, staff, household.id, guardian.id)
    db.commit()
    with pytest.raises(InvalidInput) as raised:
        contacts.save_choices(
            db, staff, guardian, choose(), based_on_version=1, languages=LANGUAGES, now=NOW, reason=reason
        )
    assert raised.value.field == "reason"
    db.rollback()
    assert preference_of(db, guardian).version == 1
    assert count(db, Notification) == 0


def test_a_staff_change_records_the_reason_and_emails_the_guardian_what_changed(db, household, guardian, staff):
    details = contacts.details_for_staff(db, staff, household.id, guardian.id)
    db.commit()
    _saved, changed = contacts.save_choices(
        db,
        staff,
        guardian,
        choose(interpreter_language="Mam", channels=details.channels | {(E, SMS)}),
        based_on_version=details.preference.version,
        languages=LANGUAGES,
        now=NOW,
        reason="  Called the office on Tuesday  ",
    )
    db.commit()
    assert set(changed) == {"mobile_phone", "interpreter_language", "channels"}
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.updated")).one()
    assert event.actor_id == staff.id
    assert event.household_id == household.id
    assert event.after["reason"] == "Called the office on Tuesday"
    assert "reason" not in event.before
    assert preference_of(db, guardian).updated_by_id == staff.id
    notification = db.scalars(select(Notification).where(Notification.template == "changed_by_staff")).one()
    assert notification.recipient_id == guardian.id
    assert notification.to_address == guardian.email
    assert notification.created_at == NOW
    assert sorted(notification.payload["changes"]) == sorted(changed)
    assert notification.payload["reason"] == "Called the office on Tuesday"
    assert notification.payload["staff_name"] == "Jordan Lee"


def test_a_staff_save_that_changes_nothing_emails_nobody(db, household, guardian, staff):
    details = contacts.details_for_staff(db, staff, household.id, guardian.id)
    db.commit()
    contacts.save_choices(
        db,
        staff,
        guardian,
        choose(mobile_phone=None, channels=details.channels),
        based_on_version=details.preference.version,
        languages=LANGUAGES,
        now=NOW,
        reason="Checked with the family",
    )
    db.commit()
    assert count(db, Notification) == 0
    assert count(db, AuditEvent, AuditEvent.action == "contact.updated") == 0


@pytest.mark.parametrize("same_household", [True, False])
def test_a_family_cannot_save_another_guardians_preferences(db, household, guardian, same_household):
    other = (
        factories.guardians_of(db, household)[1]
        if same_household
        else factories.guardians_of(db, factories.make_household(db))[0]
    )
    contacts.details_for_family(db, other)
    db.commit()
    with pytest.raises(NotAllowed):
        contacts.save_choices(
            db, guardian, other, choose(interpreter_language="Mam"), based_on_version=1, languages=LANGUAGES, now=NOW
        )
    db.rollback()
    assert preference_of(db, other).interpreter_language == ""
    assert count(db, AuditEvent, AuditEvent.action == "contact.updated") == 0


def test_staff_cannot_save_their_own_preferences_as_a_family(db, staff):
    with pytest.raises(NotAllowed):
        contacts.save_choices(db, staff, staff, choose(), based_on_version=1, languages=LANGUAGES, now=NOW)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_cannot_use_the_familys_own_view(db, role):
    actor = factories.make_staff(db) if role == "staff" else factories.make_admin(db)
    with pytest.raises(NotAllowed):
        contacts.details_for_family(db, actor)


def test_a_family_cannot_use_the_staff_views(db, household, guardian):
    other = factories.guardians_of(db, household)[1]
    with pytest.raises(NotAllowed):
        contacts.details_for_staff(db, guardian, household.id, other.id)
    with pytest.raises(NotAllowed):
        contacts.household_details(db, guardian, household.id)


def test_staff_get_not_found_for_a_guardian_of_another_household(db, household, staff):
    stranger = factories.guardians_of(db, factories.make_household(db))[0]
    with pytest.raises(NotFound):
        contacts.details_for_staff(db, staff, household.id, stranger.id)


# Contact lists ----------------------------------------------------------------------------


@pytest.fixture
def district(db):
    """Two households: who subscribed to what, with which numbers."""
    rivera = factories.make_household(db, guardians=3, name="Rivera family")
    ana, ben, cy = factories.guardians_of(db, rivera)
    okafor = factories.make_household(db, guardians=1, name="Okafor family")
    (dee,) = factories.guardians_of(db, okafor)
    for user, name in ((ana, "Ana Rivera"), (ben, "Ben Rivera"), (cy, "Cy Rivera"), (dee, "Dee Okafor")):
        user.display_name = name
    ana.language = "es"
    db.commit()
    # Ana: texts for attendance and emergencies, calls on her mobile, quiet at night, a Mam interpreter.
    save_own(
        db,
        ana,
        choose(
            language="es",
            interpreter_language="Mam",
            quiet_start="21:00",
            quiet_end="07:00",
            channels=frozenset({(E, SMS), (E, VOICE_CALL), (A, SMS)}),
        ),
    )
    # Ben: email only, no phone.
    save_own(db, ben, choose(mobile_phone=None, channels=frozenset({(E, EMAIL), (A, EMAIL)})))
    # Cy: would get texts, but the account is switched off.
    save_own(db, cy, choose(mobile_phone=OTHER_MOBILE, channels=frozenset({(E, SMS), (A, SMS)})))
    cy.is_active = False
    # Dee: a separate number for calls, a mobile for texts, but attendance by email only.
    save_own(
        db,
        dee,
        choose(
            voice_phone=VOICE,
            quiet_start="20:00",
            quiet_end="08:00",
            channels=frozenset({(E, VOICE_CALL), (A, EMAIL), (E, SMS)}),
        ),
    )
    db.commit()
    return {"rivera": rivera, "okafor": okafor, "ana": ana, "ben": ben, "cy": cy, "dee": dee}


def listed(db, topic, channel) -> list[tuple[int, str, str, str]]:
    db.expire_all()
    return [
        (row.guardian_id, row.address, row.quiet_start, row.quiet_end)
        for row in contacts.contact_list(db, topic, channel)
    ]


def test_the_text_list_has_only_subscribed_active_guardians_at_their_mobile_with_quiet_hours(db, district):
    ana = district["ana"]
    rows = list(contacts.contact_list(db, A, SMS))
    assert [row.guardian_id for row in rows] == [ana.id]
    row = rows[0]
    assert row.household_id == district["rivera"].id
    assert (row.name, row.language, row.interpreter_language) == ("Ana Rivera", "es", "Mam")
    assert (row.address, row.quiet_start, row.quiet_end) == (MOBILE, "21:00", "07:00")
    assert row.as_csv_row("America/Los_Angeles")[-1] == "America/Los_Angeles"


def test_the_email_list_uses_the_account_email_and_no_quiet_hours_means_no_time_zone(db, district):
    ben, dee = district["ben"], district["dee"]
    assert listed(db, A, EMAIL) == [(ben.id, ben.email, "", ""), (dee.id, dee.email, "20:00", "08:00")]
    ben_row = next(iter(contacts.contact_list(db, A, EMAIL)))
    assert ben_row.as_csv_row("America/Los_Angeles")[-3:] == ["", "", ""]


def test_voice_calls_go_to_the_voice_number_else_the_mobile_and_emergencies_ignore_quiet_hours(db, district):
    ana, dee = district["ana"], district["dee"]
    assert listed(db, E, VOICE_CALL) == [(ana.id, MOBILE, "", ""), (dee.id, VOICE, "", "")]
    rows = list(contacts.contact_list(db, E, VOICE_CALL))
    assert all(row.as_csv_row("America/Los_Angeles")[-1] == "" for row in rows)


def test_emergency_texts_leave_out_inactive_accounts(db, district):
    ana, dee = district["ana"], district["dee"]
    assert listed(db, E, SMS) == [(ana.id, MOBILE, "", ""), (dee.id, MOBILE, "", "")]


def test_a_topic_turned_off_leaves_the_list(db, district):
    ana = district["ana"]
    save_own(db, ana, choose(language="es", channels=frozenset({(E, SMS)})), now=LATER)
    assert listed(db, A, SMS) == []
    assert [row[0] for row in listed(db, E, SMS)] == [ana.id, district["dee"].id]


def test_a_guardian_of_two_households_is_listed_once_with_the_first(db, district):
    # Shared custody: Dee is also a guardian of the Rivera household, joined later.
    dee, rivera = district["dee"], district["rivera"]
    db.add(Guardianship(household_id=rivera.id, user_id=dee.id))
    db.commit()
    assert listed(db, E, SMS) == [(district["ana"].id, MOBILE, "", ""), (dee.id, MOBILE, "", "")]
    rows = [row for row in contacts.contact_list(db, E, SMS) if row.guardian_id == dee.id]
    assert [row.household_id for row in rows] == [district["okafor"].id]


def test_nobody_is_listed_for_a_topic_nobody_chose(db, district):
    assert listed(db, Topic.SURVEYS, SMS) == []


def export(runner, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["export-contacts", *args])


def test_the_export_command_prints_the_csv_for_a_mass_messaging_tool(runner, db, district):
    result = export(runner, "--topic", "attendance", "--channel", "sms")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == HEADER
    assert rows[1:] == [
        [
            str(district["rivera"].id),
            str(district["ana"].id),
            "Ana Rivera",
            "es",
            "Mam",
            MOBILE,
            "21:00",
            "07:00",
            "America/Los_Angeles",
        ]
    ]


def test_the_export_command_of_an_empty_list_prints_only_the_header(runner, db):
    result = export(runner, "--topic", "surveys", "--channel", "voice")
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.output))) == [HEADER]


@pytest.mark.parametrize(
    "args",
    [
        ["--topic", "weather", "--channel", "sms"],
        ["--topic", "attendance", "--channel", "fax"],
        ["--topic", "Attendance", "--channel", "sms"],
        ["--channel", "sms"],
        ["--topic", "attendance"],
    ],
)
def test_the_export_command_refuses_an_unknown_topic_or_channel(runner, args):
    result = export(runner, *args)
    assert result.exit_code != 0
    assert "household_id" not in result.output


@pytest.mark.parametrize(
    "name", ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "+12135550143x"]
)
def test_formula_like_names_are_neutralized_in_the_export_while_phone_numbers_are_kept(runner, db, name):
    household = factories.make_household(db)
    (guardian,) = factories.guardians_of(db, household)
    guardian.display_name = name
    db.commit()
    save_own(db, guardian, choose(interpreter_language='=HYPERLINK("http://evil.example")'))
    result = export(runner, "--topic", "attendance", "--channel", "sms")
    assert result.exit_code == 0, result.output
    (row,) = list(csv.reader(io.StringIO(result.output)))[1:]
    assert row[2] == "'" + name
    assert row[4] == '\'=HYPERLINK("http://evil.example")'
    assert row[5] == MOBILE

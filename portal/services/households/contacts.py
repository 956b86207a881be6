"""Contact preferences: which topics reach a guardian, on which channels, and when.

The rules: emergency and safety messages always reach a guardian through at
least one channel; a text message needs a mobile number and a voice call a
phone number; quiet hours hold back everything but emergencies. A save based
on an older version of the preferences is refused, so nobody's change is lost.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from portal.catalogs import lazy_gettext as _l
from portal.models import Channel, ContactPreference, Guardianship, Topic, TopicSubscription, User
from portal.services import audit, notifications, scope
from portal.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from portal.services.read_along import forgotten_after_a_write, recalled, remember

Choice = tuple[Topic, Channel]
STALE_MESSAGE = _l(
    "These preferences were changed by someone else since you opened the page. The saved version is shown "
    "below; your choices are still in the form: check them and save again."
)
TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


@dataclass(frozen=True)
class ContactChoices:
    """What a form asks to save. Phones are already in E.164."""

    mobile_phone: str | None
    voice_phone: str | None
    language: str
    interpreter_language: str
    quiet_start: str | None
    quiet_end: str | None
    channels: frozenset[Choice]


@dataclass(frozen=True)
class ContactDetails:
    """A guardian's saved preferences, as pages and exports show them."""

    user: User
    preference: ContactPreference
    channels: frozenset[Choice]

    def address(self, channel: Channel) -> str | None:
        if channel == Channel.EMAIL:
            return self.user.email
        if channel == Channel.SMS:
            return self.preference.mobile_phone
        return self.preference.voice_phone or self.preference.mobile_phone

    def summary(self) -> list[tuple[Topic, list[tuple[Channel, str]]]]:
        """Topic by topic, the channels it reaches and where: what the page says in words."""
        return [
            (
                topic,
                [(channel, self.address(channel) or "") for channel in Channel if (topic, channel) in self.channels],
            )
            for topic in Topic
        ]


def default_channels(user: User, preference: ContactPreference) -> frozenset[Choice]:
    """Before a guardian chooses: emergencies on every channel they can be reached on,
    attendance by email and text, everything else by email."""
    reachable = {Channel.EMAIL}
    if preference.mobile_phone:
        reachable |= {Channel.SMS, Channel.VOICE}
    elif preference.voice_phone:
        reachable.add(Channel.VOICE)
    choices = {(Topic.EMERGENCY, channel) for channel in reachable}
    choices |= {(Topic.ATTENDANCE, channel) for channel in reachable & {Channel.EMAIL, Channel.SMS}}
    choices |= {(topic, Channel.EMAIL) for topic in Topic if topic not in (Topic.EMERGENCY, Topic.ATTENDANCE)}
    return frozenset(choices)


def start_preferences(db: Session, user: User, *, mobile_phone: str | None = None) -> ContactPreference:
    """The defaults for a new guardian, saved so that exports include them at once."""
    preference = ContactPreference(user_id=user.id, mobile_phone=mobile_phone)
    db.add(preference)
    db.add_all(
        TopicSubscription(user_id=user.id, topic=topic, channel=channel)
        for topic, channel in default_channels(user, preference)
    )
    return preference


# Built once (portal.db, "Statements built once"): the contact page and the call-back
# forms send them.
_PREFERENCE = select(ContactPreference).where(ContactPreference.user_id == bindparam("user_id"))
_SUBSCRIPTIONS = select(TopicSubscription.topic, TopicSubscription.channel).where(
    TopicSubscription.user_id == bindparam("user_id")
)
CALL_DETAILS = (ContactPreference.voice_phone, ContactPreference.mobile_phone, ContactPreference.interpreter_language)
_CALL_DETAILS = select(*CALL_DETAILS).where(ContactPreference.user_id == bindparam("user_id"))


def load_details(db: Session, user: User) -> ContactDetails:
    preference = db.scalar(_PREFERENCE, {"user_id": user.id})
    if preference is None:
        preference = start_preferences(db, user, mobile_phone=user.phone)
        db.flush()
    rows = db.execute(_SUBSCRIPTIONS, {"user_id": user.id})
    return ContactDetails(user, preference, frozenset((topic, channel) for topic, channel in rows))


# Session.info: the signed-in user's id and their CALL_DETAILS, read along with the session
# statement (services/accounts/sessions.py): the family's request page and the new-request
# form offer a call-back with them, and send no statement of their own for them.
_CALL_DETAILS_READ = forgotten_after_a_write("portal.call_details_read")


def read_along(db: Session, user_id: int, details: tuple[str | None, ...]) -> None:
    remember(db, _CALL_DETAILS_READ, details, about=user_id)


def call_details(db: Session, actor: User) -> tuple[str, str]:
    """The number to call the guardian on (voice, else mobile, else the account's) and the
    language of its interpreter, for a call-back form: one read, or none when they came
    with the session statement."""
    if not actor.is_family:
        raise NotAllowed()
    found = recalled(db, _CALL_DETAILS_READ, about=actor.id)
    if found is None:
        found = db.execute(_CALL_DETAILS, {"user_id": actor.id}).first()
    voice, mobile, interpreter = found if found is not None else (None, None, "")
    return voice or mobile or actor.phone or "", interpreter or ""


def details_for_family(db: Session, actor: User) -> ContactDetails:
    """The signed-in guardian's own preferences."""
    if not actor.is_family:
        raise NotAllowed()
    return load_details(db, actor)


def guardian_for_staff(db: Session, actor: User, household_id: int, user_id: int) -> User:
    scope.require_staff(actor)
    guardian: User | None = db.scalar(
        select(User)
        .join(Guardianship, Guardianship.user_id == User.id)
        .where(Guardianship.household_id == household_id, User.id == user_id)
    )
    if guardian is None:
        raise NotFound()
    return guardian


def details_for_staff(db: Session, actor: User, household_id: int, user_id: int) -> ContactDetails:
    return load_details(db, guardian_for_staff(db, actor, household_id, user_id))


# One statement however many guardians: a row per guardian and subscription (a guardian
# without any has one row, with no topic). Built once (portal.db, "Statements built once").
_HOUSEHOLD_DETAILS = (
    select(User, ContactPreference, TopicSubscription.topic, TopicSubscription.channel)
    .join(Guardianship, Guardianship.user_id == User.id)
    .outerjoin(ContactPreference, ContactPreference.user_id == User.id)
    .outerjoin(TopicSubscription, TopicSubscription.user_id == User.id)
    .where(Guardianship.household_id == bindparam("household_id"))
    .order_by(Guardianship.id)
)


def household_details(db: Session, actor: User, household_id: int) -> list[ContactDetails]:
    """Every guardian's preferences in one household, for its staff page."""
    scope.require_staff(actor)
    rows = db.execute(_HOUSEHOLD_DETAILS, {"household_id": household_id}).all()
    guardians: dict[int, tuple[User, ContactPreference | None, set[Choice]]] = {}
    for user, preference, topic, channel in rows:
        _user, _preference, chosen = guardians.setdefault(user.id, (user, preference, set()))
        if topic is not None:
            chosen.add((topic, channel))
    return [
        ContactDetails(user, preference, frozenset(chosen)) if preference else load_details(db, user)
        for user, preference, chosen in guardians.values()
    ]


def check_choices(choices: ContactChoices, languages: tuple[str, ...]) -> None:
    """Raise InvalidInput, for the field concerned, when the choices break a rule."""
    if not any(topic == Topic.EMERGENCY for topic, _channel in choices.channels):
        raise InvalidInput(
            _l("Emergency and safety messages must reach you one way or another. Keep at least one channel."),
            field="emergency__email",
        )
    used = {channel for _topic, channel in choices.channels}
    if Channel.SMS in used and not choices.mobile_phone:
        raise InvalidInput(_l("Add a mobile number to get text messages."), field="mobile_phone")
    if Channel.VOICE in used and not (choices.voice_phone or choices.mobile_phone):
        raise InvalidInput(_l("Add a phone number to get voice calls."), field="voice_phone")
    if (choices.quiet_start is None) != (choices.quiet_end is None):
        raise InvalidInput(_l("Give both the start and the end of your quiet hours, or neither."), field="quiet_end")
    for name in ("quiet_start", "quiet_end"):
        value = getattr(choices, name)
        if value is not None and not TIME.fullmatch(value):
            raise InvalidInput(_l("Enter a time like 21:00."), field=name)
    if choices.quiet_start is not None and choices.quiet_start == choices.quiet_end:
        raise InvalidInput(_l("Quiet hours must end at another time than they start."), field="quiet_end")
    if choices.language not in languages:
        raise InvalidInput(_l("Choose a language from the list."), field="language")
    if len(choices.interpreter_language) > 60:
        raise InvalidInput(_l("Use at most 60 characters."), field="interpreter_language")


def _snapshot(details: ContactDetails) -> dict[str, Any]:
    preference = details.preference
    return {
        "mobile_phone": preference.mobile_phone,
        "voice_phone": preference.voice_phone,
        "language": details.user.language,
        "interpreter_language": preference.interpreter_language,
        "quiet_hours": f"{preference.quiet_start}-{preference.quiet_end}" if preference.quiet_start else None,
        "channels": sorted(f"{topic.value}:{channel.value}" for topic, channel in details.channels),
    }


def save_choices(
    db: Session,
    actor: User,
    guardian: User,
    choices: ContactChoices,
    *,
    based_on_version: int,
    languages: tuple[str, ...],
    now: datetime,
    reason: str = "",
) -> tuple[ContactDetails, list[str]]:
    """Save a guardian's choices; return the new details and the names of what changed.

    A guardian saves their own; staff save on a guardian's behalf with a reason,
    and the guardian is emailed what was changed and by whom."""
    on_behalf = actor.id != guardian.id
    if on_behalf:
        scope.require_staff(actor)
        if not reason.strip():
            raise InvalidInput(_l("Say why you are changing this family's details."), field="reason")
    elif not actor.is_family:
        raise NotAllowed()
    check_choices(choices, languages)
    details = load_details(db, guardian)
    if details.preference.version != based_on_version:
        raise Conflict(STALE_MESSAGE, field="mobile_phone")
    before = _snapshot(details)
    preference = details.preference
    after = {
        **_snapshot(ContactDetails(guardian, preference, choices.channels)),
        "mobile_phone": choices.mobile_phone,
        "voice_phone": choices.voice_phone,
        "language": choices.language,
        "interpreter_language": choices.interpreter_language.strip(),
        "quiet_hours": f"{choices.quiet_start}-{choices.quiet_end}" if choices.quiet_start else None,
    }
    changed = [key for key in before if before[key] != after[key]]
    if not changed:
        return details, []
    preference.mobile_phone = choices.mobile_phone
    preference.voice_phone = choices.voice_phone
    preference.interpreter_language = choices.interpreter_language.strip()
    preference.quiet_start, preference.quiet_end = choices.quiet_start, choices.quiet_end
    preference.updated_at = now
    preference.updated_by_id = actor.id
    guardian.language = choices.language
    try:
        # One UPDATE, which checks the version it read: of two racing saves, the second is refused.
        db.flush()
    except StaleDataError as error:
        raise Conflict(STALE_MESSAGE, field="mobile_phone") from error
    if choices.channels != details.channels:
        db.execute(delete(TopicSubscription).where(TopicSubscription.user_id == guardian.id))
        db.add_all(TopicSubscription(user_id=guardian.id, topic=t, channel=c) for t, c in sorted(choices.channels))
    audit.record(
        db,
        actor,
        "contact.updated",
        preference,
        now=now,
        household_id=scope.household_id_of(db, guardian),
        before={key: before[key] for key in changed},
        after={**{key: after[key] for key in changed}, **({"reason": reason.strip()} if on_behalf else {})},
    )
    if on_behalf:
        notifications.enqueue_email(
            db,
            guardian,
            "changed_by_staff",
            {"staff_name": actor.display_name, "changes": changed, "reason": reason.strip()},
            now=now,
        )
    return ContactDetails(guardian, preference, choices.channels), changed


@dataclass(frozen=True)
class ContactRow:
    household_id: int
    guardian_id: int
    name: str
    language: str
    interpreter_language: str
    address: str
    quiet_start: str
    quiet_end: str

    def as_csv_row(self, time_zone: str) -> list[object]:
        return [
            self.household_id,
            self.guardian_id,
            self.name,
            self.language,
            self.interpreter_language,
            self.address,
            self.quiet_start,
            self.quiet_end,
            time_zone if self.quiet_start else "",
        ]


def contact_list(db: Session, topic: Topic, channel: Channel) -> Iterator[ContactRow]:
    """Who gets `topic` on `channel`, with the address to use and their quiet hours
    (none for emergencies, which ignore them). Inactive accounts are left out.

    A guardian of several households (shared custody) is listed once, with their first
    household: a row per household would send them every message twice."""
    first = aliased(Guardianship)
    first_membership = select(func.min(first.id)).where(first.user_id == User.id).scalar_subquery()
    statement = (
        select(User, ContactPreference, Guardianship.household_id)
        .join(TopicSubscription, TopicSubscription.user_id == User.id)
        .join(ContactPreference, ContactPreference.user_id == User.id)
        .join(Guardianship, Guardianship.user_id == User.id)
        .where(TopicSubscription.topic == topic, TopicSubscription.channel == channel, User.is_active.is_(True))
        .where(Guardianship.id == first_membership)
        .order_by(Guardianship.household_id, User.id)
        .execution_options(yield_per=1000)
    )
    for user, preference, household_id in db.execute(statement):
        details = ContactDetails(user, preference, frozenset())
        address = details.address(channel)
        if not address:
            continue
        # Emergencies ignore quiet hours, so their list carries none.
        quiet_start, quiet_end = (
            (preference.quiet_start or "", preference.quiet_end or "") if topic != Topic.EMERGENCY else ("", "")
        )
        yield ContactRow(
            household_id=household_id,
            guardian_id=user.id,
            name=user.display_name,
            language=user.language,
            interpreter_language=preference.interpreter_language,
            address=address,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
        )


CONTACT_LIST_HEADER = (
    "household_id",
    "guardian_id",
    "name",
    "language",
    "interpreter_language",
    "address",
    "quiet_start",
    "quiet_end",
    "time_zone",
)

"""Everything the portal holds about a household, for the family to download, and as much
of it as a staff member may see (scope.for_staff decides), for staff to download."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.models import AccountNote, AuditEvent, Feedback, Household, Request, RequestMessage, User
from portal.services import scope
from portal.services.households import contacts, directory, notes


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# A staff download is one household, a row per (section, item, field, value); a family's
# covers every household of the guardian (several: shared custody), numbered first.
COLUMNS = ("section", "item", "field", "value")
FAMILY_COLUMNS = ("household", *COLUMNS)


def household_data(db: Session, actor: User) -> dict[str, Any]:
    """The signed-in guardian's households, the first joined first: for each, its people,
    preferences, notes and history."""
    found = directory.households_for_family(db, actor)
    return {"households": [_collect(db, household, staff=None) for household in found]}


def household_data_for_staff(db: Session, actor: User, household_id: int) -> tuple[Household, dict[str, Any]]:
    """The same, less the requests and feedback of departments the staff member does not
    work in, and less the history events about them."""
    staff = scope.for_staff(db, actor)
    household = directory.household_for_staff(db, actor, household_id)
    return household, _collect(db, household, staff=staff)


def _requests(db: Session, household: Household, staff: scope.StaffScope | None) -> list[dict[str, Any]]:
    """The household's requests with their public conversation: never an internal note."""
    statement = (
        (staff.requests() if staff else select(Request))
        .where(Request.household_id == household.id)
        .order_by(Request.created_at)
        .options(selectinload(Request.department))
    )
    found = list(db.scalars(statement))
    messages: dict[int, list[RequestMessage]] = {request.id: [] for request in found}
    if found:
        public = (
            select(RequestMessage)
            .where(RequestMessage.request_id.in_(messages), RequestMessage.is_internal.is_(False))
            .order_by(RequestMessage.id)
            .options(selectinload(RequestMessage.author))
        )
        for message in db.scalars(public):
            messages[message.request_id].append(message)
    return [
        {
            "reference": request.reference,
            "department": request.department.name,
            "subject": request.subject,
            "status": request.status.value,
            "created_at": _when(request.created_at),
            "resolved_at": _when(request.resolved_at),
            "messages": [
                {
                    "at": _when(message.created_at),
                    "by": message.author.display_name if message.author else None,
                    "from_staff": message.from_staff,
                    "text": message.body,
                }
                for message in messages[request.id]
            ],
        }
        for request in found
    ]


def _feedback(db: Session, household: Household, staff: scope.StaffScope | None) -> list[dict[str, Any]]:
    """Feedback sent with the household's name (anonymous feedback is tied to no one)."""
    statement = (
        (staff.feedback() if staff else select(Feedback))
        .where(Feedback.household_id == household.id)
        .order_by(Feedback.created_at)
        .options(selectinload(Feedback.department))
    )
    return [
        {
            "reference": item.reference,
            "kind": item.kind.value,
            "topic": item.department.name if item.department else None,
            "rating": item.rating,
            "text": item.body,
            "may_contact": item.may_contact,
            "status": item.status.value,
            "sent_at": _when(item.created_at),
            "response": item.response,
            "responded_at": _when(item.responded_at),
        }
        for item in db.scalars(statement)
    ]


def _collect(db: Session, household: Household, *, staff: scope.StaffScope | None) -> dict[str, Any]:
    guardians = []
    for membership in household.guardianships:
        user = membership.user
        details = contacts.load_details(db, user)
        guardians.append(
            {
                "name": user.display_name,
                "email": user.email,
                "relationship": membership.relationship_to_students.value,
                "language": user.language,
                "activated_at": _when(user.activated_at),
                "mobile_phone": details.preference.mobile_phone,
                "voice_phone": details.preference.voice_phone,
                "interpreter_language": details.preference.interpreter_language,
                "quiet_hours": [details.preference.quiet_start, details.preference.quiet_end]
                if details.preference.quiet_start
                else None,
                "channels": {
                    topic.value: [channel.value for channel, _address in reaches]
                    for topic, reaches in details.summary()
                },
            }
        )
    family_notes = db.scalars(
        notes.with_history(
            select(AccountNote)
            .where(AccountNote.household_id == household.id)
            .order_by(AccountNote.created_at, AccountNote.id)
        )
    ).unique()
    events = (
        staff.household_events(household.id)
        if staff
        else select(AuditEvent).where(AuditEvent.household_id == household.id)
    )
    history = db.scalars(events.order_by(AuditEvent.created_at, AuditEvent.id))
    return {
        "household": {"name": household.name, "sis_id": household.sis_id, "created_at": _when(household.created_at)},
        "guardians": guardians,
        "students": [
            {
                "name": s.full_name,
                "school": s.school.name if s.school else None,
                "grade": s.grade,
                "sis_id": s.sis_id,
                "enrolled": s.is_active,
                "deactivated_at": _when(s.deactivated_at),
            }
            for s in household.students
        ],
        "notes": [
            {
                "category": note.category.value,
                "text": note.text,
                "revisions": [
                    {
                        "version": r.version,
                        "at": _when(r.created_at),
                        "by": r.author.display_name if r.author else None,
                        "before": r.text_before,
                        "after": r.text_after,
                        "reason": r.reason or None,
                    }
                    for r in note.revisions
                ],
            }
            for note in family_notes
        ],
        "requests": _requests(db, household, staff),
        "feedback": _feedback(db, household, staff),
        "history": [
            {
                "at": _when(event.created_at),
                "action": event.action,
                "by_user_id": event.actor_id,
                "before": event.before,
                "after": event.after,
            }
            for event in history
        ],
    }


def family_rows(data: dict[str, Any]) -> list[list[Any]]:
    """A family's download as rows of (household, section, item, field, value): FAMILY_COLUMNS."""
    return [
        [number, *row] for number, household in enumerate(data["households"], start=1) for row in as_rows(household)
    ]


def as_rows(data: dict[str, Any]) -> list[list[Any]]:
    """One household's data as rows of (section, item, field, value), for a spreadsheet: COLUMNS."""
    rows: list[list[Any]] = [["household", 1, key, value] for key, value in data["household"].items()]
    for section in ("guardians", "students", "notes", "requests", "feedback", "history"):
        for number, item in enumerate(data[section], start=1):
            for key, value in item.items():
                plain = value if isinstance(value, str | int | None) else json.dumps(value, ensure_ascii=False)
                rows.append([section, number, key, plain])
    return rows

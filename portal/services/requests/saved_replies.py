"""Saved replies: the answers a department gives again and again, kept once in English
and the portal's other languages, and offered on a request's page in the family's
language (wholly in it when it was translated, else wholly in English).

A department's lead keeps its department's replies; an administrator keeps every
department's and the district-wide ones (offered to every department). Every staff
member of a department may use them. Replies are archived, not deleted: the audit
trail keeps what they said."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, inspect, or_, select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import Department, DepartmentMember, Guardianship, Request, SavedReply, User
from portal.models.district import Translations
from portal.services import audit, district_cache
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from portal.services.scope import require_staff
from portal.services.text import clean_text
from portal.services.translated import SOURCE_LANGUAGE, clean_translations, merged, translated

TITLE_LIMIT = 80
BODY_LIMIT = 5000
# Only the text is translated: the title is for staff.
TRANSLATED_LIMITS = {"body": BODY_LIMIT}


@dataclass(frozen=True)
class SavedReplyText:
    """What staff write into a saved reply: English, and each other language."""

    department_id: int | None
    title: str
    body: str
    translations: Mapping[str, Mapping[str, str | None]]


@dataclass(frozen=True)
class OfferedReply:
    """A saved reply as a request's page offers it: its title for staff, its text in the
    family's language when it was translated (`in_family_language`), else in English."""

    id: int
    title: str
    body: str
    in_family_language: bool


def departments_kept_by(db: Session, actor: User) -> list[Department]:
    """The departments whose saved replies `actor` keeps: every one for an administrator,
    the departments they lead for staff (none for the others)."""
    require_staff(actor)
    query = select(Department).order_by(Department.name)
    if not actor.is_admin:
        query = query.join(DepartmentMember, DepartmentMember.department_id == Department.id).where(
            DepartmentMember.user_id == actor.id, DepartmentMember.is_supervisor.is_(True)
        )
    return list(db.scalars(query))


def may_keep(db: Session, actor: User) -> bool:
    return actor.is_staff and (actor.is_admin or bool(departments_kept_by(db, actor)))


def _require_keeper(db: Session, actor: User, department_id: int | None) -> None:
    if actor.is_admin:
        return
    if department_id is None or department_id not in {d.id for d in departments_kept_by(db, actor)}:
        raise NotAllowed()


def kept_by(db: Session, actor: User) -> list[tuple[SavedReply, str | None]]:
    """The active replies `actor` keeps, with their department's name (None: every
    department), district-wide first, then by department and title."""
    require_staff(actor)
    query = (
        select(SavedReply, Department.name)
        .outerjoin(Department, Department.id == SavedReply.department_id)
        .where(SavedReply.is_active.is_(True))
        .order_by(SavedReply.department_id.is_not(None), Department.name, SavedReply.title, SavedReply.id)
    )
    if not actor.is_admin:
        kept = [d.id for d in departments_kept_by(db, actor)]
        if not kept:
            raise NotAllowed()
        query = query.where(SavedReply.department_id.in_(kept))
    return [(reply, name) for reply, name in db.execute(query)]


def get_kept(db: Session, actor: User, reply_id: int) -> SavedReply:
    reply = db.get(SavedReply, reply_id)
    if reply is None or not reply.is_active:
        raise NotFound()
    try:
        _require_keeper(db, actor, reply.department_id)
    except NotAllowed:
        raise NotFound(refused=True) from None
    return reply


def _cleaned(text: SavedReplyText, languages: tuple[str, ...]) -> tuple[str, str, dict[str, dict[str, str]]]:
    title = clean_text(
        text.title,
        field="title",
        limit=TITLE_LIMIT,
        missing=_l("Give the reply a title staff will recognise."),
        one_line=True,
    )
    body = clean_text(text.body, field="body", limit=BODY_LIMIT, missing=_l("Write the reply."))
    translations = clean_translations(text.translations, languages=languages, limits=TRANSLATED_LIMITS)
    return title, body, translations


def create(db: Session, actor: User, text: SavedReplyText, *, languages: tuple[str, ...], now: datetime) -> SavedReply:
    _require_keeper(db, actor, text.department_id)
    if text.department_id is not None and db.get(Department, text.department_id) is None:
        raise InvalidInput(field="department_id")
    title, body, translations = _cleaned(text, languages)
    reply = SavedReply(
        department_id=text.department_id,
        title=title,
        body=body,
        translations=translations,
        updated_at=now,
        updated_by_id=actor.id,
    )
    db.add(reply)
    db.flush()
    audit.record(db, actor, "saved_reply.created", reply, now=now, after=_audited(reply))
    return reply


def update(
    db: Session, actor: User, reply: SavedReply, text: SavedReplyText, *, languages: tuple[str, ...], now: datetime
) -> bool:
    """Change a saved reply (its department too, within what `actor` keeps); whether anything changed."""
    _require_keeper(db, actor, reply.department_id)
    _require_keeper(db, actor, text.department_id)
    if text.department_id is not None and db.get(Department, text.department_id) is None:
        raise InvalidInput(field="department_id")
    title, body, translations = _cleaned(text, languages)
    before = _audited(reply)
    reply.department_id = text.department_id
    reply.title, reply.body = title, body
    reply.translations = merged(reply.translations, translations, languages=languages)
    after = _audited(reply)
    if after == before:
        return False
    reply.updated_at, reply.updated_by_id = now, actor.id
    audit.record(db, actor, "saved_reply.changed", reply, now=now, before=before, after=after)
    return True


def archive(db: Session, actor: User, reply: SavedReply, *, now: datetime) -> None:
    _require_keeper(db, actor, reply.department_id)
    reply.is_active = False
    reply.updated_at, reply.updated_by_id = now, actor.id
    audit.record(db, actor, "saved_reply.archived", reply, now=now, before=_audited(reply))


def _audited(reply: SavedReply) -> dict[str, object]:
    return {
        "department_id": reply.department_id,
        "title": reply.title,
        "body": reply.body,
        "translations": reply.translations,
    }


def family_language(db: Session, request: Request) -> str:
    """The language the family reads: the asker's, else the household's first guardian's."""
    if request.author_id is not None:
        # The request pages load the asker with the request: no second read then.
        author = request.author if "author" not in inspect(request).unloaded else db.get(User, request.author_id)
        if author is not None and author.language:
            return author.language
    language = db.scalar(
        select(User.language)
        .join(Guardianship, Guardianship.user_id == User.id)
        .where(Guardianship.household_id == request.household_id)
        .order_by(Guardianship.id)
        .limit(1)
    )
    return language or "en"


# Built once (portal.db, "Statements built once").
_OFFERED = (
    select(SavedReply.id, SavedReply.title, SavedReply.body, SavedReply.translations)
    .where(
        SavedReply.is_active.is_(True),
        or_(SavedReply.department_id == bindparam("department_id"), SavedReply.department_id.is_(None)),
    )
    .order_by(SavedReply.title, SavedReply.id)
)


def offered_for(db: Session, request: Request, language: str) -> list[OfferedReply]:
    """The saved replies of the request's department and the district-wide ones, by title,
    each with its text in `language` when it was translated, else in English. Kept between
    requests (district_cache): every staff request page offers them, and they change a
    few times a term."""
    department_id = request.department_id
    replies = district_cache.kept(
        db,
        ("saved replies", department_id),
        lambda: tuple(db.execute(_OFFERED, {"department_id": department_id})),
    )
    return [_offered(reply, language) for reply in replies]


def _offered(reply: Row[int, str, str, Translations], language: str) -> OfferedReply:
    body = translated(reply, "body", language)
    return OfferedReply(
        reply.id, reply.title, body, in_family_language=language == SOURCE_LANGUAGE or body != reply.body
    )

"""Routing: feedback whose sender was "not sure" of the department goes where the
administrators' keyword rules point, and what no rule matches waits for the triage
group (the department that administrators name for it)."""

import re
import unicodedata
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from portal.catalogs import lazy_gettext as _l
from portal.db import get_row
from portal.models import Department, DistrictSetting, RoutingRule, User
from portal.services import audit, departments, scope
from portal.services.errors import InvalidInput, NotFound
from portal.services.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters

KEYWORDS_MAX_LENGTH = 1000


def _folded(text: str) -> str:
    """Lower case without accents, so "Autobús" matches "autobus"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def keywords_of(rule: RoutingRule) -> list[str]:
    return [word for word in (" ".join(part.split()) for part in rule.keywords.split(",")) if word]


def propose_department(db: Session, text: str) -> Department | None:
    """The department whose rule matches the most keywords of `text` (whole words or
    phrases, ignoring case and accents); the older rule wins a tie; None when none match."""
    folded = " ".join(_folded(text).split())
    best: tuple[int, int, RoutingRule] | None = None
    for rule in db.scalars(select(RoutingRule).order_by(RoutingRule.id).options(selectinload(RoutingRule.department))):
        hits = sum(1 for word in keywords_of(rule) if re.search(rf"(?<!\w){re.escape(_folded(word))}(?!\w)", folded))
        if hits and (best is None or hits > best[0]):
            best = (hits, rule.id, rule)
    return best[2].department if best else None


def triage_department_id(db: Session) -> int | None:
    return departments.triage_department_id(db)


# --- administrators ----------------------------------------------------------


def routing_rules(db: Session) -> list[RoutingRule]:
    return list(db.scalars(select(RoutingRule).order_by(RoutingRule.id).options(selectinload(RoutingRule.department))))


def add_rule(db: Session, actor: User, department_id: int | None, keywords: str, *, now: datetime) -> RoutingRule:
    scope.require_admin(actor)
    department = get_row(db, Department, department_id)
    if department is None:
        raise InvalidInput(_l("Choose a department from the list."), field="department_id")
    if has_control_characters(keywords, multiline=False):
        raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field="keywords")
    words = [" ".join(part.split()) for part in keywords.split(",")]
    words = [word for word in words if word]
    if not words:
        raise InvalidInput(_l("Write at least one word, like “bus, stop, driver”."), field="keywords")
    joined = ", ".join(words)
    if len(joined) > KEYWORDS_MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=KEYWORDS_MAX_LENGTH), field="keywords")
    rule = RoutingRule(department_id=department.id, keywords=joined, created_at=now)
    db.add(rule)
    db.flush()
    audit.record(
        db, actor, "routing_rule.added", rule, now=now, after={"department_id": department.id, "keywords": joined}
    )
    return rule


def remove_rule(db: Session, actor: User, rule_id: int, *, now: datetime) -> None:
    scope.require_admin(actor)
    rule = get_row(db, RoutingRule, rule_id)
    if rule is None:
        raise NotFound()
    audit.record(
        db,
        actor,
        "routing_rule.removed",
        rule,
        now=now,
        before={"department_id": rule.department_id, "keywords": rule.keywords},
    )
    db.execute(delete(RoutingRule).where(RoutingRule.id == rule.id))


def set_triage_department(db: Session, actor: User, department_id: int | None, *, now: datetime) -> DistrictSetting:
    """Name the department whose members sort the feedback no rule routes (None: administrators only)."""
    scope.require_admin(actor)
    if department_id is not None and get_row(db, Department, department_id) is None:
        raise InvalidInput(_l("Choose a department from the list."), field="department_id")
    setting = db.scalar(select(DistrictSetting).limit(1))
    if setting is None:
        setting = DistrictSetting(time_zone=None)
        db.add(setting)
    before = setting.triage_department_id
    if before == department_id:
        return setting
    setting.triage_department_id, setting.updated_at, setting.updated_by_id = department_id, now, actor.id
    db.flush()
    audit.record(
        db,
        actor,
        "feedback.triage_group_changed",
        setting,
        now=now,
        before={"department_id": before},
        after={"department_id": department_id},
    )
    return setting

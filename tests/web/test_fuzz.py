"""Fuzzing every page and every form: hostile input gets a clear answer, never a 5xx,
and never changes another household's data.

The pages come from the app's URL map and the forms from the pages themselves (each
<form method="post"> a page serves, with its fields), so a new page or form is fuzzed
without editing this file; a POST route whose form no page showed is sent field names
of the form classes (PortalForm's subclasses) as well, and the test fails until some page
serves its own form to the fuzzer (FORMLESS_POSTS lists the one exception).

Seven visitors take part: signed out, three half-way through signing in (an activation
code typed, a password that needs a second factor, a staff member who must set one up),
a family (household 1, the attacker), staff and an administrator. Links open with live
tokens (an invitation, a password reset, an email change, a rating link), and the rows
that only some pages show a form for exist (a resolved request, a closure, a routing rule,
a calendar upload waiting for review). Household 2 is the victim: its rows are compared
before and after.

The run is a seeded sample, bounded to about a minute on SQLite; `pytest --fuzz-long`
sends many more requests. The count is in the terminal summary.
"""

import io
import itertools
import json
import random
import re
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from portal import roster_jobs
from portal.blueprints.forms import PortalForm
from portal.db import Base, utcnow
from portal.models import (
    Department,
    DepartmentMember,
    GuardianRelationship,
    Guardianship,
    Household,
    NoteCategory,
    Notification,
    Request,
    RequestStatus,
    SafetyAlert,
    SavedReply,
    Student,
    User,
)
from portal.services import feedback, requests
from portal.services.accounts import email_change
from portal.services.calendar import calendar_import, district_calendar, feed
from portal.services.households import import_jobs, notes
from portal.services.requests import callbacks
from portal.services.safety import alerts
from tests import factories
from tests.conftest import FUZZ_COUNT, Browser
from tests.oneroster_exports import files, guardian, student, zipped
from tests.web.support import CSRF_PATTERN
from tests.web.test_hostile_input import has_nul, stored_text_with

SEED = 14
# Requests per POST form and per GET page in the default run; --fuzz-long multiplies them.
FORM_SAMPLES = 14
PAGE_SAMPLES = 4
LONG_FACTOR = 12

# Every kind of hostile value, as text; bytes are sent as they are (not UTF-8).
HOSTILE_VALUES: dict[str, str | bytes] = {
    "empty": "",
    "blank": " \t ",
    "huge": "x" * 100_000,
    "long line of letters": "é" * 5_000,
    "control characters": "Ana\x07\x1b[2J\x08\x7f Lee",
    "nul": "Ana\x00Lee",
    "c1 control": "Ana\x85\x9bLee",
    "invalid utf-8": b"\xff\xfe\xc3\x28\xa0\xa1",
    "lone surrogate bytes": b"\xed\xa0\x80",
    "arabic-indic digits": "١٢٣",
    "full-width digits": "１２３",
    "2^31": str(2**31),
    "2^63": str(2**63),
    "2^64 and more": "9" * 40,
    "negative": "-1",
    "very negative": str(-(2**63) - 1),
    "zero": "0",
    "float": "1.5e308",
    "not a number": "NaN",
    "date far ahead": "9999-12-31",
    "date zero": "0000-00-00",
    "impossible date": "2030-02-30",
    "time out of range": "25:61",
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "sql": "' OR '1'='1'; DROP TABLE \"user\"; --",
    "like wildcards": "%_%\\",
    "right-to-left override": "Ana\u202eeeL",
    "emoji": "\U0001f600" * 50,
    "url": "//evil.example/%2e%2e",
    "email-ish": "a@b",
    "path": "../../etc/passwd",
    "a name that is no place": "localtime",
}
MARKUP = [HOSTILE_VALUES["script"], HOSTILE_VALUES["attribute"]]
# The values that have broken pages before: every filter of every page gets each of them.
SHARPEST = ["2^31", "2^63", "2^64 and more", "very negative", "arabic-indic digits", "nul", "invalid utf-8", "huge"]
SHARPEST += ["date far ahead"]
# Ways of sending a hostile value for one field, beyond the plain form post.
SHAPES = [
    *["form"] * 4,
    "as served",
    "repeated",
    "missing",
    "file part",
    "file part",
    "json",
    "text/plain",
    "query too",
    "broken multipart",
    "raw bytes",
]
# Path parameters that are not ids, and ids that are no row (or no number).
HOSTILE_SEGMENTS = ["x" * 3000, "%00", "..%2F..%2Fetc", quote("١٢٣"), quote("<script>"), "%FF%FE", "-1"]
HOSTILE_IDS = ["0", str(2**31 - 1), str(2**31), str(2**63), "9" * 40, quote("١٢٣"), quote("１２"), "-1", "1.0"]
PARAMETER = r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>"
# The visitors half-way through signing in, and the one page each of them may open.
HALF_SIGNED_IN = {"activating": "/activate/password", "second factor": "/sign-in/code", "setting up": "/sign-in/set-up"}
# POST routes whose form the fuzzer is never sent to: the sign-out button (a CSRF token and
# nothing else) would end every visit. Every other POST route's form must reach it.
FORMLESS_POSTS = frozenset({"auth.sign_out"})
# Forms served only in the answer to another form, once a choice is made there: the
# endpoint of that first form, and the choice.
FEED_HOST = "calendar.district.example"


@pytest.fixture
def app_config() -> dict[str, object]:
    # A calendar host the operator allowed: the subscription form is on the calendar page.
    return {"CALENDAR_FEED_HOSTS": FEED_HOST}


CHOICES_THAT_OPEN_A_FORM = {"admin_calendar.review_import": {"categories": ["Holiday"]}}
# Query-string names that the pages read (the filters and paging), plus any form field name.
QUERY_NAMES = ["page", "q", "next", "status", "kind", "topic", "channel", "household", "staff", "sort"]


@dataclass
class FormSeen:
    """A <form> as a page served it: where it goes and what a browser would send."""

    action: str
    fields: dict[str, list[str]]  # name -> the values a browser would send as served
    file_fields: set[str] = field(default_factory=set)
    method: str = "post"


class FormParser(HTMLParser):
    """The forms of a page, with the values a browser would send unchanged."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[FormSeen] = []
        self._form: FormSeen | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = FormSeen(a.get("action") or self.page, {}, method=a.get("method", "get").lower())
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "file":
                form.file_fields.add(name)
                form.fields.setdefault(name, [])
            elif kind in ("checkbox", "radio"):
                form.fields.setdefault(name, [])
                if "checked" in a:
                    form.fields[name].append(a.get("value", "on"))
                elif kind == "radio" and not form.fields[name]:
                    form.fields[name] = [a.get("value", "on")]
            elif kind not in ("submit", "button", "image", "reset"):
                form.fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "button" and name and a.get("type", "submit") == "submit":
            form.fields.setdefault(name, [a.get("value", "")])
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
            form.fields.setdefault(name, [])
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                form.fields[self._select].append(value)
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields.setdefault(name, [""])

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] = [self._form.fields[self._textarea][0] + data]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select" and self._select and self._form is not None:
            if not self._select_chosen and self._select_first is not None:
                self._form.fields[self._select].append(self._select_first)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def page_forms(page: str, html: str) -> list[FormSeen]:
    parser = FormParser(page)
    parser.feed(html)
    return parser.forms


def form_class_field_names() -> set[str]:
    """Every field name of every form class: what a POST route with no form on any page is sent."""
    names: set[str] = set()
    pending = list(PortalForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for klass in form_class.__mro__:  # fields come from the class and its bases (unbound until a form is made)
            names.update(name for name, value in vars(klass).items() if hasattr(value, "field_class"))
    return names - {"csrf_token"}


# ---- the district under attack ---------------------------------------------------


@dataclass
class District:
    attacker: Household
    victim: Household
    ids: dict[str, dict[str, list[str]]]  # role -> path parameter name -> ids worth trying
    own_ids: dict[str, list[str]]  # path parameter name -> the ids of pages the visitors may open
    victim_ids: dict[str, list[str]]  # path parameter name -> household 2's ids
    tokens: dict[str, str]  # endpoint -> the live token of its link (an invitation, a reset, ...)
    visitors: dict[str, Any]  # role -> the user, or None for signed out
    activation_code: str  # what the "activating" visitor types at /activate


def _submitted_request(db: Session, household: Household, department: Department, subject: str) -> Request:
    guardian = factories.guardians_of(db, household)[0]
    request, _new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department.id, subject, "When does the bus come?"),
        calendar=district_calendar.load_calendar(db, "America/Los_Angeles"),
        now=utcnow(),
    )
    db.commit()
    return request


def _roster_dry_run(app: Flask, db: Session, admin: User) -> int:
    """A roster import read into its dry run, so that its page serves the approve and discard buttons."""
    export = zipped(files([student("stu-1", "par-1"), guardian("par-1")]))
    max_bytes = app.config["ROSTER_UPLOAD_MAX_BYTES"]
    job = import_jobs.queue(db, admin, "export.zip", export, max_bytes=max_bytes, invite_guardians=True, now=utcnow())
    db.commit()
    with app.app_context():
        roster_jobs.run_next(app)
    return job.id


@pytest.fixture
def district(db: Session, app: Flask) -> District:
    school = factories.make_school(db)
    department = Department(name="Transportation", is_public=True)
    db.add(department)
    db.commit()
    attacker = factories.make_household(db, guardians=1, students=1, name="Attacker family", school=school)
    victim = factories.make_household(db, guardians=2, students=2, name="Victim family", school=school)
    staff = factories.make_staff(db)
    admin = factories.make_admin(db)
    db.add(DepartmentMember(department_id=department.id, user_id=staff.id, is_supervisor=True))
    # On the safety team, so that the administrators' safety page serves its remove button.
    alerts.add_to_team(db, admin, staff.id, now=utcnow())
    db.commit()
    own = _submitted_request(db, attacker, department, "Our bus")
    theirs = _submitted_request(db, victim, department, "Their bus")
    # A safety alert (its page and buttons are the safety team's and the administrators').
    _submitted_request(db, attacker, department, "Someone showed a gun at the bus stop")
    alert_id = db.scalar(select(SafetyAlert.id))
    # Call-backs awaited: on another of the family's requests (its cancel button), and in a
    # third household, whose call the family cannot cancel before staff open their call form.
    window = callbacks.CallbackAsk("213-555-0143", "English", frozenset(range(5)), "08:00", "16:00")
    called = _submitted_request(db, attacker, department, "Please call me")
    callbacks.ask(db, factories.guardians_of(db, attacker)[0], called, window, region="US", now=utcnow())
    third = factories.make_household(db, name="Third family")
    called_too = _submitted_request(db, third, department, "Call us too")
    callbacks.ask(db, factories.guardians_of(db, third)[0], called_too, window, region="US", now=utcnow())
    # A saved reply (the staff member leads the department: its edit and archive forms).
    saved_reply = SavedReply(department_id=department.id, title="Bus stop", body="Two days.", updated_at=utcnow())
    db.add(saved_reply)
    db.commit()
    roster_job_id = _roster_dry_run(app, db, admin)
    students = {
        h.id: list(db.scalars(select(Student.id).where(Student.household_id == h.id))) for h in (attacker, victim)
    }
    attacker_guardian = factories.guardians_of(db, attacker)[0]
    victim_guardians = factories.guardians_of(db, victim)
    notes_made = [
        notes.add_note(
            db, guardian, household.id, notes.NoteEdit(NoteCategory.OTHER, "Call grandma first."), now=utcnow()
        )
        for household, guardian in ((attacker, attacker_guardian), (victim, victim_guardians[0]))
    ]
    db.commit()
    feedback_made = [
        feedback.submit_from_family(
            db,
            guardian,
            feedback.NewFeedback("concern", department.id, school.id, 2, "The bus was late."),
            now=utcnow(),
        )
        for guardian in (attacker_guardian, victim_guardians[0])
    ]
    db.commit()
    with app.app_context():
        links = _links_and_pages_of_every_kind(app, db, attacker, department, staff, admin)
    theirs_too = {
        "household_id": [str(victim.id)],
        "user_id": [str(guardian.id) for guardian in victim_guardians],
        "request_id": [str(theirs.id)],
        "student_id": [str(s) for s in students[victim.id]],
        "note_id": [str(notes_made[1].id)],
        "feedback_id": [str(feedback_made[1].id)],
    }
    ours = {
        "household_id": [str(attacker.id)],
        "user_id": [str(attacker_guardian.id), str(links.newcomer.id), str(staff.id)],
        "request_id": [str(own.id), str(links.resolved.id), str(called.id), str(called_too.id)],
        "student_id": [str(s) for s in students[attacker.id]],
        "note_id": [str(notes_made[0].id)],
        "feedback_id": [str(feedback_made[0].id)],
        "department_id": [str(department.id)],
        "closure_id": [str(links.closure_id)],
        "rule_id": [str(links.rule_id)],
        "import_id": [str(links.import_id)],
        "alert_id": [str(alert_id)],
        "job_id": [str(roster_job_id)],
        "reply_id": [str(saved_reply.id)],
    }
    # The family tries the victim's ids as well as its own; staff and administrators may
    # change any household, so they are sent to household 1's pages only.
    ids = {
        "family": {name: values + theirs_too.get(name, []) for name, values in ours.items()},
        "staff": ours,
        "admin": ours,
        "signed out": {name: values + theirs_too.get(name, []) for name, values in ours.items()},
        **{role: ours for role in HALF_SIGNED_IN},
    }
    return District(
        attacker=attacker,
        victim=victim,
        ids=ids,
        own_ids=ours,
        victim_ids=theirs_too,
        tokens=links.tokens,
        visitors={
            "signed out": None,
            # Half-way through signing in: a code typed, or a password that needs a second factor.
            "activating": links.newcomer,
            "second factor": links.with_two_factor,
            "setting up": links.without_a_factor,
            "family": attacker_guardian,
            "staff": staff,
            "admin": admin,
        },
        activation_code=links.activation_code,
    )


def _resolved_request(
    app: Flask, db: Session, household: Household, department: Department, staff: User, calendar: Any, subject: str
) -> Request:
    request = _submitted_request(db, household, department, subject)
    requests.reply_as_staff(db, staff, request, "Stop 14.", internal=False, calendar=calendar, now=utcnow())
    secret_key = app.config["SECRET_KEY"]
    requests.change_status(
        db, staff, request, RequestStatus.RESOLVED, calendar=calendar, now=utcnow(), secret_key=secret_key
    )
    db.commit()
    return request


@dataclass
class Links:
    """What links and pages of every kind need to open: live tokens, and the rows that
    only some pages show a form for."""

    newcomer: User  # invited to household 1, not yet activated
    activation_code: str
    with_two_factor: User
    without_a_factor: User
    resolved: Request
    closure_id: int
    rule_id: int
    import_id: int
    tokens: dict[str, str]


def _links_and_pages_of_every_kind(
    app: Flask, db: Session, household: Household, department: Department, staff: User, admin: User
) -> Links:
    newcomer = factories.make_user(db, activated=False, name="Newcomer Guardian")
    db.add(
        Guardianship(
            household_id=household.id, user_id=newcomer.id, relationship_to_students=GuardianRelationship.PARENT
        )
    )
    db.commit()
    invitation = factories.invite(db, newcomer, actor=staff)
    # Someone outside both households, whose reset and email-change links the visitors open.
    bystander = factories.make_user(db, name="Bystander")
    email_change.request_change(db, bystander, "moved@example.org", factories.PASSWORD, now=utcnow())
    db.commit()
    confirmation = select(Notification.payload).where(Notification.template == "email_change_confirm")
    email_token = db.scalars(confirmation).one()["token"]
    calendar = district_calendar.load_calendar(db, "America/Los_Angeles")
    resolved, rated_by_link = (
        _resolved_request(app, db, household, department, staff, calendar, subject) for subject in ("Asked", "Rated")
    )
    next_year = utcnow().year + 1
    closure = district_calendar.add_closure(
        db, admin, date(next_year, 1, 2), date(next_year, 1, 3), "Snow days", now=utcnow()
    )
    rule = feedback.add_rule(db, admin, department.id, "bus, stop", now=utcnow())
    upload = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//District//EN\r\nBEGIN:VEVENT\r\nUID:spring@district\r\n"
        f"SUMMARY:Spring break\r\nDTSTAMP:20260801T000000Z\r\nDTSTART;VALUE=DATE:{next_year}0329\r\n"
        f"DTEND;VALUE=DATE:{next_year}0403\r\nCATEGORIES:Holiday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    kept = calendar_import.keep_import(db, admin, "district.ics", calendar_import.parse_calendar(upload), now=utcnow())
    # A subscription to the published calendar, so that its buttons are on the page.
    feed.subscribe(db, admin, f"https://{FEED_HOST}/district.ics", "Holiday", allowed_hosts=[FEED_HOST], now=utcnow())
    with_two_factor = factories.guardians_of(db, factories.make_household(db, name="Two-step family"))[0]
    with_two_factor.totp_secret = factories.TOTP_SECRET
    with_two_factor.totp_enabled_at = utcnow()
    without_a_factor = factories.make_staff(db, two_factor=False)
    db.commit()
    return Links(
        newcomer=newcomer,
        activation_code=invitation.code,
        with_two_factor=with_two_factor,
        without_a_factor=without_a_factor,
        resolved=resolved,
        closure_id=closure.id,
        rule_id=rule.id,
        import_id=kept.id,
        tokens={
            "auth.accept_invitation": invitation.token,
            "auth.reset_password": factories.reset_token(db, bystander),
            "account.confirm_email": email_token,
            "requests.rate_by_link": requests.rating_token(rated_by_link, app.config["SECRET_KEY"]),
        },
    )


def victim_rows(db: Session, household_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the victim household's data: the household, its guardians' accounts
    and contact choices, students, notes, requests and their messages, feedback."""
    db.expire_all()
    users = set(db.scalars(select(Guardianship.user_id).where(Guardianship.household_id == household_id)))
    owners: dict[str, set[int]] = {"household_id": {household_id}, "user_id": users, "recipient_id": users}
    owners["request_id"] = set(db.scalars(select(Request.id).where(Request.household_id == household_id)))
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    logs = {"audit_event", "security_event"}  # records of what was tried, not the family's data
    for table in Base.metadata.sorted_tables:
        if table.name in logs:
            continue
        if table.name == "household":
            condition = table.c.id == household_id
        elif table.name == "user":
            condition = table.c.id.in_(users)
        else:
            keys = [table.c[name].in_(ids) for name, ids in owners.items() if name in table.c]
            if not keys:
                continue
            condition = or_(*keys)
        rows = db.execute(select(table).where(condition)).all()
        snapshot[table.name] = sorted((tuple(repr(v) for v in row) for row in rows), key=repr)
        if table.name == "account_note":
            owners["note_id"] = {row.id for row in rows}
        if table.name == "feedback":
            owners["feedback_id"] = {row.id for row in rows}
    return snapshot


# ---- sending -----------------------------------------------------------------------


@dataclass
class Fuzzer:
    app: Flask
    district: District
    rng: random.Random
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    addresses: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def client_for(self, role: str) -> tuple[FlaskClient, str]:
        client = self.app.test_client()
        user = self.district.visitors[role]
        browser = Browser(client, self.app)
        if role == "activating":
            browser.submit("/activate", {"code": self.district.activation_code})
        elif role in HALF_SIGNED_IN:
            browser.submit("/sign-in", {"email": user.email, "password": factories.PASSWORD})
        elif user is not None:
            browser.sign_in(user.email)
        return client, self.token(client, HALF_SIGNED_IN.get(role))

    def token(self, client: FlaskClient, page: str | None = None) -> str:
        served = client.get(page or ("/sign-in" if self.is_anonymous(client) else "/password"))
        match = CSRF_PATTERN.search(served.get_data(as_text=True))
        if match is None:  # the family's and staff's pages all carry the sign-out form
            match = CSRF_PATTERN.search(client.get("/").get_data(as_text=True))
        assert match, "no page served a CSRF token"
        return match.group(1)

    @staticmethod
    def is_anonymous(client: FlaskClient) -> bool:
        return client.get_cookie("portal_session") is None

    def send(
        self, client: FlaskClient, role: str, method: str, path: str, what: str, **kwargs: Any
    ) -> TestResponse | None:
        self.sent += 1
        if role == "signed out":  # a new address each time, so that the rate limits let the form answer
            number = next(self.addresses)
            kwargs["environ_base"] = {"REMOTE_ADDR": f"10.{number // 250 % 250}.{number % 250}.7"}
        try:
            response = client.open(path, method=method, **kwargs)
        except Exception as error:
            where = traceback.extract_tb(error.__traceback__)[-1]
            self.failures.append(
                f"{role} {method} {path[:120]} [{what}]: {type(error).__name__}: {str(error)[:160]}"
                f" at {where.filename.rsplit('/', 2)[-1]}:{where.lineno}"
            )
            return None
        self.answers[response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(f"{role} {method} {path[:120]} [{what}]: answered {response.status_code}")
        elif "html" in response.content_type and any(markup in response.get_data(as_text=True) for markup in MARKUP):
            self.failures.append(f"{role} {method} {path[:120]} [{what}]: markup came back unescaped")
        return response

    # -- pages --

    def path_for(self, role: str, rule: Rule, hostile: bool) -> str:
        """`rule` with its parameters filled: an id worth trying, or hostile segments."""

        def fill(match: re.Match[str]) -> str:
            converter, name = (match.group(1) or "", match.group(2))
            if hostile:
                return self.rng.choice(HOSTILE_IDS if converter == "int" else HOSTILE_SEGMENTS)
            if converter == "int":
                return self.rng.choice(self.district.ids[role].get(name, ["1"]))
            return self.district.tokens.get(rule.endpoint, "token")

        return re.sub(PARAMETER, fill, rule.rule)

    def linked_paths(self, rule: Rule) -> list[str]:
        """`rule` as the pages link it: every combination of the visitors' own ids, and
        the live token of its link."""
        ids = [m.group(2) for m in re.finditer(PARAMETER, rule.rule) if m.group(1) == "int"]
        choices = [self.district.own_ids.get(name, ["1"]) for name in ids]
        token = self.district.tokens.get(rule.endpoint, "token")

        def filled(combination: tuple[str, ...]) -> str:
            values = iter(combination)
            return re.sub(PARAMETER, lambda m: next(values) if m.group(1) == "int" else token, rule.rule)

        return [filled(combination) for combination in itertools.product(*choices)]

    def value_name(self) -> str:
        return self.rng.choice(SHARPEST if self.rng.random() < 0.4 else list(HOSTILE_VALUES))

    def hostile_query(self, filters: dict[str, list[str]], names: list[str]) -> str:
        """The page's own filters as served (if it has a search form), one to three of
        them, or of the names pages read, with hostile values, some of them repeated."""
        query: dict[str, list[str | bytes]] = {name: list(values) for name, values in filters.items()}
        for _ in range(self.rng.randint(1, 3)):
            name = self.rng.choice(list(filters) if filters and self.rng.random() < 0.7 else names)
            value = HOSTILE_VALUES[self.value_name()]
            if isinstance(value, str) and len(value) > 4000:
                value = value[:4000]  # a URL that long is refused by servers before the app
            query[name] = [value, value] if self.rng.random() < 0.2 else [value]
        return urlencode([(name, value) for name, values in query.items() for value in values])

    # -- forms --

    def hostile_post(
        self, client: FlaskClient, role: str, token: str, form: FormSeen, names: list[str], shape: str | None = None
    ) -> None:
        """Send `form` back with one field made hostile, in one of the SHAPES."""
        target = self.rng.choice(names)
        value_name = self.value_name()
        value = HOSTILE_VALUES[value_name]
        shape = shape or self.rng.choice(SHAPES)
        base: dict[str, list[str | bytes]] = {name: list(values) for name, values in form.fields.items()}
        base.pop("csrf_token", None)
        what = f"{target}={value_name} as {shape}"
        path = form.action
        if shape == "missing":
            base.pop(target, None)
        elif shape == "repeated":
            base[target] = [*(base.get(target, [])[:1] or ["1"]), value, value]
        elif shape not in ("file part", "as served"):
            base[target] = [value]
        if shape == "query too":
            path += ("&" if "?" in path else "?") + urlencode([(target, value)])
        pairs = [("csrf_token", token)] + [(name, v) for name, values in base.items() for v in values]
        # The token in the header too: a body that is not a form still gets past CSRF to the form.
        post = {"headers": {"X-CSRFToken": token}}
        if shape == "file part" or (form.file_fields and self.rng.random() < 0.5):
            data: dict[str, Any] = {}
            for name, v in pairs:
                if name not in form.file_fields:
                    data.setdefault(name, []).append(v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
            raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
            for name in form.file_fields | ({target} if shape == "file part" else set()):
                data[name] = (io.BytesIO(raw), "hostile.csv", "text/csv")
            post.update(data=data, content_type="multipart/form-data")
        elif shape == "json":
            body = {name: (v.decode("latin-1") if isinstance(v, bytes) else v) for name, v in pairs}
            body[target] = self.rng.choice([body.get(target, ""), [1, 2], {"a": 1}, None, 2**70, True])
            post.update(data=json.dumps(body), content_type="application/json")
        elif shape == "text/plain":
            post.update(data=urlencode(pairs), content_type="text/plain")
        elif shape == "broken multipart":
            body = f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--x\r\n'
            body += f'Content-Disposition: form-data; name="{target}"\r\n\r\nabc'  # never closed
            post.update(data=body.encode(), content_type="multipart/form-data; boundary=x")
        elif shape == "raw bytes":  # not percent-encoded, as a broken client sends them
            raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
            body_bytes = urlencode([pair for pair in pairs if pair[0] != target]).encode() + b"&" + target.encode()
            post.update(data=body_bytes + b"=" + raw, content_type="application/x-www-form-urlencoded")
        else:
            post.update(data=urlencode(pairs), content_type="application/x-www-form-urlencoded")
        self.send(client, role, "POST", path, what, **post)


@dataclass
class Visit:
    """One visitor's browser: the client, its CSRF token, signed in again when a form ended the session."""

    fuzzer: Fuzzer
    role: str
    client: FlaskClient = field(init=False)
    token: str = field(init=False)

    def __post_init__(self) -> None:
        self.client, self.token = self.fuzzer.client_for(self.role)

    def send(self, method: str, path: str, what: str, **kwargs: Any) -> TestResponse | None:
        return self.fuzzer.send(self.client, self.role, method, path, what, **kwargs)

    def post(self, form: FormSeen, names: list[str], shape: str | None = None) -> None:
        self.fuzzer.hostile_post(self.client, self.role, self.token, form, names, shape)
        if self.role in HALF_SIGNED_IN:
            # A wrong code, or too many, can end the half-way state: start it again.
            if self.client.get(HALF_SIGNED_IN[self.role]).status_code != 200:
                self.client, self.token = self.fuzzer.client_for(self.role)
        elif self.role != "signed out" and self.fuzzer.is_anonymous(self.client):
            self.client, self.token = self.fuzzer.client_for(self.role)

    def sign_in_again_if_signed_out(self) -> None:
        if self.role == "signed out" or self.role in HALF_SIGNED_IN:
            return
        answer = self.client.get("/password")
        if answer.status_code == 302 and "/sign-in" in answer.headers["Location"]:
            self.client, self.token = self.fuzzer.client_for(self.role)


FormKey = tuple[str, frozenset[str]]


def fuzz_pages(visit: Visit, rules: list[Rule], names: list[str], factor: int) -> dict[FormKey, FormSeen]:
    """Each GET route as linked, then every filter of its search form with the sharpest
    values, then hostile ids and query strings. Returns the post forms the pages served."""
    fuzzer, forms = visit.fuzzer, {}
    for rule in rules:
        if "GET" not in (rule.methods or ()) or rule.endpoint in ("static", "assets.serve"):
            continue
        filters: dict[str, list[str]] = {}
        for path in fuzzer.linked_paths(rule):
            response = visit.send("GET", path, "as linked")
            if response is not None and response.status_code == 200 and "html" in response.content_type:
                for form in page_forms(path, response.get_data(as_text=True)):
                    if form.method == "get":
                        filters.update(form.fields)
                    elif not form.action.startswith("/sign-out"):  # signing out would end the visit
                        forms.setdefault((urlsplit(form.action).path, frozenset(form.fields)), form)
        for name, value_name in itertools.product(filters, SHARPEST):
            value = HOSTILE_VALUES[value_name]
            query = urlencode({**{n: v[0] for n, v in filters.items() if v}, name: value[:4000]})
            visit.send("GET", f"{fuzzer.linked_paths(rule)[0]}?{query}", f"{name}={value_name}")
        for _ in range(PAGE_SAMPLES * factor):
            path = fuzzer.path_for(visit.role, rule, hostile=fuzzer.rng.random() < 0.3)
            visit.send("GET", f"{path}?{fuzzer.hostile_query(filters, names)}", "hostile query")
    return forms


def forms_behind_choices(visit: Visit, forms: dict[FormKey, FormSeen]) -> dict[FormKey, FormSeen]:
    """The forms that the answers to CHOICES_THAT_OPEN_A_FORM serve."""
    behind: dict[FormKey, FormSeen] = {}
    for endpoint, form in post_endpoints(visit.fuzzer.app, forms).items():
        if endpoint not in CHOICES_THAT_OPEN_A_FORM:
            continue
        fields = {**form.fields, **CHOICES_THAT_OPEN_A_FORM[endpoint], "csrf_token": [visit.token]}
        answer = visit.send("POST", form.action, "a choice that opens a form", data=fields)
        assert answer is not None and answer.status_code == 200, f"{form.action} did not answer the choice"
        for opened in page_forms(form.action, answer.get_data(as_text=True)):
            if opened.method == "post" and not opened.action.startswith("/sign-out"):
                behind.setdefault((urlsplit(opened.action).path, frozenset(opened.fields)), opened)
    return behind


def fuzz_forms(visit: Visit, forms: dict[FormKey, FormSeen], factor: int) -> None:
    for form in forms.values():
        names = [name for name in form.fields if name != "csrf_token"] or ["x"]
        for _ in range(FORM_SAMPLES * factor):
            visit.post(form, names)
        visit.sign_in_again_if_signed_out()


def post_endpoints(app: Flask, forms: dict[FormKey, FormSeen]) -> dict[str, FormSeen]:
    adapter = app.url_map.bind("portal.test")
    return {adapter.match(path, method="POST")[0]: form for (path, _names), form in forms.items()}


def fuzz_formless_routes(
    visit: Visit, rules: list[Rule], shown: dict[str, FormSeen], class_field_names: list[str], factor: int
) -> None:
    """POST routes that no page showed this visitor a form for: the field names of every form class."""
    fuzzer = visit.fuzzer
    for rule in rules:
        if "POST" not in (rule.methods or ()) or rule.endpoint in shown or rule.endpoint == "auth.sign_out":
            continue
        fields = {name: ["1"] for name in fuzzer.rng.sample(class_field_names, min(8, len(class_field_names)))}
        for _ in range(max(1, FORM_SAMPLES * factor // 4)):
            path = fuzzer.path_for(visit.role, rule, hostile=fuzzer.rng.random() < 0.3)
            visit.post(FormSeen(path, fields), list(fields))
        visit.sign_in_again_if_signed_out()


def attack_the_other_household(visit: Visit, rules: list[Rule], shown: dict[str, FormSeen], factor: int) -> None:
    """The family sends its own forms, as served and made hostile, to every POST route
    with household 2's ids in the path instead of its own."""
    fuzzer = visit.fuzzer
    for rule in rules:
        if "POST" not in (rule.methods or ()) or "<int:" not in rule.rule:
            continue
        path = re.sub(
            r"<int:(\w+)>", lambda m: fuzzer.rng.choice(fuzzer.district.victim_ids.get(m.group(1), ["1"])), rule.rule
        )
        form = shown.get(rule.endpoint) or FormSeen(path, {"text": ["Hello"], "body": ["Hello"]})
        victim_form = FormSeen(path, form.fields, form.file_fields)
        names = [name for name in form.fields if name != "csrf_token"] or ["x"]
        visit.post(victim_form, names, shape="as served")
        for _ in range(max(1, FORM_SAMPLES * factor // 4)):
            visit.post(victim_form, names)
        visit.sign_in_again_if_signed_out()


@pytest.fixture
def fuzz_long(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--fuzz-long", default=False))


def test_no_hostile_request_gets_a_5xx_or_changes_another_households_data(app, db, district, fuzz_long, request):
    factor = LONG_FACTOR if fuzz_long else 1
    fuzzer = Fuzzer(app, district, random.Random(SEED))
    before = victim_rows(db, district.victim.id)
    watched = ("household", "user", "guardianship", "student", "account_note", "request", "request_message", "feedback")
    assert [table for table in watched if not before.get(table)] == [], "household 2 has nothing to watch"
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)
    class_field_names = sorted(form_class_field_names())
    forms_seen: set[str] = set()
    endpoints_fuzzed: set[str] = set()
    for role in district.visitors:
        visit = Visit(fuzzer, role)
        if role in HALF_SIGNED_IN:  # every other page sends them back to signing in
            own_page = [rule for rule in rules if rule.rule == HALF_SIGNED_IN[role]]
            forms = fuzz_pages(visit, own_page, QUERY_NAMES, factor)
            fuzz_forms(visit, forms, factor)
            endpoints_fuzzed.update(post_endpoints(app, forms))
            continue
        forms = fuzz_pages(visit, rules, QUERY_NAMES + class_field_names, factor)
        forms.update(forms_behind_choices(visit, forms))
        forms_seen.update(path for path, _names in forms)
        fuzz_forms(visit, forms, factor)
        shown = post_endpoints(app, forms)
        endpoints_fuzzed.update(shown)
        fuzz_formless_routes(visit, rules, shown, class_field_names, factor)
        if role == "family":
            attack_the_other_household(visit, rules, shown, factor)
    after = victim_rows(db, district.victim.id)
    changed = {
        table: {
            "gone": [row[:6] for row in before[table] if row not in after[table]][:3],
            "new": [row[:6] for row in after[table] if row not in before[table]][:3],
        }
        for table in before
        if before[table] != after[table]
    }
    request.node.user_properties.append((FUZZ_COUNT, (fuzzer.sent, len(fuzzer.failures))))
    summary = (
        f"{fuzzer.sent} requests to {len(forms_seen)} form addresses and {len(rules)} routes,"
        f" {len(fuzzer.failures)} failed; answers: {dict(sorted(fuzzer.answers.items()))}"
    )
    print(f"\nfuzz: {summary}")
    assert fuzzer.failures == [], summary + "\n" + "\n".join(fuzzer.failures[:40])
    assert changed == {}, f"household 2's data changed ({summary})"
    assert stored_text_with(db, has_nul) == [], "a NUL byte was stored"
    assert len(forms_seen) >= 30, f"only {len(forms_seen)} forms were found on the pages"
    post_routes = {rule.endpoint for rule in rules if "POST" in (rule.methods or ())}
    never_served = sorted(post_routes - endpoints_fuzzed - FORMLESS_POSTS)
    assert never_served == [], f"these forms were never served to the fuzzer: {never_served}"

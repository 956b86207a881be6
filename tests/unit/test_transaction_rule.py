"""The transaction rule (docs/architecture.md): services flush and raise typed errors; the
request's boundary (the helpers in portal/blueprints/forms.py) commits or rolls back.
Checked in the source, and the helpers themselves."""

import ast
from pathlib import Path

import pytest
from flask import Flask, get_flashed_messages
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.blueprints.admin_people.forms import SchoolForm
from portal.blueprints.forms import save, save_or_flash, save_or_refuse, save_or_show_error
from portal.models import School
from portal.services.errors import DomainError, InvalidInput, InvalidToken, NotFound

PORTAL = Path(__file__).resolve().parents[2] / "portal"

# Commits outside the helpers carry a comment with "commit:" saying why (the access log,
# security events, what a GET keeps), on their line or the line above.
BLUEPRINT_HELPERS = "forms.py"


def _transaction_calls(path: Path) -> list[tuple[int, str]]:
    """(line, "commit" or "rollback") for each such call in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return sorted(
        (node.lineno, node.func.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    )


def test_services_never_commit_or_roll_back() -> None:
    # The mail worker's commit per message is in portal/mail.py, a boundary of its own.
    services = PORTAL / "services"
    found = [
        f"portal/services/{path.relative_to(services).as_posix()}:{line}: .{method}()"
        for path in sorted(services.rglob("*.py"))
        for line, method in _transaction_calls(path)
    ]
    assert found == [], "services flush; the request or the command commits"


def test_views_save_through_the_helpers_or_say_why() -> None:
    blueprints = PORTAL / "blueprints"
    found = []
    for path in sorted(blueprints.rglob("*.py")):
        if path.relative_to(blueprints).as_posix() == BLUEPRINT_HELPERS:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for line, method in _transaction_calls(path):
            said = lines[line - 1] + (lines[line - 2] if line > 1 else "")
            if "# commit:" not in said:
                found.append(f"portal/blueprints/{path.relative_to(blueprints).as_posix()}:{line}: .{method}()")
    assert found == [], "save with the helpers in portal/blueprints/forms.py, or say why with '# commit: ...'"


# --- the helpers ------------------------------------------------------------------


def _schools(db: Session) -> list[str]:
    db.rollback()  # read what is committed, from the test's own session
    return sorted(db.scalars(select(School.name)))


def _add(name: str, *, then: DomainError | None = None):  # type: ignore[no-untyped-def]
    def change(session: Session) -> School:
        school = School(name=name)
        session.add(school)
        session.flush()
        if then is not None:
            raise then
        return school

    return change


def test_a_saved_change_is_committed(app: Flask, db: Session) -> None:
    with app.test_request_context(method="POST", data={"name": "Oak"}):
        form = SchoolForm(meta={"csrf": False})
        saved = save_or_show_error(form, _add("Oak"))
        assert saved is not None and saved.name == "Oak"
        assert form.errors == {}
    assert _schools(db) == ["Oak"]


def test_a_refused_change_is_rolled_back_and_shown_next_to_its_field(app: Flask, db: Session) -> None:
    with app.test_request_context(method="POST", data={"name": "Oak"}):
        form = SchoolForm(meta={"csrf": False})
        refused = save_or_show_error(form, _add("Oak", then=InvalidInput("Not this one.", field="code")))
        assert refused is None
        assert form.code.errors == ["Not this one."]
    assert _schools(db) == []


def test_what_on_refused_records_is_committed_and_the_change_is_not(app: Flask, db: Session) -> None:
    seen: list[DomainError] = []

    def record_attempt(session: Session, error: DomainError) -> None:
        seen.append(error)
        session.add(School(name="Failed attempt"))

    with app.test_request_context(method="POST", data={"name": "Oak"}):
        form = SchoolForm(meta={"csrf": False})
        error = InvalidInput("Not this one.", field="name")
        assert save_or_show_error(form, _add("Oak", then=error), on_refused=record_attempt) is None
        assert form.name.errors == ["Not this one."]
    assert seen == [error]
    assert _schools(db) == ["Failed attempt"]


def test_save_or_refuse_returns_the_error_for_a_page_of_its_own(app: Flask, db: Session) -> None:
    with app.test_request_context():
        outcome = save_or_refuse(_add("Oak", then=InvalidToken()))
        assert isinstance(outcome, InvalidToken)
        assert isinstance(save_or_refuse(_add("Elm")), School)
    assert _schools(db) == ["Elm"]


def test_save_or_refuse_lets_other_errors_go_to_the_error_pages(app: Flask, db: Session) -> None:
    with app.test_request_context(), pytest.raises(NotFound):
        save_or_refuse(_add("Oak", then=NotFound()), refusals=InvalidToken)


def test_save_or_flash_flashes_a_refusal(app: Flask, db: Session) -> None:
    with app.test_request_context():
        assert save_or_flash(_add("Oak", then=InvalidInput("Not now."))) is None
        assert get_flashed_messages(with_categories=True) == [("error", "Not now.")]
    with app.test_request_context():
        assert save_or_flash(_add("Elm")) is not None
        assert get_flashed_messages() == []
    assert _schools(db) == ["Elm"]


def test_save_commits_and_leaves_a_refusal_to_the_error_pages(app: Flask, db: Session) -> None:
    with app.test_request_context():
        assert save(_add("Elm")).name == "Elm"
    with app.test_request_context(), pytest.raises(NotFound):
        save(_add("Oak", then=NotFound()))
    assert _schools(db) == ["Elm"]


def _add_unless_there(name: str, *, twin_first: bool = False):  # type: ignore[no-untyped-def]
    """A change that checks, then inserts; with `twin_first`, another request commits the
    same school between its check and its insert, the first time it runs."""
    runs: list[int] = []

    def change(session: Session) -> School:
        runs.append(1)
        earlier = session.scalar(select(School).where(School.name == name))
        if earlier is not None:
            return earlier
        if twin_first and len(runs) == 1:
            with session.get_bind().connect() as other:  # type: ignore[union-attr]
                other.execute(School.__table__.insert().values(name=name))
                other.commit()
        school = School(name=name)
        session.add(school)
        session.flush()
        return school

    change.runs = runs  # type: ignore[attr-defined]
    return change


@pytest.mark.parametrize("helper", ["save", "save_or_refuse", "save_or_flash"])
def test_a_change_that_loses_a_race_on_a_unique_key_is_run_again_and_finds_the_winner(
    app: Flask, db: Session, helper: str
) -> None:
    change = _add_unless_there("Oak", twin_first=True)
    with app.test_request_context():
        saved = {"save": save, "save_or_refuse": save_or_refuse, "save_or_flash": save_or_flash}[helper](change)
        assert isinstance(saved, School) and saved.name == "Oak"
        assert get_flashed_messages() == []
    assert len(change.runs) == 2
    assert _schools(db) == ["Oak"]


def test_a_conflict_that_is_no_race_fails_again_and_saves_nothing(app: Flask, db: Session) -> None:
    db.add(School(name="Oak", code="OAK"))
    db.commit()
    runs = []

    def same_code(session: Session) -> School:
        runs.append(1)
        school = School(name=f"Elm {len(runs)}", code="OAK")
        session.add(school)
        session.flush()
        return school

    with app.test_request_context(), pytest.raises(IntegrityError):
        save(same_code)
    assert len(runs) == 2
    assert _schools(db) == ["Oak"]

"""Command-line tasks: init-db, seed-demo and create-household, through Flask's CLI runner."""

import re

import pytest
from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from portal.cli import alembic_config
from portal.db import Base, compared_with_models, get_engine, schema_change
from portal.models import AuditEvent, Household, Invitation, Notification, Role, Student, User
from portal.services import accounts
from portal.services.accounts import passwords
from tests import factories
from tests.conftest import Browser

CODE = re.compile(r"activation code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")


def row_counts(db) -> dict[str, int]:
    db.expire_all()
    return {table.name: db.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables}


# init-db -------------------------------------------------------------------------------


@pytest.fixture
def empty_database(app):
    """The test database with every table dropped, as a fresh file would be."""
    with app.app_context():
        engine = get_engine()
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        assert inspect(engine).get_table_names() == []
    return app


def test_init_db_builds_the_schema_with_the_migrations(empty_database, runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "newest schema" in result.output
    with empty_database.app_context():
        tables = set(inspect(get_engine()).get_table_names())
    assert tables == {table.name for table in Base.metadata.sorted_tables} | {"alembic_version"}


def test_the_migrated_schema_matches_the_models(empty_database, runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    with empty_database.app_context(), get_engine().connect() as connection:
        options = {"compare_type": True, "include_object": compared_with_models}
        context = MigrationContext.configure(connection, opts=options)
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "a model change has no migration:\n" + "\n".join(map(str, differences))


def rows_in_each_table(connection) -> dict[str, int]:
    names = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return {name: connection.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in sorted(names)}


def test_each_downgrade_keeps_the_rows_of_the_tables_it_leaves(empty_database, runner):
    """Step down one migration at a time from a loaded demo district, then back up: no
    step may lose a row of a table it keeps. (On SQLite a batch copy of a table that
    others reference, with foreign keys on, deletes every cascading row.)"""
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    config = alembic_config()
    revisions = [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()]
    with empty_database.app_context(), schema_change(get_engine()) as connection:
        config.attributes["connection"] = connection
        at_head = rows_in_each_table(connection)
        try:
            for revision in revisions[:-1]:
                before = rows_in_each_table(connection)
                alembic_command.downgrade(config, "-1")
                after = rows_in_each_table(connection)
                kept = {name: before[name] for name in after}
                assert after == kept, f"downgrading {revision} lost rows"
        finally:
            alembic_command.upgrade(config, "head")
        back_at_head = rows_in_each_table(connection)
    lasting = {name for name in at_head if name in after}
    assert {name: back_at_head[name] for name in lasting} == {name: at_head[name] for name in lasting}
    assert after["household"] > 0 and after["student"] > 0, "the oldest schema kept the demo district"


def test_a_schema_change_that_breaks_a_reference_on_sqlite_is_rolled_back_whole(app, db):
    """Foreign keys are off on SQLite while the migrations run; what they would have
    refused is found before the commit, and the whole change is undone, the tables it made
    and altered too. (PostgreSQL checks every reference as it goes.)"""
    factories.make_household(db, students=1)
    db.commit()
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL keeps its foreign keys on through a schema change")
        with engine.connect() as connection:
            before = rows_in_each_table(connection)
        with pytest.raises(RuntimeError, match="broke 1 references"), schema_change(engine) as connection:
            connection.execute(text("CREATE TABLE made_by_the_change (id INTEGER PRIMARY KEY)"))
            connection.execute(text("ALTER TABLE household ADD COLUMN added_by_the_change INTEGER"))
            connection.execute(text("UPDATE student SET household_id = 999999"))
        with engine.connect() as connection:
            assert rows_in_each_table(connection) == before
            assert "added_by_the_change" not in {
                column["name"] for column in inspect(connection).get_columns("household")
            }
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_schema_change_on_sqlite_commits_tables_columns_and_rows_together(app):
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name != "sqlite":
            pytest.skip("SQLite's own transactions")
        with schema_change(engine) as connection:
            connection.execute(text("CREATE TABLE made_by_the_change (id INTEGER PRIMARY KEY)"))
            connection.execute(text("INSERT INTO made_by_the_change (id) VALUES (1)"))
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM made_by_the_change")) == 1
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.connection.driver_connection.isolation_level == ""  # the driver's own handling, back


def test_init_db_twice_changes_nothing(empty_database, runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0, second.output


# seed-demo -----------------------------------------------------------------------------


def test_seed_demo_loads_the_district_and_prints_the_sign_ins(db, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for email in ("parent@example.org", "staff@example.org", "admin@example.org"):
        assert email in result.output
    counts = row_counts(db)
    assert counts["household"] >= 2
    assert counts["student"] >= 2
    assert counts["school"] >= 1
    assert counts["department"] >= 1
    parent = accounts.find_user_by_email(db, "parent@example.org")
    assert parent.role == Role.FAMILY
    assert accounts.find_user_by_email(db, "staff@example.org").role == Role.STAFF
    assert accounts.find_user_by_email(db, "admin@example.org").role == Role.ADMIN


def test_seed_demo_a_second_time_changes_nothing(db, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = row_counts(db)
    again = runner.invoke(args=["seed-demo", "--password", "a different demo password"])
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output
    assert row_counts(db) == before
    parent = accounts.find_user_by_email(db, "parent@example.org")
    assert passwords.verify_password(parent.password_hash, "demo-password")


def test_seed_demo_with_a_password_lets_the_demo_accounts_sign_in_with_it(app, db, runner):
    password = "purple elephants dance at noon"
    result = runner.invoke(args=["seed-demo", "--password", password])
    assert result.exit_code == 0, result.output
    assert password in result.output
    for email, home in [
        ("parent@example.org", "/family/"),
        ("staff@example.org", "/staff/"),
        ("admin@example.org", "/admin/"),
    ]:
        user = accounts.find_user_by_email(db, email)
        assert not passwords.verify_password(user.password_hash, "demo-password"), email
        browser = Browser(app.test_client(), app)
        signed_in = browser.sign_in(email, password)  # with the demo second factor for staff and admins
        assert signed_in.headers["Location"] == home, email


# create-household ------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return factories.make_staff(db, email="office@district.example")


def create_household(runner, *args):
    return runner.invoke(args=["create-household", "--as", "office@district.example", *args])


def test_create_household_creates_it_and_prints_each_guardians_activation_code(db, runner, staff):
    result = create_household(
        runner,
        "--name",
        "García family",
        "--guardian",
        "María García:maria@example.org:mother",
        "--guardian",
        "José García:jose@example.org",
        "--student",
        "Diego:García:K",
        "--student",
        "Lucía:García",
    )
    assert result.exit_code == 0, result.output
    db.expire_all()
    household = db.scalar(select(Household))
    assert household.name == "García family"
    assert f"Household {household.id} created" in result.output
    guardians = factories.guardians_of(db, household)
    assert [g.email for g in guardians] == ["maria@example.org", "jose@example.org"]
    assert all(g.password_hash is None for g in guardians)
    students = db.scalars(select(Student).order_by(Student.id)).all()
    assert [(s.full_name, s.grade) for s in students] == [("Diego García", "K"), ("Lucía García", "")]
    codes = CODE.findall(result.output)
    assert len(codes) == 2
    assert "maria@example.org: activation code" in result.output
    for code, guardian in zip(codes, guardians, strict=True):
        invitation = accounts.invitation_by_code(
            db, code, now=household.created_at, secret_key=runner.app.config["SECRET_KEY"]
        )
        assert invitation.user_id == guardian.id
    assert db.scalar(select(func.count()).select_from(Notification)) == 2
    assert db.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "household.created")) == staff.id


BAD_INPUT = {
    "guardian without email": (["--guardian", "no colon here"], "NAME:EMAIL"),
    "empty guardian parts": (["--guardian", "Ana::"], "NAME:EMAIL"),
    "unknown relationship": (["--guardian", "Ana:ana@example.org:cousin"], "relationship"),
    "student without last name": (["--guardian", "Ana:ana@example.org", "--student", "Bo"], "FIRST:LAST"),
    "email in use": (["--guardian", "Ana:taken@example.org"], "already exists"),
    "invalid email": (["--guardian", "Ana:not-an-email"], "email"),
    "unknown grade": (["--guardian", "Ana:ana@example.org", "--student", "Bo:Lee:grade twelve"], "grade"),
    "empty name": (["--guardian", "Ana:ana@example.org", "--name", ""], "name"),
    "blank name": (["--guardian", "Ana:ana@example.org", "--name", "   "], "name"),
}


def test_create_household_with_bad_input_exits_non_zero_with_a_message(db, runner, staff):
    factories.make_user(db, email="taken@example.org")
    before = row_counts(db)
    accepted = {}
    for case, (arguments, message) in BAD_INPUT.items():
        result = create_household(runner, "--name", "Lee family", *arguments)
        if result.exit_code == 0 or message.lower() not in result.output.lower() or "Traceback" in result.output:
            accepted[case] = (result.exit_code, result.output.strip()[:120])
    assert accepted == {}
    assert row_counts(db) == before


def test_create_household_must_be_run_as_a_staff_member(db, runner):
    family = factories.make_user(db)
    result = runner.invoke(
        args=["create-household", "--as", family.email, "--name", "X", "--guardian", "Ana:ana@example.org"]
    )
    assert result.exit_code != 0
    assert "is not a staff account" in result.output
    unknown = runner.invoke(
        args=["create-household", "--as", "ghost@example.org", "--name", "X", "--guardian", "Ana:ana@example.org"]
    )
    assert unknown.exit_code != 0
    assert db.scalar(select(func.count()).select_from(Household)) == 0


def test_create_household_needs_at_least_one_guardian(db, runner, staff):
    result = create_household(runner, "--name", "Lee family")
    assert result.exit_code != 0
    assert "--guardian" in result.output


def test_a_code_printed_by_create_household_activates_the_account(db, runner, staff, client):
    result = create_household(runner, "--name", "Lee family", "--guardian", "Ana Lee:ana@example.org")
    [code] = CODE.findall(result.output)
    page = client.get("/activate")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/activate", data={"csrf_token": token, "code": code.lower().replace("-", " ")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/activate/password"
    assert db.scalar(select(func.count()).select_from(Invitation)) == 1
    assert db.scalar(select(User.role).where(User.email == "ana@example.org")) == Role.FAMILY

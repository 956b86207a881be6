"""The version of the district data that pages keep between requests
(services/district_cache.py): one row whose number database triggers raise, in the
transaction that changes a department, a membership, a reply target, a school, a feedback
tag, the office hours, a closure, the triage department or a staff member's name, role or
standing. A trigger sees every writer: a page, a roster import, the calendar feed, a
second app host, SQL an operator types.

The triggers are made here for a schema that create_all builds (the SQLite tests), and by
the migrations for one that they build: a2c6e9f4b7d1 made the first tables', and each
table watched later has a migration of its own (a migration names the tables it makes
triggers for, so that it makes the same whatever is watched afterwards). On SQLite a
table's triggers go with it: a later migration that copies one of these tables (a batch
change) makes its triggers again (tests/unit/test_district_cache.py compares both
schemas' triggers)."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, ScalarSelect, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class DistrictDataVersion(Base):
    __tablename__ = "district_data_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


# The version as a column of another statement (the session statement).
VERSION: ScalarSelect[int | None] = select(DistrictDataVersion.version).limit(1).scalar_subquery()


# What the cache holds depends on, as (table, event, a condition on the row or None).
# Families are left out of the user's triggers: no cached value shows them, and a roster
# import that adds thousands would otherwise hold the version's row until it commits.
_NOT_FAMILY = "{row}.role <> 'family'"
WATCHED = [
    *(
        (table, event_name, None)
        for table in (
            "department",
            "department_member",
            "reply_target",
            "school",
            "feedback_tag",
            "business_hours",
            "closure",
            "saved_reply",
        )
        for event_name in ("INSERT", "UPDATE", "DELETE")
    ),
    ("district_setting", "INSERT", None),
    ("district_setting", "UPDATE OF triage_department_id", None),
    ("district_setting", "DELETE", None),
    ("user", "INSERT", _NOT_FAMILY.format(row="NEW")),
    (
        "user",
        "UPDATE OF display_name, role, is_active",
        f"{_NOT_FAMILY.format(row='OLD')} OR {_NOT_FAMILY.format(row='NEW')}",
    ),
    ("user", "DELETE", _NOT_FAMILY.format(row="OLD")),
]
# The version rises by one at least, to the microseconds since 1970 at most: a database
# restored from a backup goes on from a number that no app process has kept before.
_RAISE = {
    "postgresql": "UPDATE district_data_version SET version = "
    "GREATEST(version + 1, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint)",
    "sqlite": "UPDATE district_data_version SET version = "
    "MAX(version + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))",
}
_FUNCTION = "portal_district_data_changed"


def triggers(dialect_name: str, tables: Collection[str] | None = None) -> dict[str, tuple[str, str]]:
    """The triggers that raise the version, by name: their table and CREATE TRIGGER; those
    of `tables` only, when given."""
    on_postgresql = dialect_name == "postgresql"
    action = f"EXECUTE FUNCTION {_FUNCTION}()" if on_postgresql else f"BEGIN {_RAISE['sqlite']}; END"
    watched = [watch for watch in WATCHED if tables is None or watch[0] in tables]
    made = {}
    for table, event_name, condition in watched:
        name = f"{table}_{event_name.split()[0].lower()}_district_data"
        when = f" WHEN ({condition})" if condition else ""
        made[name] = (table, f'CREATE TRIGGER {name} AFTER {event_name} ON "{table}" FOR EACH ROW{when} {action}')
    if on_postgresql:  # PostgreSQL's TRUNCATE fires no DELETE trigger, but one of its own
        for table in dict.fromkeys(table for table, _event_name, _condition in watched):
            name = f"{table}_truncate_district_data"
            made[name] = (table, f'CREATE TRIGGER {name} AFTER TRUNCATE ON "{table}" FOR EACH STATEMENT {action}')
    return made


def create_triggers(connection: Connection, tables: Collection[str] | None = None) -> None:
    """The version's row and the triggers that raise it (those of `tables` only, when
    given), on SQLite or PostgreSQL."""
    connection.exec_driver_sql("INSERT INTO district_data_version (id, version) VALUES (1, 0)")
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_RAISE['postgresql']}; RETURN NULL; END $$"
        )
    add_triggers(connection, tables)


def add_triggers(connection: Connection, tables: Collection[str] | None) -> None:
    """The triggers of `tables` (of every watched table when None), the version's row and
    PostgreSQL's function being there already."""
    for _table, statement in triggers(connection.dialect.name, tables).values():
        connection.exec_driver_sql(statement)


def drop_triggers(connection: Connection, tables: Collection[str]) -> None:
    on_postgresql = connection.dialect.name == "postgresql"
    for name, (table, _statement) in triggers(connection.dialect.name, tables).items():
        connection.exec_driver_sql(f'DROP TRIGGER {name} ON "{table}"' if on_postgresql else f"DROP TRIGGER {name}")


def drop_function(connection: Connection) -> None:
    """PostgreSQL's function that the triggers run, once they are gone."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION {_FUNCTION}()")


@event.listens_for(Base.metadata, "after_create")
def _create_triggers_with_tables(_metadata: Any, connection: Connection, *, tables: Any = (), **_kw: Any) -> None:
    if DistrictDataVersion.__table__ in tables:
        create_triggers(connection)

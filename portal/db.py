"""The database: declarative base, engine and one session per app context.

Statements built once: a statement that every page (the signed-in session) or a busy page
(the queues' rows, the household and request pages) sends is built at import, its values
bound parameters passed at execution (`db.execute(STATEMENT, {"household_id": ...})`).
Built at each request, a statement costs its building and then its cache key, which
SQLAlchemy works out from its whole structure at each execution unless the statement is
the same object, which keeps its key: 0.09-0.79 ms of the app's CPU a statement,
measured in bench/RESULTS.md (thirteenth round). A statement within a staff member's
scope is built once in each of the scope's forms (portal.services.scope.requests_forms,
feedback_forms; StaffScope.built picks one). Statements whose shape changes with the
queues' filters are still built at each request.

Values read without the ORM: a busy page's statement that selects values, no mapped
object (the queues' rows, a list's ids and total), is read on the session's connection
(`read_values`), as the ORM would read it but for its own handling of the statement and
its rows: 110-140 µs of the app's CPU a statement (bench/RESULTS.md, twenty-third round).
"""

import enum
import select
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, TypeVarTuple, cast

import psycopg
from flask import Flask, current_app, g
from sqlalchemy import JSON, Boolean, DateTime, Enum, MetaData, Select, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine, Result
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import TypedReturnsRows
from sqlalchemy.types import TypeDecorator

from portal import postgresql_cursor
from portal.services.district_cache import STORE, DistrictCache
from portal.text_search import FOLDING_FUNCTION, fold_accents

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


RowT = TypeVar("RowT")
RowValues = TypeVarTuple("RowValues")

# The largest id an INTEGER primary key holds on every supported database.
MAX_ROW_ID = 2**31 - 1


# Indexes that exist on PostgreSQL only, made by migrations (9b1f3c2d7e40, c4e8a1f0b2d3,
# d7a3f1c9e5b2, e8b4c2a9d6f1, f1c7d3a5b8e2): GIN trigram indexes for "contains" search, on
# the search_text columns (portal/text_search.py) and on emails and phone numbers. The models
# leave them out, since an index declared for one dialect would have Alembic propose dropping
# it on the other.
POSTGRESQL_TRIGRAM_INDEXES = frozenset(
    {
        "ix_request_search_text_trgm",
        "ix_request_message_search_text_trgm",
        "ix_feedback_search_text_trgm",
        "ix_household_search_text_trgm",
        "ix_user_email_trgm",
        "ix_user_phone_trgm",
    }
)


def compared_with_models(_object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
    """Alembic's include_object: what schema comparison holds against the models."""
    return not (type_ == "index" and name in POSTGRESQL_TRIGRAM_INDEXES)


def get_row(db: Session, model: type[RowT], row_id: int | None) -> RowT | None:
    """The row with an id that came from a form: None for a missing, absurd or out-of-range id."""
    if not isinstance(row_id, int) or not 0 < row_id <= MAX_ROW_ID:
        return None
    return db.get(model, row_id)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    Naive values are refused, so a local time can never be stored as if it were
    UTC. SQLite keeps no offset, so UTC is stored there without one and put back
    on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # PostgreSQL's, on the UTC sessions _configure_postgresql sets
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Statuses and roles are stored as their string values in a VARCHAR, so a new
    # state needs no database type change.
    type_annotation_map = {
        enum.Enum: Enum(
            enum.Enum,
            native_enum=False,
            length=32,
            values_callable=_enum_values,
            validate_strings=True,
        ),
        dict[str, Any]: JSON,
    }


def _unicode_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


def _fold_accents(text: Any) -> Any:
    return fold_accents(text) if isinstance(text, str) else text


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # SQLite's own lower() knows ASCII only; searches (ILIKE) must find "AUTOBÚS" for "autobús",
    # as they do on PostgreSQL.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    # Searches ignore accents (portal/text_search.py); PostgreSQL has the function by migration.
    dbapi_connection.create_function(FOLDING_FUNCTION, 1, _fold_accents, deterministic=True)


def make_engine(url: str, *, connect_timeout_seconds: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # A connection the server dropped is replaced when it is taken from the pool
    # (_replace_if_dropped), so the first request after a restart is served instead of
    # failing. The connect timeout makes an unreachable server a prompt "unavailable"
    # instead of a request that hangs.
    engine = create_engine(
        url,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": connect_timeout_seconds},
    )
    event.listen(engine, "connect", _configure_postgresql)
    event.listen(engine, "checkout", _replace_if_dropped)
    event.listen(engine, "before_cursor_execute", _begin_before_writing)
    return engine


# How SQLAlchemy writes with_for_update: a SELECT that locks the rows it reads until its
# transaction ends.
_LOCKING_CLAUSES = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE")


def _plain_read(cursor: Any, statement: str, context: Any) -> bool:
    """A SELECT that SQLAlchemy built, read at once: not SQL text, even given its columns
    (a SELECT there may call anything, an advisory lock), not a server-side cursor (its DECLARE needs a
    transaction), with no WITH (a CTE may write) and no lock."""
    compiled = context.compiled if context is not None else None
    return (
        statement.startswith("SELECT")
        and compiled is not None
        and isinstance(compiled.statement, Select)
        and not isinstance(cursor, psycopg.ServerCursor)
        and not any(clause in statement for clause in _LOCKING_CLAUSES)
    )


def _begin_before_writing(
    _connection: Connection, cursor: Any, statement: str, _parameters: Any, context: Any, _executemany: bool
) -> None:
    """PostgreSQL connections are in autocommit (_configure_postgresql), and a transaction
    begins at the first statement that is not a plain read (_plain_read: a write, a
    locking read, SQL text, a savepoint, DDL): psycopg sends BEGIN before it, and what the
    unit of work writes from there on is committed or rolled back as one. A plain read
    before it runs on its own, as it would have in a transaction: at PostgreSQL's READ
    COMMITTED each statement sees the data as it is when it starts, in a transaction or
    not. So a request that only reads (most pages) sends no BEGIN and no COMMIT, two
    round trips of the three a page of one statement made (bench/RESULTS.md,
    twenty-second round). Once the transaction has ended, the next plain read runs on its
    own again."""
    driver = cursor.connection
    if _plain_read(cursor, statement, context):
        if not driver.autocommit and driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            driver.autocommit = True
    elif driver.autocommit:
        driver.autocommit = False


def _replace_if_dropped(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool check-out: a connection that has something to read while it sat idle in the
    pool is one the server dropped (a restart or pg_terminate_backend sends its error and
    closes the socket) or spoke to unasked; the pool replaces it with a new one. Asking
    the socket costs a system call, where the pool's pre-ping sent a round trip to
    PostgreSQL before every request (0.2 ms of its time, bench/RESULTS.md, twenty-first
    round). A connection lost without a word from the server (its host gone) fails at its
    first statement, as it failed the ping."""
    try:
        socket = dbapi_connection.fileno()
    except psycopg.Error as error:  # the driver knows it is closed
        raise DisconnectionError("the connection is closed") from error
    idle = select.poll()
    idle.register(socket, select.POLLIN)
    if idle.poll(0):
        raise DisconnectionError("the server closed, or spoke on, an idle connection")


@contextmanager
def schema_change(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for the migrations, DDL included.

    On SQLite, foreign keys are off while it lasts, as SQLite's own procedure for changing a
    table has it: Alembic changes a table there by copying it and dropping the old one, and
    with foreign keys on, that drop deletes every row that cascades from it. Every reference
    must still hold before the commit. The driver's own transaction handling is set aside
    for it: left to itself, Python's sqlite3 commits a CREATE or ALTER at once, so a failed
    migration would leave half a schema behind."""
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                yield connection
            return
        driver = connection.connection.driver_connection
        isolation_level = driver.isolation_level
        driver.isolation_level = None  # no implicit BEGIN or COMMIT: the ones below only
        try:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction, or SQLite ignores it
            connection.commit()
            with connection.begin():
                connection.exec_driver_sql("BEGIN")
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the schema change broke {len(broken)} references, first: {broken[0]}")
        finally:
            try:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
                driver.isolation_level = isolation_level
            except SQLAlchemyError:
                connection.invalidate()  # never back to the pool with foreign keys off


def _configure_postgresql(dbapi_connection: Any, _record: Any) -> None:
    """Sessions in UTC, as every time here is: the driver then hands times over with
    datetime.UTC itself, which UTCDateTime passes on untouched (a page reads hundreds).
    A SET once a connection rather than a startup option, which poolers such as PgBouncer
    refuse; where a pooler loses it, times are converted as they are read instead. Its
    cursors describe their results when read (portal/postgresql_cursor.py). The connection
    stays in autocommit until a statement writes (_begin_before_writing)."""
    dbapi_connection.cursor_factory = postgresql_cursor.Cursor
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")


# The Session.info keys that carry settings to the services: DISTRICT_TIMEZONE, and
# SAFETY_RESEND_MINUTES (services/safety/alerts.py).
CONFIGURED_TIME_ZONE = "portal.configured_time_zone"
SAFETY_RESEND_MINUTES = "portal.safety_resend_minutes"


def _settings_of(config: Any) -> dict[str, Any]:
    return {
        CONFIGURED_TIME_ZONE: config["DISTRICT_TIMEZONE"],
        SAFETY_RESEND_MINUTES: config["SAFETY_RESEND_MINUTES"],
    }


def init_app(app: Flask) -> None:
    use_database(app, app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)


def use_database(app: Flask, url: str) -> None:
    """Point `app` at the database at `url` (the tests give each test a fresh one)."""
    engine = make_engine(url, connect_timeout_seconds=int(app.config["DATABASE_CONNECT_TIMEOUT_SECONDS"]))
    app.config["DATABASE_URL"] = url
    app.extensions["portal.engine"] = engine
    # Every session carries the configured time zone, for the services that read the
    # district's calendar (services/calendar/district_calendar.py: current), and the
    # district data this process keeps of this database (services/district_cache.py).
    app.extensions["portal.sessionmaker"] = sessionmaker(
        bind=engine, expire_on_commit=False, info={**_settings_of(app.config), STORE: DistrictCache()}
    )


def rows_matched(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an UPDATE or DELETE matched (its guard held for)."""
    return cast(CursorResult[*tuple[Any, ...]], result).rowcount


def read_values(
    db: Session, statement: TypedReturnsRows[*RowValues], parameters: Mapping[str, Any] | None = None
) -> CursorResult[*RowValues]:
    """The rows of `statement`, which selects values only (columns, no mapped object), read
    on the session's connection: the rows the ORM gives, but for the names of expressions
    (label them: the ORM names a column_property by its attribute, SQLAlchemy's core by
    "anon_1"). What the session has pending is flushed first, as the ORM would flush it."""
    if db.autoflush:
        db.flush()
    return db.connection().execute(statement, parameters)


class one_of_listed(FunctionElement[bool]):
    """`column IN :name`, the list given at execution (a page's ids). SQLAlchemy writes an
    IN list with a parameter for each of its values, again at each execution; on
    PostgreSQL this is `column = ANY(:name)`, the list sent as one array: a statement of
    one text for any length of list, written once (bench/RESULTS.md, twenty-third round)."""

    name = "one_of_listed"
    type = Boolean()
    inherit_cache = True
    # A condition in itself, as IN is: on SQLite, not "(... IN ...) = 1", which no index serves.
    _is_implicitly_boolean = True

    def __init__(self, column: QueryableAttribute[Any], parameter: str) -> None:
        super().__init__(column, bindparam(parameter, type_=ARRAY(column.type)))


@compiles(one_of_listed)
def _one_of_listed(element: one_of_listed, compiler: SQLCompiler, **kw: Any) -> str:
    column, listed = element.clauses
    return compiler.process(column.in_(bindparam(listed.key, expanding=True)), **kw)  # type: ignore[attr-defined]


@compiles(one_of_listed, "postgresql")
def _one_of_listed_on_postgresql(element: one_of_listed, compiler: SQLCompiler, **kw: Any) -> str:
    column, listed = element.clauses
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(listed, **kw)})"


def get_engine() -> Engine:
    return current_app.extensions["portal.engine"]


def get_session() -> Session:
    """The unit of work of this request or command: one session per app context."""
    if "db" not in g:
        # The configuration as it is now (a test may change it after the app was built).
        g.db = current_app.extensions["portal.sessionmaker"](info=_settings_of(current_app.config))
    return g.db


def close_session(_exception: BaseException | None = None) -> None:
    """End the request's unit of work: what it did not commit is rolled back. On
    PostgreSQL a request that only read began no transaction (_begin_before_writing), so
    nothing is sent, and the driver keeps the connection's prepared statements, which it
    forgets at every ROLLBACK it sends."""
    db = g.pop("db", None)
    if db is not None:
        db.close()

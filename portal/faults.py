"""When a dependency is down: which errors mean "the database (or the mail server) is
unavailable", and the back-off of a loop that waits for it to come back.

No Flask here: the web error handler, the health check and the worker loop all ask
the same question, and the answer must not depend on which of them asks.
"""

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

DATABASE = "database"
MAIL_SERVER = "mail server"


class DependencyUnavailable(Exception):
    """A dependency other than the database (the mail server) cannot be reached just now."""

    def __init__(self, dependency: str, cause: BaseException) -> None:
        super().__init__(f"{dependency} unavailable: {type(cause).__name__}: {cause}")
        self.dependency = dependency
        self.cause = cause


# SQLite's primary result codes that say the file cannot be used now; SQLite reports a
# mistake in a statement (no such table, a syntax error) as an OperationalError too.
SQLITE_UNAVAILABLE_CODES = frozenset({5, 6, 8, 10, 13, 14})  # BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN


# PostgreSQL's SQLSTATEs of a server that cannot serve now: connection exceptions (08),
# insufficient resources (53: too many connections, disk full, out of memory), and an
# administrator's or a crash's shutdown, or a server still starting (57P01-57P03).
POSTGRESQL_UNAVAILABLE_CLASSES = ("08", "53")
POSTGRESQL_SHUTDOWN = frozenset({"57P01", "57P02", "57P03"})


def is_database_unavailable(error: BaseException) -> bool:
    """True for an error that says the database cannot be reached or cannot serve now
    (refused or lost connection, a server shutting down, no free connection in the
    pool, a locked or unreadable SQLite file), as opposed to a mistake in a statement."""
    if isinstance(error, PoolTimeoutError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in SQLITE_UNAVAILABLE_CODES
    # PostgreSQL files a deadlock, a serialization failure or a statement timeout under
    # OperationalError too: those are bugs to see as 500s with their traceback. Only a
    # failure with no server answer (the connection was refused or lost) or a server
    # saying it cannot serve now is an outage.
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(POSTGRESQL_UNAVAILABLE_CLASSES) or sqlstate in POSTGRESQL_SHUTDOWN


def unavailable_dependency(error: BaseException) -> str | None:
    """Which dependency `error` says is down, or None when it is not an outage."""
    if isinstance(error, DependencyUnavailable):
        return error.dependency
    if is_database_unavailable(error):
        return DATABASE
    return None


class Outages:
    """The dependencies a retrying loop found down.

    The first failure of an outage is logged, with its cause, and so is the end of
    the outage; the retries in between are not, so a night without a mail server is
    two log lines, not thousands. The wait doubles from `first_seconds` after each
    failure, up to `max_seconds`, and starts again after a success.
    """

    def __init__(
        self,
        log: logging.Logger,
        *,
        first_seconds: float,
        max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.first_seconds = first_seconds
        self.max_seconds = max_seconds
        self.clock = clock
        self.down_since: dict[str, float] = {}
        self.wait_seconds = 0.0

    def failed(self, dependency: str, error: BaseException) -> float:
        """Record a failure; the seconds to wait before the next try."""
        if dependency not in self.down_since:
            self.down_since[dependency] = self.clock()
            cause = error.cause if isinstance(error, DependencyUnavailable) else error
            self.log.error(
                "The %s is unavailable (%s: %s); retrying with back-off of up to %g seconds.",
                dependency,
                type(cause).__name__,
                str(cause).strip().splitlines()[0] if str(cause).strip() else "",
                self.max_seconds,
            )
        if self.wait_seconds == 0:
            self.wait_seconds = self.first_seconds
        else:
            self.wait_seconds = min(self.wait_seconds * 2, self.max_seconds)
        return self.wait_seconds

    def working(self, *dependencies: str) -> None:
        """These dependencies answered (all that were down, when none is named)."""
        for dependency in dependencies or tuple(self.down_since):
            since = self.down_since.pop(dependency, None)
            if since is not None:
                self.log.warning("The %s is back after %.0f seconds.", dependency, self.clock() - since)
        if not self.down_since:
            self.wait_seconds = 0.0

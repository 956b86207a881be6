"""A district's OneRoster export imported into the database, timed: the dry run, the write
(with the new guardians' invitations queued), and the same export imported again.

It runs the job as the worker does (portal/roster_jobs.py), on a new database: SQLite in a
temporary folder, or the PostgreSQL database named by --database (its tables are dropped
and made again). Figures go to standard output: seconds per step, rows written, and the
process's peak memory (resident set, as the operating system counts it).

    .venv/bin/python bench/roster_import.py [--students 100000] [--database URL]
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from alembic import command
from flask import Flask
from oneroster_export import oneroster_zip  # bench/ is the script's folder
from sqlalchemy import func, select, text

from portal import create_app, roster_jobs
from portal.cli import alembic_config
from portal.db import get_engine, get_session, utcnow
from portal.models import (
    AuditEvent,
    Guardianship,
    Household,
    ImportJob,
    Invitation,
    Notification,
    Student,
    User,
)
from portal.sample_data import demo
from portal.services.households import import_jobs

CHANGES = ("_new", "_changed", "_deactivated")


def _new_database() -> None:
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _step(app: Flask, job_id: int) -> tuple[float, ImportJob]:
    started = time.perf_counter()
    job = roster_jobs.run_next(app)
    assert job is not None and job.id == job_id, job
    return time.perf_counter() - started, job


def _peak_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--database", default="", help="a PostgreSQL URL; SQLite in a temporary folder by default")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="roster-bench-"))
    url = arguments.database or f"sqlite:///{folder / 'portal.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 40, "TESTING": False})
    export = oneroster_zip(arguments.students)
    print(f"export: {arguments.students:,} students, {len(export) / 2**20:.1f} MB zipped; database {url.split(':')[0]}")
    with app.app_context():
        _new_database()
        db = get_session()
        demo.seed_demo(
            db,
            password="bench-password-1234",  # noqa: S106 - a throwaway database
            now=utcnow(),
            totp_secret=demo.DEMO_TOTP_SECRET,
            time_zone="America/Los_Angeles",
            secret_key=app.config["SECRET_KEY"],
        )
        db.commit()
        for attempt in ("first import", "same export again"):
            job = import_jobs.queue(
                db, None, "export.zip", export, max_bytes=64 * 2**20, invite_guardians=True, now=utcnow()
            )
            db.commit()
            planned_seconds, job = _step(app, job.id)
            assert job.status == "planned", job.error
            import_jobs.approve_from_command_line(db, job.id)
            db.commit()
            written_seconds, job = _step(app, job.id)
            assert job.status == "done", job.error
            counts = job.summary["applied"]
            print(
                f"{attempt}: dry run {planned_seconds:.1f} s, write {written_seconds:.1f} s, "
                f"{sum(v for k, v in counts.items() if k.endswith(CHANGES)):,} records new, changed or deactivated, "
                f"{counts.get('refused', 0):,} rows refused, "
                f"{sum(v for k, v in counts.items() if k.endswith('warning')):,} warnings"
            )
        tables = (Household, Student, User, Guardianship, Invitation, Notification, AuditEvent)
        print(
            "rows: "
            + ", ".join(
                f"{model.__tablename__} {db.scalar(select(func.count()).select_from(model)):,}" for model in tables
            )
        )
    print(f"peak memory: {_peak_megabytes():.0f} MB resident")


if __name__ == "__main__":
    main()

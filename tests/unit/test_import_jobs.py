"""Roster imports as background jobs (services/households/import_jobs.py and portal/roster_jobs.py):
queued, read into a dry run by the worker, approved, written, with progress; and the
`flask import-oneroster` command, which runs the same job."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import roster_jobs
from portal.db import utcnow
from portal.models import ImportChange, ImportJob, ImportJobRow, ImportStatus, Notification, Student, User
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.households import import_jobs
from tests import factories
from tests.oneroster_exports import files, guardian, student, zipped

EXPORT = zipped(
    files(
        [
            student("stu-1", "par-1"),
            student("stu-2", "par-1", givenName="Luis"),
            student("stu-3", givenName="", familyName=""),  # refused: no name
            guardian("par-1"),
        ]
    )
)
MAX_BYTES = 32 * 2**20


def queued(db, admin, content: bytes = EXPORT, **options) -> ImportJob:
    job = import_jobs.queue(
        db, admin, "export.zip", content, max_bytes=MAX_BYTES, invite_guardians=True, now=utcnow(), **options
    )
    db.commit()
    return job


def test_an_upload_is_read_into_a_dry_run_then_written_once_approved(app, db, admin):
    job = queued(db, admin)
    assert job.status == ImportStatus.QUEUED

    with app.app_context():
        read = roster_jobs.run_next(app)
    assert read is not None and read.status == ImportStatus.PLANNED
    assert read.summary["planned"] == {
        "guardian_new": 1,
        "household_new": 1,
        "refused": 1,
        "school_new": 2,
        "student_new": 2,
    }
    refused = import_jobs.changes(db, admin, job.id, ImportChange.REFUSED, page=1)
    assert [(row.file, row.line) for row in refused.items] == [("users.csv", 4)]
    assert db.scalar(select(func.count()).select_from(Student)) == 0, "a dry run writes nothing"

    import_jobs.approve(db, admin, job.id, now=utcnow())
    db.commit()
    with app.app_context():
        written = roster_jobs.run_next(app)

    assert written is not None and written.status == ImportStatus.DONE
    assert written.summary["applied"]["student_new"] == 2
    assert written.progress_done == written.progress_total
    assert db.scalar(select(ImportJob.content).where(ImportJob.id == job.id)) is None, "the file is not kept"
    assert import_jobs.invitations_sent(db, job.id) == (1, 0)
    db.execute(Notification.__table__.update().values(status="sent"))
    db.commit()
    assert import_jobs.invitations_sent(db, job.id) == (1, 1)


def test_only_administrators_queue_read_and_approve_imports(db):
    staff = factories.make_staff(db)
    with pytest.raises(NotAllowed):
        queued(db, staff)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"sourcedId,name\n", "not a .zip"),
        (b"PK\x03\x04" + b"\x00" * (MAX_BYTES + 1), "too large"),
    ],
)
def test_a_file_that_is_no_export_is_refused_at_once(db, admin, content, message):
    with pytest.raises(InvalidInput, match=message):
        queued(db, admin, content)


def test_a_broken_zip_fails_the_job_with_the_readers_message(app, db, admin):
    job = queued(db, admin, b"PK\x03\x04 this is not really a zip")

    with app.app_context():
        failed = roster_jobs.run_next(app)

    assert failed is not None and failed.status == ImportStatus.FAILED
    assert "zip" in failed.error.lower() and job.id == failed.id


def test_one_import_at_a_time(app, db, admin):
    queued(db, admin)
    with pytest.raises(InvalidInput, match="Another import"):
        queued(db, admin)


def test_a_job_being_worked_on_is_not_claimed_twice_until_its_claim_lapses(db, admin):
    job = queued(db, admin)
    now = utcnow()
    assert import_jobs.claim_next(db, now=now).id == job.id
    db.commit()

    assert import_jobs.claim_next(db, now=now + timedelta(minutes=1)) is None
    db.rollback()
    again = import_jobs.claim_next(db, now=now + import_jobs.CLAIM_LAPSES_AFTER + timedelta(seconds=1))
    assert again is not None and again.id == job.id and again.status == ImportStatus.PLANNING


def test_a_dry_run_can_be_discarded_and_not_approved_after(app, db, admin):
    job = queued(db, admin)
    with app.app_context():
        roster_jobs.run_next(app)
    import_jobs.discard(db, admin, job.id, now=utcnow())
    db.commit()

    with pytest.raises(InvalidInput):
        import_jobs.approve(db, admin, job.id, now=utcnow())
    assert db.scalar(select(ImportJob.content).where(ImportJob.id == job.id)) is None


def test_approving_twice_writes_once(app, db, admin):
    job = queued(db, admin)
    with app.app_context():
        roster_jobs.run_next(app)
    import_jobs.approve(db, admin, job.id, now=utcnow())
    db.commit()
    with pytest.raises(InvalidInput, match="no longer waiting"):
        import_jobs.approve(db, admin, job.id, now=utcnow())


def test_the_command_line_dry_run_writes_nothing(runner, db, tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(EXPORT)

    result = runner.invoke(args=["import-oneroster", str(path), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "student new: 2" in result.output and "users.csv:4" in result.output
    assert "nothing was written" in result.output
    assert db.scalar(select(func.count()).select_from(Student)) == 0
    assert db.scalar(select(ImportJob.status)) == ImportStatus.DISCARDED


def test_the_command_line_imports_a_folder_of_csv_files(runner, db, tmp_path):
    for name, data in files([student("stu-1", "par-1"), guardian("par-1")]).items():
        (tmp_path / name).write_bytes(data)

    result = runner.invoke(args=["import-oneroster", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "1 invitations queued" in result.output
    assert db.scalar(select(User.sis_id).where(User.email == "par-1@example.org")) == "par-1"
    assert db.scalar(select(func.count()).select_from(ImportJobRow)) > 0

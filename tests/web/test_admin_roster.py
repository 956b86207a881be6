"""Administrators import a OneRoster export: upload, the worker's dry run, its lines,
approve or discard, the write and its invitations (portal/blueprints/admin_roster)."""

import io
import re

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal import roster_jobs
from portal.db import utcnow
from portal.models import ImportJob, ImportStatus, Notification, Student
from portal.services.households import import_jobs
from tests import factories
from tests.conftest import Browser
from tests.oneroster_exports import files, guardian, student, zipped
from tests.web.support import HOSTILE_SCRIPT, csrf_token, field_error, location, redirects_to_sign_in, text

EXPORT = zipped(
    files(
        [
            student("stu-1", "par-1"),
            student("stu-2", "par-1", givenName="Luis"),
            student("stu-3", givenName="", familyName=""),  # refused: no name (users.csv line 4)
            guardian("par-1"),
        ]
    )
)
ZIP_SIGNATURE = b"PK\x03\x04"
# The script that reads the progress again while the worker works (portal/static/roster_progress.js).
FOLLOWS_PROGRESS = "/assets/roster_progress."
MB = 2**20


def upload(browser: Browser, data: bytes, *, filename: str = "export.zip", invite: bool = True):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {"file": (io.BytesIO(data), filename)}
    if invite:
        fields["invite_guardians"] = "y"
    return browser.submit("/admin/roster", fields, content_type="multipart/form-data")


def run_worker(app: Flask) -> ImportJob | None:
    with app.app_context():
        return roster_jobs.run_next(app)


def job_path(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, text(response)[:2000]
    path = location(response)
    assert re.fullmatch(r"/admin/roster/\d+", path), path
    return path


def jobs(db: Session) -> list[ImportJob]:
    db.expire_all()
    return list(db.scalars(select(ImportJob).order_by(ImportJob.id)))


def queued(db: Session, admin, content: bytes = EXPORT) -> ImportJob:  # type: ignore[no-untyped-def]
    job = import_jobs.queue(db, admin, "export.zip", content, max_bytes=32 * MB, invite_guardians=True, now=utcnow())
    db.commit()
    return job


def planned(app: Flask, db: Session, admin, content: bytes = EXPORT) -> ImportJob:  # type: ignore[no-untyped-def]
    job = queued(db, admin, content)
    read = run_worker(app)
    assert read is not None and read.status == ImportStatus.PLANNED, read and read.error
    return job


def count_cell(html: str, record: str, column: int) -> str:
    """The number in the counts table's row `record`, column 0 (new), 1 (changed) or 2 (deactivated)."""
    row = re.search(rf'<th scope="row">{record}</th>\s*((?:<td>\d+</td>\s*){{3}})', html)
    assert row, f"no row {record} in the counts table"
    return re.findall(r"<td>(\d+)</td>", row.group(1))[column]


# --- the way through ---------------------------------------------------------------------


def test_the_admin_home_and_the_csv_import_lead_here(as_admin):
    assert 'href="/admin/roster"' in text(as_admin.get("/admin/"))
    page = text(as_admin.get("/admin/import"))
    assert "Your SIS exports OneRoster? Import it here" in page and 'href="/admin/roster"' in page


def test_the_upload_page_says_its_limits_and_what_happens(as_admin):
    page = text(as_admin.get("/admin/roster"))
    assert "At most 32 MB zipped, and at most 500,000 people in users.csv: about 230,000 students" in page
    assert "Nothing is written until you approve the dry run" in page
    assert "The worker sends the emails" in page
    checkbox = re.search(r'<input[^>]*name="invite_guardians"[^>]*>', page)
    assert checkbox and "checked" in checkbox.group(0), "inviting is the default"
    assert '<label for="invite_guardians">Invite new guardians by email</label>' in page
    assert "No imports yet." in page


def test_an_upload_is_read_into_a_dry_run_and_written_once_approved(app, db, as_admin):
    path = job_path(upload(as_admin, EXPORT))
    waiting = text(as_admin.get(path))
    assert "Waiting to be read" in waiting
    assert FOLLOWS_PROGRESS in waiting and "Show the progress now" in waiting
    assert 'http-equiv="refresh"' not in waiting, "a timed reload takes a screen reader back to the top"
    assert re.search(
        r'<label for="job-progress">Waiting for the worker</label>\s*<progress id="job-progress">', waiting
    )
    assert "Write these changes" not in waiting

    run_worker(app)
    dry_run = text(as_admin.get(path))
    assert "Dry run ready for review" in dry_run
    assert FOLLOWS_PROGRESS not in dry_run and "<progress" not in dry_run
    assert (count_cell(dry_run, "Student", 0), count_cell(dry_run, "Guardian", 0)) == ("2", "1")
    assert (count_cell(dry_run, "Household", 0), count_cell(dry_run, "School", 0)) == ("1", "2")
    assert "Refused rows: 1" in dry_run and "Warnings: 0" in dry_run
    assert "Guardians in two households (shared custody): 0" in dry_run
    assert "Write these changes" in dry_run and ">Discard<" in dry_run
    assert "more than a third" not in dry_run
    assert db.scalar(select(func.count()).select_from(Student)) == 0, "a dry run writes nothing"

    refused = text(as_admin.get(f"{path}/changes?change=refused"))
    assert "users.csv:4" in refused and "Refused (1)" in refused and "All lines (7)" in refused

    approved = as_admin.submit(f"{path}/approve", {}, page=path)
    assert location(approved) == path
    writing = text(as_admin.get(path))
    assert "Approved, waiting to be written" in writing and FOLLOWS_PROGRESS in writing

    run_worker(app)
    done = text(as_admin.get(path))
    assert "Written" in done and FOLLOWS_PROGRESS not in done
    assert count_cell(done, "Student", 0) == "2"
    assert "1 invitation queued, 0 sent." in done
    assert "emailed" not in done
    assert db.scalar(select(func.count()).select_from(Student)) == 2

    db.execute(update(Notification).values(status="sent"))
    db.commit()
    assert "1 invitation queued, 1 sent." in text(as_admin.get(path))


def test_the_progress_of_a_write_is_shown_with_its_phase(app, db, admin, as_admin):
    job = planned(app, db, admin)
    db.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id)
        .values(status=ImportStatus.APPLYING, phase="Writing students", progress_done=1000, progress_total=4000)
    )
    db.commit()
    page = text(as_admin.get(f"/admin/roster/{job.id}"))
    assert "Being written" in page
    assert re.search(
        r'<label for="job-progress">Writing students</label>\s*'
        r'<progress id="job-progress" max="4000" value="1000">1000 of 4000 records</progress>',
        page,
    )


def test_without_invitations_the_write_says_no_one_was_invited(app, db, as_admin):
    path = job_path(upload(as_admin, EXPORT, invite=False))
    run_worker(app)
    as_admin.submit(f"{path}/approve", {}, page=path)
    run_worker(app)
    page = text(as_admin.get(path))
    assert "New guardians were not invited" in page and "invitation queued" not in page
    assert db.scalar(select(func.count()).select_from(Notification)) == 0


def test_approving_twice_says_so_and_writes_once(app, db, admin, as_admin):
    job = planned(app, db, admin)
    path = f"/admin/roster/{job.id}"
    as_admin.submit(f"{path}/approve", {}, page=path)
    again = as_admin.submit(f"{path}/approve", {}, page=path, follow_redirects=True)
    assert again.status_code == 200
    assert "This import is no longer waiting to be approved." in text(again)
    assert jobs(db)[0].status == ImportStatus.APPLY_QUEUED


def test_a_dry_run_can_be_discarded_and_not_approved_after(app, db, admin, as_admin):
    job = planned(app, db, admin)
    path = f"/admin/roster/{job.id}"
    discarded = as_admin.submit(f"{path}/discard", {}, page=path, follow_redirects=True)
    page = text(discarded)
    assert "Discarded. Nothing from this file was written." in page
    assert "Discarded: nothing written" in page and "Write these changes" not in page
    approved = as_admin.submit(f"{path}/approve", {}, page=path, follow_redirects=True)
    assert "This import is no longer waiting to be approved." in text(approved)
    assert jobs(db)[0].status == ImportStatus.DISCARDED
    assert db.scalar(select(func.count()).select_from(Student)) == 0


def test_a_queued_upload_can_be_discarded_before_the_worker_reads_it(db, admin, as_admin):
    job = queued(db, admin)
    path = f"/admin/roster/{job.id}"
    assert ">Discard<" in text(as_admin.get(path))
    as_admin.submit(f"{path}/discard", {}, page=path)
    assert jobs(db)[0].status == ImportStatus.DISCARDED


def test_a_broken_zip_fails_with_the_readers_message(app, db, as_admin):
    path = job_path(upload(as_admin, ZIP_SIGNATURE + b" this is not really a zip"))
    run_worker(app)
    page = text(as_admin.get(path))
    assert "The import stopped" in page and "Nothing was written." in page
    assert jobs(db)[0].error in page
    assert FOLLOWS_PROGRESS not in page


def test_a_dry_run_that_deactivates_a_third_of_the_students_warns_strongly(app, db, admin, as_admin):
    everyone = [student(f"stu-{n}", "par-1") for n in (1, 2, 3)] + [guardian("par-1", "stu-1,stu-2,stu-3")]
    first = planned(app, db, admin, zipped(files(everyone)))
    import_jobs.approve(db, admin, first.id, now=utcnow())
    db.commit()
    run_worker(app)

    same = planned(app, db, admin, zipped(files(everyone)))
    assert "more than a third" not in text(as_admin.get(f"/admin/roster/{same.id}"))
    import_jobs.discard(db, admin, same.id, now=utcnow())
    db.commit()

    one_school = planned(app, db, admin, zipped(files([student("stu-1", "par-1"), guardian("par-1", "stu-1")])))
    page = text(as_admin.get(f"/admin/roster/{one_school.id}"))
    assert count_cell(page, "Student", 2) == "2"
    assert "This export deactivates more than a third of the students the portal knows." in page


def test_the_lines_are_paged_and_filtered(app, db, admin, as_admin):
    many = [student(f"stu-{n}", "par-1") for n in range(60)] + [guardian("par-1")]
    job = planned(app, db, admin, zipped(files(many)))
    path = f"/admin/roster/{job.id}/changes"
    first = text(as_admin.get(path))
    assert "Page 1 of 2" in first and 'rel="next"' in first
    new_only = text(as_admin.get(f"{path}?change=new&page=2"))
    assert "Page 2 of 2" in new_only and "change=new" in new_only
    assert '<th scope="col">Record</th>' in new_only and "sourcedId" in new_only


def test_the_recent_imports_are_listed_and_paged(db, admin, as_admin):
    for _ in range(11):
        job = queued(db, admin)
        import_jobs.discard(db, admin, job.id, now=utcnow())
        db.commit()
    first = text(as_admin.get("/admin/roster"))
    assert first.count("Discarded: nothing written") == 10 and "Page 1 of 2" in first
    assert f'href="/admin/roster/{job.id}"' in first
    assert "Import 1: export.zip" in text(as_admin.get("/admin/roster?page=2"))


# --- bad uploads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"sourcedId,givenName\nstu-1,Ana\n", "This is not a .zip file."),
        (None, "Choose the OneRoster .zip file the SIS exported."),
    ],
)
def test_a_file_that_is_no_export_is_refused_next_to_the_field(db, as_admin, data, message):
    if data is None:
        response = as_admin.submit("/admin/roster", {"invite_guardians": "y"}, content_type="multipart/form-data")
    else:
        response = upload(as_admin, data, filename="roster.zip")
    assert response.status_code == 200
    assert message in (field_error(text(response), "file") or "")
    assert jobs(db) == []


def test_a_second_upload_waits_for_the_first(db, admin, as_admin):
    queued(db, admin)
    response = upload(as_admin, EXPORT)
    assert "Another import is waiting or running" in (field_error(text(response), "file") or "")
    assert len(jobs(db)) == 1


def test_an_export_larger_than_any_other_request_may_be_is_taken(db, as_admin):
    """The app-wide limit (MAX_CONTENT_LENGTH, 2 MB) is raised for this one form."""
    job_path(upload(as_admin, ZIP_SIGNATURE + b"\x00" * (3 * MB)))
    assert jobs(db)[0].file_size == 3 * MB + len(ZIP_SIGNATURE)


@pytest.mark.parametrize("app_config", [{"ROSTER_UPLOAD_MAX_BYTES": MB}])
@pytest.mark.parametrize("size", [MB + 1, 3 * MB // 2, 3 * MB])
def test_a_file_over_the_limit_is_told_so_next_to_the_field_not_by_a_bare_413(db, as_admin, app_config, size):
    response = upload(as_admin, ZIP_SIGNATURE + b"\x00" * size, invite=False)
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "file") == "The file is too large: at most 1 MB."
    assert "At most 1 MB zipped" in page
    assert jobs(db) == []
    # The form is still there and still works.
    job_path(upload(as_admin, EXPORT))


# --- hostile input -------------------------------------------------------------------------


def test_a_hostile_file_name_is_shown_escaped(db, as_admin):
    path = job_path(upload(as_admin, EXPORT, filename=f"{HOSTILE_SCRIPT}\x00\x07.zip"))
    for page in (text(as_admin.get(path)), text(as_admin.get("/admin/roster"))):
        assert HOSTILE_SCRIPT not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x00" not in jobs(db)[0].file_name


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "page=-1",
        "page=%D9%A1%D9%A2",
        f"change={HOSTILE_SCRIPT}&page=2147483648",
        "change=new&change=refused",
        "change=%00&page=%FF",
    ],
)
def test_hostile_query_strings_get_a_page_never_a_500(app, db, admin, as_admin, query):
    job = planned(app, db, admin)
    for path in ("/admin/roster", f"/admin/roster/{job.id}", f"/admin/roster/{job.id}/changes"):
        response = as_admin.get(f"{path}?{query}")
        assert response.status_code == 200, path
        assert HOSTILE_SCRIPT not in text(response)


@pytest.mark.parametrize(
    "method, suffix", [("GET", ""), ("GET", "/changes"), ("POST", "/approve"), ("POST", "/discard")]
)
def test_an_unknown_import_is_not_found(client, as_admin, method, suffix):
    token = csrf_token(client, "/admin/roster")
    response = client.open(f"/admin/roster/999{suffix}", method=method, data={"csrf_token": token})
    assert response.status_code == 404


def test_approving_without_the_csrf_token_is_refused(app, db, admin, as_admin):
    job = planned(app, db, admin)
    response = as_admin.client.post(f"/admin/roster/{job.id}/approve", data={})
    assert response.status_code == 400
    assert jobs(db)[0].status == ImportStatus.PLANNED


def test_uploading_without_the_csrf_token_is_refused(db, as_admin):
    response = as_admin.client.post(
        "/admin/roster", data={"file": (io.BytesIO(EXPORT), "export.zip")}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert jobs(db) == []


# --- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["signed out", "family", "staff"])
def test_every_roster_route_is_closed_to_everyone_but_administrators(app, db, admin, who):
    job = planned(app, db, admin)
    client = app.test_client()
    if who != "signed out":
        user = factories.guardians_of(db, factories.make_household(db))[0] if who == "family" else None
        Browser(client, app).sign_in((user or factories.make_staff(db)).email)
    token = csrf_token(client, "/sign-in" if who == "signed out" else "/password")
    routes = [
        ("GET", "/admin/roster"),
        ("POST", "/admin/roster"),
        ("GET", f"/admin/roster/{job.id}"),
        ("GET", f"/admin/roster/{job.id}/changes?change=refused"),
        ("POST", f"/admin/roster/{job.id}/approve"),
        ("POST", f"/admin/roster/{job.id}/discard"),
    ]
    answers = {}
    for method, path in routes:
        data = {"csrf_token": token, "file": (io.BytesIO(EXPORT), "export.zip")} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        answers[method, path] = "sign-in" if redirects_to_sign_in(response) else response.status_code
        assert "users.csv" not in text(response)
    expected = {"sign-in"} if who == "signed out" else {403}
    assert {route: answer for route, answer in answers.items() if answer not in expected} == {}
    assert [(j.id, j.status) for j in jobs(db)] == [(job.id, ImportStatus.PLANNED)]

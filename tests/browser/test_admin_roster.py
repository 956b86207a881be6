"""A OneRoster import at a desktop and on a phone: upload, dry run, its lines, the write;
axe on every page, and no page wider than the screen."""

import pytest
from playwright.sync_api import Page, expect

from portal import roster_jobs
from tests.oneroster_exports import files, guardian, student, zipped

pytestmark = pytest.mark.browser

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


def run_worker(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        roster_jobs.run_next(app)


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways: {width}px"


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_an_admin_imports_an_export_after_reading_its_dry_run(screen, request, district, live_server):  # type: ignore[no-untyped-def]
    visitor = request.getfixturevalue(screen)
    page = visitor.page
    visitor.sign_in(district.admin.email)
    visitor.follow("Import a OneRoster export (.zip) from the student information system")
    fits(page)
    page.get_by_label("OneRoster export (.zip)").set_input_files(
        {"name": "export.zip", "mimeType": "application/zip", "buffer": EXPORT}
    )
    visitor.press("Upload and read")
    expect(page.get_by_label("Waiting for the worker")).to_be_visible()
    job_path = visitor.path

    # The page reads its progress again by itself, and says when the worker is done,
    # without reloading (the reader stays where they are).
    run_worker(live_server.app)
    expect(page.get_by_role("status").filter(has_text="The worker has finished this step.")).to_be_visible(
        timeout=15_000
    )
    visitor.follow("Show where the import stands")
    expect(page.get_by_role("table", name="Records new, changed and deactivated")).to_contain_text("Student")
    fits(page)
    visitor.follow("Read every line of the dry run")
    expect(page.get_by_role("table")).to_contain_text("users.csv:4")
    fits(page)

    visitor.open(job_path)
    visitor.press("Write these changes")
    expect(page.get_by_label("Waiting for the worker")).to_be_visible()
    run_worker(live_server.app)
    expect(page.get_by_role("status").filter(has_text="The worker has finished this step.")).to_be_visible(
        timeout=15_000
    )
    visitor.follow("Show where the import stands")
    expect(page.get_by_role("main")).to_contain_text("1 invitation queued, 0 sent.")
    fits(page)


def test_without_javascript_the_progress_is_shown_on_demand(open_visitor, district, live_server):  # type: ignore[no-untyped-def]
    visitor = open_visitor("phone", java_script_enabled=False)
    page = visitor.page
    visitor.sign_in(district.admin.email)
    visitor.open("/admin/roster")
    page.get_by_label("OneRoster export (.zip)").set_input_files(
        {"name": "export.zip", "mimeType": "application/zip", "buffer": EXPORT}
    )
    visitor.press("Upload and read")
    expect(page.get_by_label("Waiting for the worker")).to_be_visible()
    run_worker(live_server.app)
    visitor.follow("Show the progress now")
    expect(page.get_by_role("button", name="Write these changes")).to_be_visible()

"""The Monday metrics email, asked for on the metrics page: only by who may see metrics."""

from sqlalchemy.orm import Session

from tests import factories
from tests.conftest import csrf_token_from


def test_a_lead_turns_the_monday_email_on_and_off_on_the_metrics_page(app, db: Session, sign_in) -> None:
    department = factories.make_department(db, "Transportation")
    lead = factories.make_staff(db)
    factories.join(db, lead, department, supervisor=True)
    browser = sign_in(lead)

    page = browser.get("/staff/metrics/").get_data(as_text=True)
    assert "Every Monday by email" in page
    turned_on = browser.submit("/staff/metrics/weekly-email", {"wanted": "y"}, page="/staff/metrics/")
    assert turned_on.status_code == 302
    db.refresh(lead)
    assert lead.weekly_summary_email is True
    browser.submit("/staff/metrics/weekly-email", {}, page="/staff/metrics/")
    db.refresh(lead)
    assert lead.weekly_summary_email is False


def test_staff_who_lead_nothing_cannot_ask_for_the_monday_email(app, db: Session, sign_in) -> None:
    plain = factories.make_staff(db)
    browser = sign_in(plain)
    token_page = browser.get("/security/").get_data(as_text=True)
    refused = browser.client.post(
        "/staff/metrics/weekly-email", data={"csrf_token": csrf_token_from(token_page), "wanted": "y"}
    )
    assert refused.status_code == 403
    db.refresh(plain)
    assert plain.weekly_summary_email is False

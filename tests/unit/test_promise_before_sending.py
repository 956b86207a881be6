"""services.requests.first_replies_if_sent: the promise the new-request form shows before a
request is sent is the one the request gets when it is sent at that moment."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.models import Priority, ReplyTarget
from portal.services import departments, requests
from portal.services.requests.business_time import Calendar
from portal.services.requests.intake import NewRequest
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
OFFICE = Calendar(LA, {day: ((time(8), time(16, 30)),) for day in range(5)})
FRIDAY_4PM = datetime(2026, 11, 6, 16, 0, tzinfo=LA).astimezone(UTC)


def test_the_form_promises_what_sending_then_promises(db):
    quick, slow = factories.make_department(db, "Attendance"), factories.make_department(db, "Enrollment")
    db.add(
        ReplyTarget(
            department_id=quick.id,
            priority=Priority.NORMAL,
            first_reply_minutes=60,
            next_reply_minutes=60,
            resolution_minutes=600,
        )
    )
    db.commit()
    targets = departments.first_reply_targets(db, (quick.id, slow.id), Priority.NORMAL)

    promised = requests.first_replies_if_sent(db, targets, now=FRIDAY_4PM, calendar=OFFICE)

    # Half an hour on Friday, the rest on Monday morning: never in the weekend.
    assert promised[quick.id] == datetime(2026, 11, 9, 8, 30, tzinfo=LA).astimezone(UTC)
    assert promised[slow.id] > promised[quick.id]
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    for department in (quick, slow):
        sent, _is_new = requests.submit_request(
            db, guardian, NewRequest(department.id, "Question", "Text"), calendar=OFFICE, now=FRIDAY_4PM
        )
        assert sent.first_reply_due_at == promised[department.id]


def test_no_department_no_promise(db):
    assert requests.first_replies_if_sent(db, {}, now=FRIDAY_4PM, calendar=OFFICE) == {}
    assert requests.first_replies_if_sent(db, {1: timedelta(0)}, now=FRIDAY_4PM, calendar=OFFICE) == {1: FRIDAY_4PM}

"""The metrics' backfill: a database from before the facts gets them from what it stored,
once (a second run adds nothing); the demo data and the scale generator end with facts."""

import pytest
from sqlalchemy import delete, func, select

from portal.models import ClockKind, ClockStop, Feedback, Request
from portal.services import metrics
from portal.services.metrics import backfill
from tests.unit.test_metrics import CAL, NOW, P, Scene, build_district


@pytest.fixture
def district(db) -> Scene:
    return build_district(db)


def _facts(db) -> list[tuple]:
    rows = db.execute(
        select(
            ClockStop.request_id,
            ClockStop.kind,
            ClockStop.department_id,
            ClockStop.user_id,
            ClockStop.started_at,
            ClockStop.due_at,
            ClockStop.stopped_at,
            ClockStop.business_seconds,
            ClockStop.on_time,
            ClockStop.attempts,
        )
    ).all()
    return sorted(tuple(row) for row in rows)


def _by_kind(facts: list[tuple], kind: ClockKind) -> list[tuple]:
    return [fact for fact in facts if fact[1] == kind]


def test_backfill_rebuilds_the_facts_once(db, district):
    written_by_services = _facts(db)
    db.execute(delete(ClockStop))
    db.execute(Feedback.__table__.update().values(first_response_at=None, first_response_business_seconds=None))
    db.commit()
    commits = []
    written = backfill.backfill(db, calendar=CAL, batch_size=3, after_batch=lambda: commits.append(1))
    db.commit()
    first_run = _facts(db)
    assert written == len(first_run) and len(commits) >= 3  # 8 requests in batches of 3, then feedback
    # What the rows and the audit trail keep gives back the services' first replies (R5's
    # toward T, which answered it before the transfer), replies, next replies and call-backs.
    for kind in (ClockKind.FIRST_REPLY, ClockKind.REPLY, ClockKind.NEXT_REPLY, ClockKind.REOPEN):
        expected = _by_kind(written_by_services, kind)
        rebuilt = _by_kind(first_run, kind)
        if kind is ClockKind.REOPEN:  # the audit trail does not say who reopened
            expected = [(*fact[:3], None, *fact[4:]) for fact in expected]
        assert rebuilt == expected, kind
    for kind in (ClockKind.CALLBACK, ClockKind.CALLBACK_FAILED):
        assert [(f[0], f[1], f[6], f[8], f[9]) for f in _by_kind(first_run, kind)] == [
            (f[0], f[1], f[6], f[8], f[9]) for f in _by_kind(written_by_services, kind)
        ]
    # The last resolution of each request, with its pauses left out (R3: 12 600 s).
    resolutions = [(fact[6], fact[7], fact[8]) for fact in _by_kind(first_run, ClockKind.RESOLUTION)]
    last_resolutions = {}
    for fact in _by_kind(written_by_services, ClockKind.RESOLUTION):
        if fact[0] not in last_resolutions or fact[6] > last_resolutions[fact[0]][0]:
            last_resolutions[fact[0]] = (fact[6], fact[7], fact[8])
    assert sorted(resolutions) == sorted(last_resolutions.values())
    assert db.scalar(select(func.count()).where(Feedback.first_response_business_seconds.is_not(None))) == 2

    # Idempotent: the second run writes nothing and changes nothing.
    assert backfill.backfill(db, calendar=CAL) == 0
    db.commit()
    assert _facts(db) == first_run
    scope = metrics.metrics_scope_for(db, district.sup)
    assert metrics.dashboard(db, scope, P, now=NOW).current.first_reply.median_seconds == 5400


def test_backfill_completes_a_request_answered_before_the_facts(db, district):
    """Answered before the facts, resolved after: the first reply is built, the resolution kept."""
    r3 = db.scalar(select(Request).where(Request.resolution_paused_seconds > 0))
    db.execute(delete(ClockStop).where(ClockStop.request_id == r3.id, ClockStop.kind != ClockKind.RESOLUTION))
    db.commit()
    # Before its resolution (Fri 10:00): the first reply and the next, each with its reply event.
    assert backfill.backfill(db, calendar=CAL) == 4
    db.commit()
    kinds = sorted(db.scalars(select(ClockStop.kind).where(ClockStop.request_id == r3.id)))
    assert kinds == sorted(
        [ClockKind.FIRST_REPLY, ClockKind.REPLY, ClockKind.RESOLUTION, ClockKind.NEXT_REPLY, ClockKind.REPLY]
    )
    assert backfill.backfill(db, calendar=CAL) == 0


def test_the_cli_command(db, runner, district):
    db.execute(delete(ClockStop))
    db.commit()
    result = runner.invoke(args=["metrics-backfill", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "metrics facts" in result.output
    assert db.scalar(select(func.count()).select_from(ClockStop)) > 0
    again = runner.invoke(args=["metrics-backfill"])
    assert "Wrote 0 metrics facts" in again.output


def test_demo_and_scale_data_end_with_facts(db, runner):
    assert runner.invoke(args=["seed-demo", "--scale", "60"]).exit_code == 0
    replied = db.scalar(select(func.count()).where(Request.first_replied_at.is_not(None)))
    first_replies = db.scalar(select(func.count()).where(ClockStop.kind == ClockKind.FIRST_REPLY))
    assert replied and first_replies == replied
    assert backfill.backfill(db) == 0

"""Whether a safety alert not cleared yet flags a request or a feedback: the queues' mark.

The models of requests and feedback read it as a column of their own (`flagged`), so
that a queue gets it in its page's statement. The alerts' table is named here, not
imported: its model (portal/models/safety.py) refers to theirs."""

from typing import Any

from sqlalchemy import Exists, column, exists, table

_ALERTS = table("safety_alert", column("request_id"), column("feedback_id"), column("cleared_at"))


def flagged_by_an_alert(alert_column: str, row_id: Any) -> Exists:
    """True while an alert on the row (`alert_column`: "request_id" or "feedback_id")
    is not cleared."""
    return exists().where(_ALERTS.c[alert_column] == row_id, _ALERTS.c.cleared_at.is_(None))

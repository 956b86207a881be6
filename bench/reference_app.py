"""The reference page of the benchmark: the least a Flask + SQLAlchemy page can do.

One view reads 25 rows of a 10 000-row table (the newest first, on the primary key) in
one SQLAlchemy session and renders them through a Jinja template. bench/bench.py
serves it with the same gunicorn, workers and PostgreSQL as the portal, loads it with
wrk in the same run, and reports each portal page as a share of its requests/s: a
figure that compares across machines and across runs on a shared, noisy one.

No sign-in, no session, no CSRF, no translations, no access log: what the portal's
pages add on top of this is what the ratios show.

    PORTAL_REFERENCE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench_reference \\
        gunicorn --pythonpath bench reference_app:app
"""

import os
from datetime import UTC, datetime, timedelta

from flask import Flask, render_template
from sqlalchemy import DateTime, String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ROWS, PAGE_SIZE = 10_000, 25


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "reference_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Reference</title></head>
<body>
<main>
<h1>Items</h1>
<table>
<thead><tr><th>#</th><th>Subject</th><th>Status</th><th>Created</th></tr></thead>
<tbody>
{% for item in items %}
<tr><td><a href="/items/{{ item.id }}">{{ item.id }}</a></td><td>{{ item.subject }}</td>
<td>{{ item.status }}</td><td>{{ item.created_at.strftime("%Y-%m-%d %H:%M") }}</td></tr>
{% endfor %}
</tbody>
</table>
</main>
</body>
</html>
"""


def fill(database_url: str) -> None:
    """Create the table with ROWS rows, unless it holds them already."""
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        if db.scalar(select(func.count()).select_from(Item)) == ROWS:
            return
        db.query(Item).delete()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        statuses = ("open", "in_progress", "waiting", "resolved")
        db.add_all(
            Item(
                id=number,
                subject=f"Question number {number} about the bus route",
                status=statuses[number % 4],
                created_at=start + timedelta(minutes=number),
            )
            for number in range(1, ROWS + 1)
        )
        db.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE reference_item")
    engine.dispose()


def create_app(database_url: str) -> Flask:
    app = Flask(__name__)
    engine = create_engine(database_url)
    # Compiled once, as Flask's loader does for a template file (cached after the first use).
    template = app.jinja_env.from_string(TEMPLATE)

    @app.get("/")
    def items() -> str:
        with Session(engine) as db:
            rows = list(db.scalars(select(Item).order_by(Item.id.desc()).limit(PAGE_SIZE)))
            return render_template(template, items=rows)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


app = create_app(os.environ["PORTAL_REFERENCE_DATABASE_URL"]) if "PORTAL_REFERENCE_DATABASE_URL" in os.environ else None

"""metrics facts, district data in other languages, saved replies, the weekly summary

The facts of requests stored before this revision are built by `flask metrics-backfill`.

Revision ID: c4a8e2f6b913
Revises: 2b7f9c4e8a16
Create Date: 2026-12-04 23:12:18.004159
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "c4a8e2f6b913"
down_revision: str | None = "2b7f9c4e8a16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weekly_summary_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("queued_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_summary_run")),
        sa.UniqueConstraint("week_start", name=op.f("uq_weekly_summary_run_week_start")),
    )
    op.create_table(
        "saved_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("translations", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_saved_reply_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_saved_reply_updated_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_reply")),
    )
    op.create_index("ix_saved_reply_department", "saved_reply", ["department_id", "is_active", "title"], unique=False)
    op.create_table(
        "clock_stop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "first_reply",
                "next_reply",
                "resolution",
                "callback",
                "callback_failed",
                "reply",
                "reopen",
                name="clockkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("started_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_seconds", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_clock_stop_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["request.id"], name=op.f("fk_clock_stop_request_id_request"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_clock_stop_school_id_school"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_clock_stop_user_id_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_stop")),
    )
    op.create_index(
        "ix_clock_stop_department_kind_due",
        "clock_stop",
        ["department_id", "kind", "due_at", "stopped_at"],
        unique=False,
    )
    op.create_index(
        "ix_clock_stop_department_kind_stopped",
        "clock_stop",
        ["department_id", "kind", "stopped_at", "business_seconds", "on_time"],
        unique=False,
    )
    op.create_index("ix_clock_stop_kind_due", "clock_stop", ["kind", "due_at", "stopped_at"], unique=False)
    op.create_index(
        "ix_clock_stop_kind_stopped", "clock_stop", ["kind", "stopped_at", "business_seconds", "on_time"], unique=False
    )
    op.create_index(op.f("ix_clock_stop_request_id"), "clock_stop", ["request_id"], unique=False)
    op.create_index("ix_clock_stop_user_kind_stopped", "clock_stop", ["user_id", "kind", "stopped_at"], unique=False)
    op.add_column("closure", sa.Column("translations", sa.JSON(), server_default="{}", nullable=False))
    op.add_column("department", sa.Column("metrics_public", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("department", sa.Column("translations", sa.JSON(), server_default="{}", nullable=False))
    op.add_column("feedback", sa.Column("first_response_at", portal.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("feedback", sa.Column("first_response_business_seconds", sa.Integer(), nullable=True))
    op.create_index("ix_feedback_first_response", "feedback", ["first_response_at"], unique=False)
    op.create_index("ix_feedback_rating", "feedback", ["rating", sa.literal_column("created_at DESC")], unique=False)
    op.add_column("feedback_tag", sa.Column("translations", sa.JSON(), server_default="{}", nullable=False))
    op.create_index("ix_request_department_created", "request", ["department_id", "created_at"], unique=False)
    op.create_index("ix_request_due", "request", ["due_at", "id"], unique=False)
    op.create_index("ix_satisfaction_rating_created", "satisfaction_rating", ["created_at"], unique=False)
    op.add_column("school", sa.Column("translations", sa.JSON(), server_default="{}", nullable=False))
    op.add_column("user", sa.Column("weekly_summary_email", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("user", "weekly_summary_email")
    op.drop_column("school", "translations")
    op.drop_index("ix_satisfaction_rating_created", table_name="satisfaction_rating")
    op.drop_index("ix_request_due", table_name="request")
    op.drop_index("ix_request_department_created", table_name="request")
    op.drop_column("feedback_tag", "translations")
    op.drop_index("ix_feedback_rating", table_name="feedback")
    op.drop_index("ix_feedback_first_response", table_name="feedback")
    op.drop_column("feedback", "first_response_business_seconds")
    op.drop_column("feedback", "first_response_at")
    op.drop_column("department", "translations")
    op.drop_column("department", "metrics_public")
    op.drop_column("closure", "translations")
    op.drop_index("ix_clock_stop_user_kind_stopped", table_name="clock_stop")
    op.drop_index(op.f("ix_clock_stop_request_id"), table_name="clock_stop")
    op.drop_index("ix_clock_stop_kind_stopped", table_name="clock_stop")
    op.drop_index("ix_clock_stop_kind_due", table_name="clock_stop")
    op.drop_index("ix_clock_stop_department_kind_stopped", table_name="clock_stop")
    op.drop_index("ix_clock_stop_department_kind_due", table_name="clock_stop")
    op.drop_table("clock_stop")
    op.drop_index("ix_saved_reply_department", table_name="saved_reply")
    op.drop_table("saved_reply")
    op.drop_table("weekly_summary_run")

"""call-backs and their attempts

Revision ID: 2b7f9c4e8a16
Revises: 5e8c3a1d7b92
Create Date: 2026-12-04 19:49:02.506023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "2b7f9c4e8a16"
down_revision: str | None = "5e8c3a1d7b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=60), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.Column("window_starts", sa.String(length=5), nullable=False),
        sa.Column("window_ends", sa.String(length=5), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "reached",
                "needs_new_time",
                "wrong_number",
                "cancelled",
                name="callbackstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["asked_by_id"], ["user.id"], name=op.f("fk_callback_asked_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["request.id"], name=op.f("fk_callback_request_id_request"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback")),
    )
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_asked_by_id"), ["asked_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_callback_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_callback_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "call_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "reached", "voicemail", "no_answer", "wrong_number", name="calloutcome", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["callback_id"], ["callback.id"], name=op.f("fk_call_attempt_callback_id_callback"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["user.id"], name=op.f("fk_call_attempt_staff_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempt")),
    )
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_attempt_callback_id"), ["callback_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_attempt_staff_id"), ["staff_id"], unique=False)

    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_due_at", portal.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_column("callback_due_at")

    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_attempt_staff_id"))
        batch_op.drop_index(batch_op.f("ix_call_attempt_callback_id"))

    op.drop_table("call_attempt")
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_status_due")
        batch_op.drop_index(batch_op.f("ix_callback_request_id"))
        batch_op.drop_index(batch_op.f("ix_callback_asked_by_id"))

    op.drop_table("callback")

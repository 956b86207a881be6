"""safety alerts, terms and team

Revision ID: 5e8c3a1d7b92
Revises: 9d4b1e6f2a37
Create Date: 2026-12-04 19:24:26.847486
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "5e8c3a1d7b92"
down_revision: str | None = "9d4b1e6f2a37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "safety_team_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_safety_team_member_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_team_member")),
        sa.UniqueConstraint("user_id", name=op.f("uq_safety_team_member_user_id")),
    )
    op.create_table(
        "safety_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(length=120), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "self_harm",
                "suicide",
                "violence",
                "weapons",
                "abuse",
                "bullying",
                name="safetycategory",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("is_benign", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_safety_term_created_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_term")),
        sa.UniqueConstraint("phrase", name=op.f("uq_safety_term_phrase")),
    )
    with op.batch_alter_table("safety_term", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_term_created_by_id"), ["created_by_id"], unique=False)

    op.create_table(
        "safety_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("feedback_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "self_harm",
                "suicide",
                "violence",
                "weapons",
                "abuse",
                "bullying",
                name="safetycategory",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("term", sa.String(length=120), nullable=False),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notified_user_id", sa.Integer(), nullable=True),
        sa.Column("notified_count", sa.Integer(), nullable=False),
        sa.Column("next_notify_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("cleared_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_by_id", sa.Integer(), nullable=True),
        sa.Column("clear_reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["user.id"],
            name=op.f("fk_safety_alert_acknowledged_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["cleared_by_id"], ["user.id"], name=op.f("fk_safety_alert_cleared_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_safety_alert_feedback_id_feedback"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_safety_alert_household_id_household"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["request_message.id"],
            name=op.f("fk_safety_alert_message_id_request_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notified_user_id"], ["user.id"], name=op.f("fk_safety_alert_notified_user_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["request.id"], name=op.f("fk_safety_alert_request_id_request"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_alert")),
    )
    with op.batch_alter_table("safety_alert", schema=None) as batch_op:
        batch_op.create_index("ix_safety_alert_created", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_alert_feedback_id"), ["feedback_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_alert_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_alert_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_alert_next_notify_at"), ["next_notify_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_alert_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("safety_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_alert_request_id"))
        batch_op.drop_index(batch_op.f("ix_safety_alert_next_notify_at"))
        batch_op.drop_index(batch_op.f("ix_safety_alert_message_id"))
        batch_op.drop_index(batch_op.f("ix_safety_alert_household_id"))
        batch_op.drop_index(batch_op.f("ix_safety_alert_feedback_id"))
        batch_op.drop_index("ix_safety_alert_created")

    op.drop_table("safety_alert")
    with op.batch_alter_table("safety_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_term_created_by_id"))

    op.drop_table("safety_term")
    op.drop_table("safety_team_member")

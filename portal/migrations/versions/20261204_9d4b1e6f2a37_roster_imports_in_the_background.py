"""roster imports in the background, guardians in several households

Revision ID: 9d4b1e6f2a37
Revises: 7c2e9a4b5d10
Create Date: 2026-12-04 18:50:57.513116
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "9d4b1e6f2a37"
down_revision: str | None = "7c2e9a4b5d10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "planning",
                "planned",
                "apply_queued",
                "applying",
                "done",
                "failed",
                "discarded",
                name="importstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("invite_guardians", sa.Boolean(), nullable=False),
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("claimed_until", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("applied_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("planned_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["applied_by_id"], ["user.id"], name=op.f("fk_import_job_applied_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_import_job_created_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_job_applied_by_id"), ["applied_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_job_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_job_status"), ["status"], unique=False)

    op.create_table(
        "import_job_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column(
            "change",
            sa.Enum(
                "new", "changed", "deactivated", "refused", "warning", name="importchange", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("record", sa.String(length=20), nullable=False),
        sa.Column("sourced_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("file", sa.String(length=40), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_import_job_row_job_id_import_job"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job_row")),
    )
    with op.batch_alter_table("import_job_row", schema=None) as batch_op:
        batch_op.create_index("ix_import_job_row_job_change", ["job_id", "change", "id"], unique=False)

    with op.batch_alter_table("guardianship", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_guardianship_user_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_guardianship_user_id"), ["user_id"], unique=False)
        batch_op.create_unique_constraint("uq_guardianship_household_user", ["household_id", "user_id"])

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_job_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invitation_import_job_id"), ["import_job_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_invitation_import_job_id_import_job"),
            "import_job",
            ["import_job_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("school", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sis_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_school_sis_id"), ["sis_id"])

    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("deactivated_at", portal.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sis_id", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_user_sis_id"), ["sis_id"])


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_user_sis_id"), type_="unique")
        batch_op.drop_column("sis_id")

    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
        batch_op.drop_column("is_active")

    with op.batch_alter_table("school", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_school_sis_id"), type_="unique")
        batch_op.drop_column("is_active")
        batch_op.drop_column("sis_id")

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invitation_import_job_id_import_job"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invitation_import_job_id"))
        batch_op.drop_column("import_job_id")

    with op.batch_alter_table("guardianship", schema=None) as batch_op:
        batch_op.drop_constraint("uq_guardianship_household_user", type_="unique")
        batch_op.drop_index(batch_op.f("ix_guardianship_user_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_guardianship_user_id"), ["user_id"])

    with op.batch_alter_table("import_job_row", schema=None) as batch_op:
        batch_op.drop_index("ix_import_job_row_job_change")

    op.drop_table("import_job_row")
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_job_status"))
        batch_op.drop_index(batch_op.f("ix_import_job_created_by_id"))
        batch_op.drop_index(batch_op.f("ix_import_job_applied_by_id"))

    op.drop_table("import_job")

from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column

from portal.db import Base

# District data in the other languages, by language code then field:
# {"es": {"name": "Transporte", "description": "..."}}. English stays in the row's own
# columns; a language or field missing here shows the English (services/translated.py).
# A JSON column, so a third language needs no schema change.
Translations = dict[str, dict[str, str]]


def translations_column() -> MappedColumn[Translations]:
    return mapped_column(JSON, default=dict, server_default="{}")


class School(Base):
    __tablename__ = "school"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The school's sourcedId in a OneRoster export.
    sis_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    # False once the SIS no longer lists it: no longer offered, kept for the history.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    translations: Mapped[Translations] = translations_column()


class Department(Base):
    __tablename__ = "department"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(default=True)
    # An administrator's opt-in: the public "how we are doing" page shows its figures.
    metrics_public: Mapped[bool] = mapped_column(default=False, server_default=false())
    translations: Mapped[Translations] = translations_column()


class DepartmentMember(Base):
    """A staff member's place in a department; a supervisor hears about overdue replies."""

    __tablename__ = "department_member"
    __table_args__ = (UniqueConstraint("department_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    is_supervisor: Mapped[bool] = mapped_column(default=False)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ReplyTarget(Base):
    """How fast a department promises to answer, in business minutes, for one priority."""

    __tablename__ = "reply_target"
    __table_args__ = (UniqueConstraint("department_id", "priority"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), index=True)
    priority: Mapped[Priority]
    first_reply_minutes: Mapped[int]
    next_reply_minutes: Mapped[int]
    resolution_minutes: Mapped[int]

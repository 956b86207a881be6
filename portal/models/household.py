from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.models.district import School
from portal.models.user import User


class GuardianRelationship(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    PARENT = "parent"
    GRANDMOTHER = "grandmother"
    GRANDFATHER = "grandfather"
    STEPMOTHER = "stepmother"
    STEPFATHER = "stepfather"
    AUNT = "aunt"
    UNCLE = "uncle"
    FOSTER_PARENT = "foster_parent"
    LEGAL_GUARDIAN = "legal_guardian"
    OTHER = "other"


class Household(Base):
    __tablename__ = "household"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    # The family's key in the student information system, for imports.
    sis_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What staff search a family by: the household's, guardians' and students' names, accents
    # folded, a line each; written by services/households/search_text.py, never read into pages.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="", deferred=True)

    guardianships: Mapped[list["Guardianship"]] = relationship(
        back_populates="household", lazy="raise", order_by="Guardianship.id"
    )
    students: Mapped[list["Student"]] = relationship(back_populates="household", lazy="raise", order_by="Student.id")


class Guardianship(Base):
    """A guardian's membership of a household, with their relationship to its students.

    A guardian may belong to several households (shared custody: each parent's new
    family); the account sees the students and requests of every one of them.
    """

    __tablename__ = "guardianship"
    __table_args__ = (UniqueConstraint("household_id", "user_id", name="uq_guardianship_household_user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # active_history: the household a row leaves is known when it moves, loaded or not, so
    # that both households' search text is rewritten (services/households/search_text.py).
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), index=True, active_history=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    relationship_to_students: Mapped[GuardianRelationship] = mapped_column(default=GuardianRelationship.PARENT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    household: Mapped[Household] = relationship(back_populates="guardianships", lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")


class Student(Base):
    __tablename__ = "student"
    __table_args__ = (Index("ix_student_name", "last_name", "first_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # active_history: the household a row leaves is known when it moves, loaded or not, so
    # that both households' search text is rewritten (services/households/search_text.py).
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), index=True, active_history=True
    )
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    grade: Mapped[str] = mapped_column(String(4), default="")
    sis_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    # False once the SIS no longer lists the student: kept, with its household's history.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    household: Mapped[Household] = relationship(back_populates="students", lazy="raise")
    school: Mapped[School | None] = relationship(lazy="raise")

    @hybrid_property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @full_name.inplace.expression
    @classmethod
    def _full_name_in_sql(cls) -> ColumnElement[str]:
        return cls.first_name + " " + cls.last_name

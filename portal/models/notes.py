from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.models.user import User


class NoteCategory(StrEnum):
    LANGUAGE = "language"
    PICKUP = "pickup"
    ACCESSIBILITY = "accessibility"
    OTHER = "other"


class AccountNote(Base):
    """What a family wants staff to know. Every revision is kept."""

    __tablename__ = "account_note"
    __table_args__ = (Index("ix_account_note_household", "household_id", "updated_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    category: Mapped[NoteCategory] = mapped_column(default=NoteCategory.OTHER)
    text: Mapped[str] = mapped_column(Text)
    # Grows with every revision: a save based on an older one is refused.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # UPDATEs check and bump the version, so two racing saves cannot both land.
    __mapper_args__ = {"version_id_col": version}

    revisions: Mapped[list["AccountNoteRevision"]] = relationship(
        lazy="raise", order_by="AccountNoteRevision.version.desc()"
    )


class AccountNoteRevision(Base):
    __tablename__ = "account_note_revision"
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("account_note.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    category: Mapped[NoteCategory]
    text_before: Mapped[str | None] = mapped_column(Text)
    text_after: Mapped[str] = mapped_column(Text)
    # Staff say why they changed a family's note; families need not.
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="raise")


class StaffNote(Base):
    """An internal note on a household: staff only, never shown to the family."""

    __tablename__ = "staff_note"
    __table_args__ = (Index("ix_staff_note_household", "household_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="raise")

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class SecurityEvent(Base):
    """What administrators review: failed and limited sign-ins, credential changes,
    token use, refused access. Kept apart from the audit trail of family data."""

    __tablename__ = "security_event"
    __table_args__ = (Index("ix_security_event_kind_time", "kind", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # What was typed at a failed sign-in, which may match no account.
    email: Mapped[str] = mapped_column(String(254), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

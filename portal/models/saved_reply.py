from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow
from portal.models.district import Translations, translations_column


class SavedReply(Base):
    """A reply staff send again and again ("Bus stop changes take two school days..."),
    kept by a department's lead or an administrator, in English and the portal's other
    languages; a request's page offers it in the family's language."""

    __tablename__ = "saved_reply"
    __table_args__ = (Index("ix_saved_reply_department", "department_id", "is_active", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # None: offered to every department (kept by administrators).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    translations: Mapped[Translations] = translations_column()
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

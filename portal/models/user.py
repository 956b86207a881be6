from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    FAMILY = "family"
    STAFF = "staff"
    ADMIN = "admin"


class User(UserMixin, Base):  # type: ignore[misc]  # flask_login ships no type information
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # None until the account is activated through an invitation.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(10), default="en")
    # Indexed: staff lists pick the few staff out of every family's guardians.
    role: Mapped[Role] = mapped_column(default=Role.FAMILY, index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # A guardian's sourcedId in the student information system's OneRoster export.
    sis_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A department lead or administrator who asked for the metrics summary every Monday.
    weekly_summary_email: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Two-factor sign-in (TOTP). A secret without totp_enabled_at is being set up.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last 30-second step a code was accepted for: no code works twice.
    totp_last_step: Mapped[int | None]

    # Set by the session loader: the token of the server-side session this
    # request runs in. Flask-Login keeps get_id() in the signed cookie, so the
    # cookie names a session, not a user, and ending the session ends the cookie.
    session_token = ""

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_family(self) -> bool:
        return self.role == Role.FAMILY

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def needs_two_factor(self) -> bool:
        """Staff and admins always sign in with a second factor; families when they chose to."""
        return self.is_staff or self.has_two_factor


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; only its hash is here."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator app. Only its hash is kept."""

    __tablename__ = "recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailChange(Base):
    """A new address waiting for its owner to confirm it; the account keeps the old one until then."""

    __tablename__ = "email_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    new_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """An emailed link to choose a new password. Only the token's hash is kept, so the
    link says nothing about the account. It works once; a newer link, a sign-in or a
    password change ends the ones still outstanding."""

    __tablename__ = "password_reset"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and now < self.expires_at

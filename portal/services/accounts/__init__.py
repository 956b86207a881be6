"""Accounts and sign-in: who may come in, and how.

- `sign_in`: sign-in, password change and reset links.
- `invitations`: a new account's emailed link and activation code.
- `passwords`: password rules and hashing. `two_factor`: TOTP and recovery codes.
- `sessions`: server-side sessions; sign-out, password change or reset ends them.
- `email_change`: a new address takes effect only once confirmed.
- `staff_accounts`: staff and administrator accounts, managed by administrators.
- `security_events`: the security events administrators review.

Blueprints call the sign-in and invitation names below as `accounts.authenticate(...)`
and import the other modules by name (`from portal.services.accounts import sessions`).
"""

from portal.services.accounts import (
    email_change,
    passwords,
    security_events,
    sessions,
    staff_accounts,
    two_factor,
)
from portal.services.accounts.invitations import (
    CODE_ALPHABET,
    CODE_LENGTH,
    InvitationSettings,
    IssuedInvitation,
    accept_invitation,
    format_code,
    invitation_by_code,
    invitation_by_token,
    invite_new_accounts,
    issue_invitation,
    normalize_code,
)
from portal.services.accounts.sign_in import (
    SIGN_IN_FAILED,
    authenticate,
    change_password,
    find_user_by_email,
    normalize_email,
    request_password_reset,
    reset_password,
    revoke_password_resets,
    set_password,
    user_for_reset_token,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "SIGN_IN_FAILED",
    "InvitationSettings",
    "IssuedInvitation",
    "accept_invitation",
    "authenticate",
    "change_password",
    "email_change",
    "find_user_by_email",
    "format_code",
    "invitation_by_code",
    "invitation_by_token",
    "invite_new_accounts",
    "issue_invitation",
    "normalize_code",
    "normalize_email",
    "passwords",
    "request_password_reset",
    "reset_password",
    "revoke_password_resets",
    "security_events",
    "sessions",
    "set_password",
    "staff_accounts",
    "two_factor",
    "user_for_reset_token",
]

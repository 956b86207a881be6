"""Domain errors. Views attach their message to a form field or let the app answer."""

from portal.catalogs import lazy_gettext as _l


class DomainError(Exception):
    default_message = _l("That could not be done.")

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        # The form field the message belongs next to, when there is one.
        self.field = field
        super().__init__(str(self.message))


class NotFound(DomainError):
    """Missing, or not this user's to see: the two are never told apart to the user.
    `refused` says, for the security log only, that the row exists but is someone else's."""

    default_message = _l("We could not find that page.")

    def __init__(self, message: str | None = None, *, field: str | None = None, refused: bool = False) -> None:
        super().__init__(message, field=field)
        self.refused = refused


class NotAllowed(DomainError):
    default_message = _l("You do not have access to that.")


class InvalidInput(DomainError):
    default_message = _l("Please check what you entered.")


class InvalidToken(DomainError):
    default_message = _l("This link or code is not valid any more. Ask for a new one.")


class Conflict(DomainError):
    default_message = _l("Someone else changed this in the meantime.")

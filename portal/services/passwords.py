"""Password rules and hashing.

Argon2id hashes every byte of a passphrase (bcrypt silently stops at 72), and
the cost is set from the configuration at start-up.
"""

import gzip
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from portal.services.errors import InvalidInput

_hasher = PasswordHasher()

MIN_LENGTH = 12
MAX_LENGTH = 1024


def configure(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no hash, still spends the time of a check."""
    try:
        if password_hash is None:
            _hasher.verify(_dummy_hash(), password + "\x00never")
            return False
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("an unknown account spends as long as a known one")


@cache
def common_passwords() -> frozenset[str]:
    # The 20 000 most common passwords, from Django's list (BSD licence).
    data = resources.files("portal").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


# Runs along a keyboard or the alphabet ("qwertyuiopas", "1qaz2wsx3edc"): easy to
# type, first in every guessing list.
KEYBOARD_RUNS = (
    "qwertyuiopasdfghjklzxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "qwertzuiopasdfghjklyxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "abcdefghijklmnopqrstuvwxyz",
    "1234567890",
)


def _is_run(text: str) -> bool:
    return any(text in run or text in run[::-1] for run in KEYBOARD_RUNS)


def _is_repetition(password: str) -> bool:
    for size in range(1, len(password) // 2 + 1):
        if len(password) % size == 0 and password[:size] * (len(password) // size) == password:
            return True
    return False


def is_common(password: str) -> bool:
    """A common password, or one padded with digits and symbols, or a repeated pattern."""
    lowered = password.lower()
    if lowered in common_passwords() or _is_repetition(lowered) or _is_run(lowered):
        return True
    core = lowered.strip("0123456789!@#$%^&*()-_=+.,?~ ")
    return len(core) >= 4 and (core in common_passwords() or _is_repetition(core) or _is_run(core))


def check_new_password(password: str, *, min_length: int = MIN_LENGTH, context: tuple[str, ...] = ()) -> None:
    """Raise InvalidInput (for the `password` field) when the password may not be used."""
    if len(password) < min_length:
        raise InvalidInput(
            _l("Use at least %(count)d characters. A few words in a row are easy to remember.", count=min_length),
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=MAX_LENGTH), field="password")
    lowered = password.lower()
    if is_common(password) or any(part and part.lower() in lowered for part in context if len(part) >= 4):
        raise InvalidInput(
            _l("This password is too common or too easy to guess. Try a few unrelated words."),
            field="password",
        )

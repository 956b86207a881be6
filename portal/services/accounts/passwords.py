"""Password rules and hashing.

Argon2id hashes every byte of a passphrase (bcrypt silently stops at 72), and
the cost is set from the configuration at start-up.
"""

import gzip
import re
import string
import unicodedata
from collections.abc import Iterator
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.catalogs import lazy_gettext as _l
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
    # The 100 000 most common passwords of SecLists (MIT) and Django's 20 000 (BSD),
    # lower-cased: portal/data/README.md says where they came from. Loaded once.
    data = resources.files("portal").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode().splitlines() if line.strip())


@cache
def _longest_common() -> int:
    return max(map(len, common_passwords()))


# Runs along a keyboard or the alphabet ("qwertyuiopas", "1qaz2wsx3edc"): easy to
# type, first in every guessing list. A run may go round its row: "123456789012"
# goes on past the 0, as fingers do.
KEYBOARD_RUNS = (
    "qwertyuiopasdfghjklzxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "qwertzuiopasdfghjklyxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "abcdefghijklmnopqrstuvwxyz",
    "1234567890",
)

# What people add around a word to pass a rule: "Password123!", "!!summer2024".
PADDING = frozenset(string.digits + string.punctuation + " ")

# The least a guessable core must have to count: shorter words padded with many
# digits are as hard to guess as the digits.
MIN_CORE = 4


def _is_run(text: str) -> bool:
    for run in KEYBOARD_RUNS:
        around = run * (len(text) // len(run) + 2)
        if text in around or text in around[::-1]:
            return True
    return False


def _is_repetition(password: str) -> bool:
    for size in range(1, len(password) // 2 + 1):
        if len(password) % size == 0 and password[:size] * (len(password) // size) == password:
            return True
    return False


def _cores(lowered: str) -> Iterator[str]:
    """The password without each possible amount of padding before and after it.

    Every split is tried, not only the widest, so that digits that belong to the word
    ("abc123" in "abc12345!!") are not taken for padding."""
    lead = len(lowered) - len(lowered.lstrip("".join(PADDING)))
    trail = len(lowered) - len(lowered.rstrip("".join(PADDING)))
    longest = _longest_common()
    for start in range(lead + 1):
        shortest_end = max(len(lowered) - trail, start + MIN_CORE)
        for end in range(min(len(lowered), start + longest), shortest_end - 1, -1):
            yield lowered[start:end]


def _is_guessable(text: str) -> bool:
    return text in common_passwords() or _is_repetition(text) or _is_run(text)


def is_common(password: str) -> bool:
    """A common password, or one padded with digits and symbols, a repeated pattern,
    a keyboard run, or nothing but digits and symbols (a date, a phone number)."""
    lowered = _normalized(password).lower()
    if _is_guessable(lowered) or all(ch in PADDING for ch in lowered):
        return True
    stripped = lowered.strip("".join(PADDING))
    if len(stripped) >= MIN_CORE and (_is_repetition(stripped) or _is_run(stripped)):
        return True
    return any(core in common_passwords() for core in _cores(lowered))


def personal_context(email: str, display_name: str) -> tuple[str, ...]:
    """The words of an account that its password must not be built on: the whole email,
    its local part and the words in it, the mail domain's name, the person's names."""
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    name = display_name.strip().lower()
    parts = {email, local, name, domain.split(".")[0], *_words(local), *_words(name)}
    return tuple(sorted(part for part in parts if part))


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[\W_\d]+", text) if word]


def is_personal(password: str, context: tuple[str, ...]) -> bool:
    """Built on the account's own email or name: contains a part of four letters or more,
    or is a shorter part with padding around it ("ana2024!!")."""
    lowered = _normalized(password).lower()
    stripped = lowered.strip("".join(PADDING))
    for part in (_normalized(part).lower() for part in context):
        if (len(part) >= MIN_CORE and part in lowered) or (part and stripped == part):
            return True
    return False


def _normalized(text: str) -> str:
    """The text as it reads: full-width digits and letters as plain ones (NFKC), every
    kind of space as a space, invisible format characters dropped, so that a phone
    keyboard's full-width digits or a no-break space do not slip past the lists."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch) != "Cf")


def check_new_password(password: str, *, min_length: int = MIN_LENGTH, context: tuple[str, ...] = ()) -> None:
    """Raise InvalidInput (for the `password` field) when the password may not be used.

    `context`: the account's own words (personal_context), which it must not be built on."""
    if len(password) < min_length:
        raise InvalidInput(
            _l("Use at least %(count)d characters. A few words in a row are easy to remember.", count=min_length),
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=MAX_LENGTH), field="password")
    if is_common(password):
        raise InvalidInput(
            _l("This password is too common or too easy to guess. Try a few unrelated words."),
            field="password",
        )
    if is_personal(password, context):
        raise InvalidInput(
            _l("Do not build your password on your email address or your name. Try a few unrelated words."),
            field="password",
        )

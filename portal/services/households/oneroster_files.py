"""Reading the files of a OneRoster export safely: the zip's members counted and sized
before anything is unpacked, each CSV's encoding found (UTF-8, else cp1252 as Windows
spreadsheet programs save), its columns matched by name whatever their case, its rows
streamed with the line each starts on and a row limit, and the few cleaning helpers the
reader applies to every value (control characters, lengths, dates, email addresses)."""

import codecs
import csv
import functools
import io
import lzma
import operator
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

from email_validator import EmailNotValidError, validate_email

from portal.catalogs import lazy_gettext as _l
from portal.services.errors import InvalidInput

MAX_MEMBERS = 50
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Most addresses are plainly fine; the others are for email_validator to judge, which is slower.
PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+'-]+(?:\.[a-z0-9_%+'-]+)*"  # the local part: dot-separated words
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"  # the domain's labels
    r"(?!(?:arpa|invalid|local|localhost|onion|test)$)[a-z]{2,63}"  # and a top level domain for mail
)
# What a damaged zip or CSV raises while it is read (ValueError includes UnicodeError).
UNREADABLE: tuple[type[Exception], ...] = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)
UNREADABLE += (NotImplementedError, RuntimeError, ValueError, csv.Error)

Opener = Callable[[], IO[bytes]]


def refusal(message: object) -> InvalidInput:
    return InvalidInput(str(message), field="file")


def export_files(source: bytes | Mapping[str, bytes]) -> dict[str, Opener]:
    """The export's files by lowercased name, sizes checked before anything is unpacked."""
    if isinstance(source, Mapping):
        files = {name.replace("\\", "/").rpartition("/")[2].lower(): data for name, data in source.items()}
        check_size(len(files), sum(len(data) for data in files.values()))
        return {name: functools.partial(io.BytesIO, data) for name, data in files.items()}
    try:
        archive = zipfile.ZipFile(io.BytesIO(source))
        members = archive.infolist()
    except UNREADABLE as error:
        raise refusal(_l("This is not a OneRoster export: choose the .zip file the SIS exported.")) from error
    check_size(len(members), sum(member.file_size for member in members))
    found: dict[str, Opener] = {}
    for member in members:
        name = member.filename.replace("\\", "/").rpartition("/")[2].lower()
        if not name:  # a folder ("schools/"), or a damaged entry with no name at all
            continue
        if name in found:
            raise refusal(_l("The zip holds %(file)s twice. Export it again.", file=name))
        found[name] = functools.partial(archive.open, member)
    return found


def check_size(members: int, size: int) -> None:
    if members > MAX_MEMBERS:
        raise refusal(_l("The export holds more than %(count)d files.", count=MAX_MEMBERS))
    if size > MAX_UNCOMPRESSED_BYTES:
        megabytes = MAX_UNCOMPRESSED_BYTES // 2**20
        raise refusal(_l("The export is larger than %(size)d MB unzipped. Export fewer schools.", size=megabytes))


@contextmanager
def reading(name: str) -> Iterator[None]:
    try:
        yield
    except UNREADABLE as error:
        message = _l("%(file)s could not be read: the export may be damaged. Export it again.", file=name)
        raise refusal(message) from error


def encoding(opener: Opener) -> str:
    """UTF-8 when the whole file is; else cp1252, as spreadsheet programs on Windows still save CSV."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with opener() as stream:
        try:
            while chunk := stream.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


class Table:
    """One CSV file of the export: its columns by lowercased name, then its rows and their line numbers."""

    def __init__(self, name: str, opener: Opener, required: tuple[str, ...], limit: int) -> None:
        self.name, self._opener, self._limit = name, opener, limit
        with reading(name):
            self._encoding = encoding(opener)
            with self._text() as text:
                header = next(csv.reader(text), [])
        self.width = len(header)
        self.columns: dict[str, int] = {}
        for index, title in enumerate(header):
            self.columns.setdefault(title.strip().lstrip("\ufeff").strip().lower(), index)
        if missing := [column for column in required if column not in self.columns]:
            raise refusal(
                _l("%(file)s has no column %(columns)s.", file=name, columns=", ".join(missing))
                if header
                else _l("%(file)s is empty: its first line must name the columns.", file=name)
            )

    def _text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._opener(), self._encoding, errors="replace", newline="")

    def fields(self, columns: tuple[str, ...]) -> Callable[[list[str]], tuple[str, ...]]:
        """Picks these columns (two or more) from a row of rows(): "" for a column the file does not have."""
        return operator.itemgetter(*(self.columns.get(column, self.width) for column in columns))

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Rows that are not blank, with the line each starts on (a quoted field may hold line breaks)."""
        with reading(self.name), self._text() as text:
            reader = csv.reader(text)
            next(reader, None)
            count, previous, width = 0, reader.line_num, self.width
            for row in reader:
                line, previous = previous + 1, reader.line_num
                if len(row) != width:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    row = (row + [""] * width)[:width]
                row.append("")  # what a missing column reads as
                count += 1
                if count > self._limit:
                    raise refusal(_l("%(file)s has more than %(count)d rows.", file=self.name, count=self._limit))
                yield line, row


def clean(text: str) -> str:
    """Readable on one line: control characters removed, single spaces."""
    if text.isprintable() and "  " not in text:
        return text.strip()
    return " ".join(CONTROL.sub(" ", text).split())


def too_long(column: str, value: str, limit: int) -> str | None:
    if len(value) <= limit:
        return None
    return str(_l("%(column)s is longer than %(count)d characters.", column=column, count=limit))


@functools.lru_cache(maxsize=1024)  # exports write the same few moments on many rows
def moment(text: str) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)  # dates, date-times with Z or an offset
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def email_address(text: str) -> str | None:
    email = text.lower()
    if PLAIN_EMAIL.fullmatch(email) and len(email.partition("@")[0]) <= 64:
        return email
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except (EmailNotValidError, ValueError):
        return None


def split_ids(text: str) -> tuple[str, ...]:
    if "," not in text:
        return (text,) if text else ()
    return tuple(part for item in text.split(",") if (part := item.strip()))

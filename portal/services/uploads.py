"""Uploaded files: size-limited, checked to be what they claim, decoded safely.

Nothing in an upload makes the server fetch anything: the content is only read
as text and parsed by the importer that asked for it, within its own limits.
"""

from portal.catalogs import lazy_gettext as _l
from portal.services.errors import InvalidInput

# Signatures of formats people upload by mistake instead of text: a spreadsheet
# (zip or old Office), a PDF, images, gzip, an executable.
BINARY_SIGNATURES = (
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0",
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"\x1f\x8b",
    b"MZ",
)


def read_text_upload(
    data: bytes, filename: str, *, extensions: tuple[str, ...], max_bytes: int, field: str = "file"
) -> str:
    """The upload as text, or InvalidInput saying plainly what is wrong with it."""
    if not data:
        raise InvalidInput(_l("The file is empty. Choose the exported file and try again."), field=field)
    if len(data) > max_bytes:
        raise InvalidInput(_l("The file is too large: at most %(size)d KB.", size=max_bytes // 1024), field=field)
    if not filename.lower().endswith(extensions):
        raise InvalidInput(
            _l("Choose a file ending in %(extensions)s.", extensions=" / ".join(extensions)), field=field
        )
    if data.startswith(BINARY_SIGNATURES) or b"\x00" in data:
        raise InvalidInput(
            _l("This file is not plain text. If it is a spreadsheet, save it as CSV first."), field=field
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet programs on Windows still save CSV in this code page.
        return data.decode("cp1252", errors="replace")

"""Files the portal hands out: always attachments, always with names it chose."""

from flask import Response

from portal.db import utcnow


def attachment(body: str | bytes, *, stem: str, extension: str, mimetype: str) -> Response:
    # The name is built here from fixed parts, never from anything a user typed.
    filename = f"{stem}-{utcnow():%Y%m%d-%H%M%S}.{extension}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def csv_attachment(body: str, *, stem: str) -> Response:
    # A byte-order mark, so that spreadsheet programs read the UTF-8 names right.
    return attachment("\ufeff" + body, stem=stem, extension="csv", mimetype="text/csv")

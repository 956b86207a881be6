"""The stylesheet, script and icon, served under fingerprinted names.

Each file's name carries a hash of its content ("portal.3f2a1c9d0e.css"), so a
browser may keep it for a year: a changed file gets a new name. The files are read
and gzip-compressed once, when the app starts, and served from memory. Pages
(HTML) are not compressed: they carry a CSRF token next to text a visitor can put
in the page, the combination the BREACH attack reads through compression."""

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, request, url_for
from werkzeug.wrappers import Response

ONE_YEAR = 365 * 24 * 3600
# Below this, gzip's header costs more than it saves.
MIN_COMPRESS_BYTES = 256

bp = Blueprint("assets", __name__)


@dataclass(frozen=True)
class Asset:
    name: str  # the fingerprinted name
    mimetype: str
    body: bytes
    gzipped: bytes | None


def load_assets(folder: Path) -> dict[str, Asset]:
    """Every file of the static folder, by its plain name."""
    assets = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:12]
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        compressible = mimetype.startswith("text/") or mimetype in ("image/svg+xml", "application/javascript")
        gzipped = gzip.compress(body, compresslevel=9, mtime=0) if compressible else None
        if gzipped is not None and (len(body) < MIN_COMPRESS_BYTES or len(gzipped) >= len(body)):
            gzipped = None
        assets[path.name] = Asset(f"{path.stem}.{digest}{path.suffix}", mimetype, body, gzipped)
    return assets


_MOST_KEPT_URLS = 256


def init_app(app: Flask) -> None:
    assets = load_assets(Path(app.static_folder or "static"))
    app.extensions["portal.assets"] = assets
    app.extensions["portal.assets_by_name"] = {asset.name: asset for asset in assets.values()}
    app.extensions["portal.asset_urls"] = {}
    app.add_template_global(asset_url)
    app.register_blueprint(bp)


def asset_url(filename: str) -> str:
    """The fingerprinted address of a static file, for templates: worked out once for each
    file and each place the portal is mounted (every page links three; url_for took 5 µs
    each)."""
    key = (filename, request.script_root)
    kept: dict[tuple[str, str], str] = current_app.extensions["portal.asset_urls"]
    url = kept.get(key)
    if url is None:
        if len(kept) >= _MOST_KEPT_URLS:  # a few in use: never more, whatever reaches the server
            kept.clear()
        url = kept[key] = url_for("assets.serve", name=current_app.extensions["portal.assets"][filename].name)
    return url


@bp.get("/assets/<name>")
def serve(name: str) -> Response:
    asset = current_app.extensions["portal.assets_by_name"].get(name)
    if asset is None:
        abort(404)
    accepts_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    body = asset.gzipped if asset.gzipped is not None and accepts_gzip else asset.body
    response = Response(body, mimetype=asset.mimetype)
    if body is asset.gzipped:
        response.headers["Content-Encoding"] = "gzip"
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response

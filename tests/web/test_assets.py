"""The stylesheet, script and icon: fingerprinted names, a year in the browser's cache,
gzip where it pays; pages themselves are never cached nor compressed."""

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from tests.web.support import text

STATIC = Path(__file__).parents[2] / "portal" / "static"
ASSET_LINK = re.compile(r'(?:href|src)="(/assets/([a-z]+)\.([0-9a-f]{12})\.(css|js|svg))"')
MOUNTED_ASSET_LINK = re.compile(r'(?:href|src)="([^"]*/assets/[a-z]+\.[0-9a-f]{12}\.(?:css|js|svg))"')


def linked_assets(client) -> list[re.Match[str]]:  # type: ignore[no-untyped-def]
    return list(ASSET_LINK.finditer(text(client.get("/sign-in"))))


def test_every_page_links_its_assets_by_a_name_with_a_hash_of_their_content(client):
    found = {f"{m[2]}.{m[4]}": m[3] for m in linked_assets(client)}
    assert set(found) == {"portal.css", "portal.js", "icon.svg"}
    for name, digest in found.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12] == digest, name


def test_a_fingerprinted_asset_is_cached_for_a_year_and_immutable(client):
    for match in linked_assets(client):
        response = client.get(match[1])
        assert response.status_code == 200, match[1]
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.data == (STATIC / f"{match[2]}.{match[4]}").read_bytes()


@pytest.mark.parametrize("name", ["portal.css", "portal.js"])
def test_text_assets_are_gzipped_for_browsers_that_accept_it(client, name):
    link = next(m[1] for m in linked_assets(client) if f"{m[2]}.{m[4]}" == name)
    response = client.get(link, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(response.data) == (STATIC / name).read_bytes()
    assert len(response.data) < (STATIC / name).stat().st_size
    plain = client.get(link)
    assert "Content-Encoding" not in plain.headers
    assert plain.data == (STATIC / name).read_bytes()


def test_an_unknown_or_stale_fingerprint_is_404(client):
    assert client.get("/assets/portal.000000000000.css").status_code == 404
    assert client.get("/assets/..%2Fconfig.py").status_code == 404


def test_pages_are_neither_cached_nor_compressed(client):
    response = client.get("/sign-in", headers={"Accept-Encoding": "gzip"})
    assert "no-store" in response.headers["Cache-Control"]
    assert "Content-Encoding" not in response.headers


def test_assets_are_linked_where_the_portal_is_mounted_and_their_addresses_kept_few(app, client):
    for number in range(300):
        for mount in ("", f"/mount{number % 150}"):
            page = text(client.get("/sign-in", base_url=f"http://localhost{mount}"))
            links = MOUNTED_ASSET_LINK.findall(page)
            assert len(links) == 3
            assert all(link.startswith(f"{mount}/assets/") for link in links), links
    assert len(app.extensions["portal.asset_urls"]) <= 256

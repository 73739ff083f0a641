"""Scripts and stylesheets are served minified (readable in debug mode), with HTTP kept right."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
SOURCES = sorted(p.name for p in STATIC.iterdir() if p.suffix in {".js", ".css"})
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _node() -> str:
    node = shutil.which("node")
    if not node:
        pytest.fail("node is missing: run tests/provision.sh node")
    return node


@pytest.fixture
def own_static(app, tmp_path):
    """The app serving a static folder of this test's own, next to a file it must never serve."""
    folder = tmp_path / "static"
    folder.mkdir()
    (tmp_path / "secret.js").write_text("var secret = 'outside static';\n")
    app.static_folder = str(folder)
    return folder


def test_there_are_scripts_and_stylesheets_to_serve():
    assert {".js", ".css"} <= {Path(name).suffix for name in SOURCES}


@pytest.mark.parametrize("name", SOURCES)
def test_served_smaller_than_its_source_and_still_valid(client, name, tmp_path):
    source = (STATIC / name).read_bytes()
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPES[Path(name).suffix]
    served = response.data
    assert len(served) < len(source)
    assert int(response.headers["Content-Length"]) == len(served)
    if name.endswith(".js"):
        copy = tmp_path / name
        copy.write_bytes(served)
        check = subprocess.run([_node(), "--check", str(copy)], capture_output=True, text=True,
                               timeout=60)
        assert check.returncode == 0, check.stderr
    else:  # every rule is still there: as many blocks as the source has outside comments
        blocks = re.sub(rb"/\*.*?\*/", b"", source, flags=re.S).count(b"{")
        assert served.count(b"{") == served.count(b"}") == blocks


@pytest.mark.parametrize("name", SOURCES)
def test_debug_mode_serves_the_readable_source(make_app, name):
    client = make_app(DEBUG=True).test_client()
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.data == (STATIC / name).read_bytes()


def test_other_static_files_are_served_as_they_are(client):
    assert client.get("/static/favicon.svg").data == (STATIC / "favicon.svg").read_bytes()


def test_conditional_get_answers_304(client, make_app):
    first = client.get("/static/stream.js")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = client.get("/static/stream.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    since = client.get("/static/stream.js", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    # A browser holding the readable copy (debug mode) does not keep it for the minified one.
    readable = make_app(DEBUG=True).test_client().get("/static/stream.js").headers["ETag"]
    other = client.get("/static/stream.js", headers={"If-None-Match": readable})
    assert other.status_code == 200 and other.data == first.data


def test_head_answers_with_the_served_length_and_no_body(client):
    served = client.get("/static/style.css").data
    head = client.head("/static/style.css")
    assert head.status_code == 200 and head.data == b""
    assert int(head.headers["Content-Length"]) == len(served)


def test_cache_headers_are_flasks_own(make_app):
    for max_age, expected in ((None, "no-cache"), (3600, "public, max-age=3600")):
        minified = make_app(SEND_FILE_MAX_AGE_DEFAULT=max_age).test_client()
        readable = make_app(SEND_FILE_MAX_AGE_DEFAULT=max_age, DEBUG=True).test_client()
        ours, flasks = minified.get("/static/turns.js"), readable.get("/static/turns.js")
        assert ours.headers["Cache-Control"] == flasks.headers["Cache-Control"] == expected
        assert ours.headers["Last-Modified"] == flasks.headers["Last-Modified"]
        assert ours.headers["Content-Disposition"] == flasks.headers["Content-Disposition"]
        assert ours.headers["ETag"] != flasks.headers["ETag"]  # different bytes


def test_security_headers_on_minified_files(client):
    for name in ("stream.js", "style.css"):
        response = client.get(f"/static/{name}")
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_an_unknown_file_is_the_ordinary_404_page(client):
    for name in ("nowhere.js", "nowhere.css", "sub/nowhere.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 404
        assert "There is no page at this address." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["../secret.js", "..%2fsecret.js", "%2e%2e/secret.js",
                                  "%2e%2e%2fsecret.js"])
def test_nothing_outside_static_is_served(client, own_static, path):
    (own_static / "inside.js").write_text("var inside = 'served';\n")
    assert b"served" in client.get("/static/inside.js").data  # the folder is the one in use
    response = client.get(f"/static/{path}")
    assert response.status_code == 404
    assert b"outside static" not in response.data


def test_an_edited_file_is_minified_again(client, own_static):
    script = own_static / "edited.js"
    script.write_text("var  first  =  1 ;\n")
    before = client.get("/static/edited.js")
    assert before.data == b"var first=1;"
    script.write_text("var  second  =  22 ;\n")
    os.utime(script, ns=(script.stat().st_atime_ns, script.stat().st_mtime_ns + 1_000_000_000))
    after = client.get("/static/edited.js", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.data == b"var second=22;"


def test_a_file_is_minified_once_not_per_request(client, own_static, monkeypatch):
    from playground import assets

    calls = []
    jsmin = assets._MINIFIERS[".js"]
    monkeypatch.setitem(assets._MINIFIERS, ".js", lambda src: calls.append(src) or jsmin(src))
    (own_static / "once.js").write_text("var  once  =  1 ;\n")
    bodies = {client.get("/static/once.js").data for _ in range(3)}
    assert bodies == {b"var once=1;"} and len(calls) == 1

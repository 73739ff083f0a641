"""Headers on every response: a strict CSP and friends; the production server never debugs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import csrf_token

ROOT = Path(__file__).resolve().parent.parent


def _responses(client):
    yield client.get("/")
    yield client.get("/nowhere")
    yield client.get("/healthz")
    yield client.post("/", data={"model": "fake/ok", "prompt": "x"})  # CSRF refusal
    yield client.post("/stream", data={"csrf_token": csrf_token(client), "model": "fake/ok",
                                       "prompt": "x"})


@pytest.mark.parametrize("index", range(5))
def test_security_headers_on_every_kind_of_response(client, upstream, index):
    response = list(_responses(client))[index]
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'" and directives["form-action"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client):
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and " onclick" not in html


def test_make_serve_never_runs_with_debug():
    serve = re.search(r"^serve:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert "FLASK_DEBUG=0" in serve.group(1) and "gunicorn" in serve.group(1)
    assert "--reload" not in serve.group(1)
    assert 'raw_env = ["FLASK_DEBUG=0"]' in (ROOT / "gunicorn.conf.py").read_text()
    assert "debug=True" not in (ROOT / "app.py").read_text()


def test_the_production_setting_turns_debug_off(monkeypatch):
    from app import create_app

    monkeypatch.setenv("FLASK_DEBUG", "0")
    assert not create_app().debug

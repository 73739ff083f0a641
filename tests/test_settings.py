"""The settings table: typed environment parsing, one-line errors, and docs that never drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from playground import settings
from playground.settings import SettingError, from_environment
from tests.helpers import Page, csrf_token

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS_JSON = '{"local": {"base_url": "http://127.0.0.1:8080/v1", "label": "llama.cpp"}}'


@pytest.mark.parametrize(("environ", "expected"), [
    ({"FLASK_PLAYGROUND_PASSWORD": "1234"}, {"PLAYGROUND_PASSWORD": "1234"}),
    ({"FLASK_PLAYGROUND_ALLOW_USER_KEYS": "off"}, {"PLAYGROUND_ALLOW_USER_KEYS": False}),
    ({"PLAYGROUND_ALLOW_USER_KEYS": "Yes"}, {"PLAYGROUND_ALLOW_USER_KEYS": True}),
    ({"PLAYGROUND_SINGLE_USER": ""}, {"PLAYGROUND_SINGLE_USER": False}),
    ({"FLASK_PLAYGROUND_PROVIDERS": PROVIDERS_JSON},
     {"PLAYGROUND_PROVIDERS": {"local": {"base_url": "http://127.0.0.1:8080/v1",
                                         "label": "llama.cpp"}}}),
    ({"PLAYGROUND_PROMPT_CAP": " 20_000 "}, {"PLAYGROUND_PROMPT_CAP": 20000}),
    ({"UPSTREAM_READ_TIMEOUT": "2.5"}, {"UPSTREAM_READ_TIMEOUT": 2.5}),
    ({"FLASK_SECRET_KEY": "s1", "SECRET_KEY": "s2"}, {"SECRET_KEY": "s1"}),  # FLASK_ wins
    ({"AIMLAPI_API_KEY": ""}, {}),  # an empty line in .env is "not set"
    ({"UNRELATED": "x", "PATH": "/bin"}, {}),
], ids=["password-digits", "bool-off", "bool-yes", "bool-empty", "providers-json", "int",
        "float", "flask-prefix-wins", "empty-is-unset", "unrelated"])
def test_the_environment_is_read_typed(environ, expected):
    assert from_environment(environ) == expected


@pytest.mark.parametrize(("environ", "named"), [
    ({"PLAYGROUND_PROMPT_CAP": "lots"}, "PLAYGROUND_PROMPT_CAP='lots': expected a whole"),
    ({"FLASK_PLAYGROUND_ALLOW_USER_KEYS": "maybe"}, "FLASK_PLAYGROUND_ALLOW_USER_KEYS="),
    ({"UPSTREAM_DEADLINE": "inf"}, "UPSTREAM_DEADLINE='inf': expected a finite number"),
    ({"PLAYGROUND_RATE_LIMIT": "lots/fortnight"}, "PLAYGROUND_RATE_LIMIT="),
    ({"PLAYGROUND_PROVIDERS": "{not json"}, "PLAYGROUND_PROVIDERS='{not json': not valid JSON"),
    ({"PLAYGROUND_PROVIDERS": '{"default": {"base_url": "x"}}'}, "reserved provider name"),
    ({"PLAYGROUND_PROVIDERS": "/no/such/file.json"}, "cannot read the file"),
], ids=["int", "bool", "infinite", "limits", "json", "reserved", "missing-file"])
def test_a_bad_value_is_named_in_one_line(environ, named):
    with pytest.raises(SettingError) as caught:
        from_environment(environ)
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_a_secret_is_never_echoed_in_the_error():
    with pytest.raises(SettingError) as caught:
        from_environment({"PLAYGROUND_PASSWORD": "hunter2", "PLAYGROUND_PROMPT_CAP": "x"})
    assert "hunter2" not in str(caught.value)


def test_env_example_is_the_table():
    assert (ROOT / ".env.example").read_text() == settings.env_example(), \
        "regenerate with: python -m playground.settings env > .env.example"


def test_readme_configuration_table_is_the_table():
    readme = (ROOT / "README.md").read_text()
    assert settings.markdown_table() in readme, \
        "regenerate the README table with: python -m playground.settings markdown"


def test_every_setting_is_documented_once_with_a_meaning():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    example = (ROOT / ".env.example").read_text()
    for setting in settings.SETTINGS:
        assert setting.meaning.endswith(".") and f"{setting.name}=" in example


def test_flask_spellings_reach_the_app(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("FLASK_PLAYGROUND_PASSWORD", "1234")
    monkeypatch.setenv("FLASK_PLAYGROUND_ALLOW_USER_KEYS", "off")
    monkeypatch.setenv("FLASK_PLAYGROUND_PROVIDERS", PROVIDERS_JSON)
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'runs.db'}")
    app = create_app()
    assert app.config["PLAYGROUND_ALLOW_USER_KEYS"] is False
    client = app.test_client()
    assert client.get("/").status_code == 302  # the gate asks for the password
    page = Page(client.get("/login"))
    token = page.soup.select_one("[name=csrf_token]")["value"]
    entered = client.post("/login", data={"csrf_token": token, "password": "1234"})
    assert entered.status_code == 303
    menu = Page(client.get("/")).all_text("#provider option")
    assert menu == ["Offline demo", "llama.cpp"]
    assert csrf_token(client)


@pytest.mark.parametrize("command", [
    [sys.executable, "app.py"],
    [sys.executable, "-m", "flask", "--app", "app", "runs", "prune"],
    [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind",
     "127.0.0.1:0", "app:create_app()"],
], ids=["python-app", "flask-cli", "gunicorn"])
def test_a_bad_setting_stops_start_up_with_one_line(command, tmp_path):
    env = {**os.environ, "PLAYGROUND_MAX_STREAMS_PER_CLIENT": "two",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'runs.db'}"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "PLAYGROUND_" in line]
    assert lines == ["Configuration error: PLAYGROUND_MAX_STREAMS_PER_CLIENT='two': "
                     "expected a whole number."]

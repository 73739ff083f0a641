"""What tests share besides fixtures: reading pages and event streams as a user would."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from bs4 import BeautifulSoup

SENTINEL_KEY = "fake-sentinel-key-0123456789abcdef"
# A new conversation is a system box, then the user's message: where the prompt of a simple
# run is, on the form and on the run's page.
SYSTEM, PROMPT = "turns-0-content", "turns-1-content"


def app_config(tmp_path, **overrides) -> dict:
    """A test app's settings: fast timeouts, no demo delay, a fresh SQLite file per test."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "UPSTREAM_READ_TIMEOUT": 1.0,
        "UPSTREAM_DEADLINE": 10.0,
        "DEMO_TOKEN_DELAY": 0.0,
        "UPSTREAM_TRUST_ENV": False,
        # Each test its own history: a fresh SQLite file (see tests/pg.py for PostgreSQL).
        "DATABASE_URL": f"sqlite:///{tmp_path / 'runs.db'}",
    }
    config.update(overrides)
    return {key: value for key, value in config.items() if value is not None}


class Page:
    """A response parsed the way a user reads it."""

    def __init__(self, response) -> None:
        self.response = response
        self.status = response.status_code
        self.html = response.get_data(as_text=True)
        self.soup = BeautifulSoup(self.html, "html.parser")

    def text(self, selector: str) -> str:
        found = self.soup.select_one(selector)
        return " ".join(found.get_text(" ").split()) if found else ""

    def all_text(self, selector: str) -> list[str]:
        return [" ".join(n.get_text(" ").split()) for n in self.soup.select(selector)]

    def field_errors(self, name: str) -> str:
        return self.text(f"#{name}-errors")

    def value(self, name: str) -> str:
        node = self.soup.select_one(f"[name={name}]")
        if node is None:
            return ""
        if node.name == "textarea":
            return node.get_text().removeprefix("\r\n").removeprefix("\n")
        return node.get("value", "")


def csrf_token(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def turn_fields(*turns) -> dict:
    """The fields the form posts for these turns: (role, content) pairs, or dicts of fields
    (``{"role": "tool", "content": "…", "tool_call_id": "call_1"}``)."""
    fields = {}
    for index, turn in enumerate(turns):
        turn = {"role": turn[0], "content": turn[1]} if isinstance(turn, tuple) else turn
        for name in ("role", "content", "tool_call_id", "tool_calls"):
            fields[f"turns-{index}-{name}"] = turn.get(name, "")
        for number, image in enumerate(turn.get("images", [])):
            fields[f"turns-{index}-images-{number}-ref"] = image.get("ref", "")
            fields[f"turns-{index}-images-{number}-url"] = image.get("url", "")
    return fields


def form(client, **fields) -> dict:
    """The playground form as a user fills it, with a fresh CSRF token; None drops a field.

    ``prompt`` and ``system`` fill the two turns of a new conversation (the user's message,
    "Hello" unless given, and the system box); ``turns-…`` fields replace them.
    """
    data = {"csrf_token": csrf_token(client), "model": "fake/ok"}
    prompt, system = fields.pop("prompt", "Hello"), fields.pop("system", "")
    if not any(key.startswith("turns-") for key in fields):
        data.update(turn_fields(("system", system or ""), ("user", prompt or "")))
        if prompt is None:
            data.pop(PROMPT)
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def submit(client, path: str = "/", follow: bool = True, **fields) -> Page:
    """Fill the form and post it; like a browser, follow the redirect to the run's page."""
    return Page(client.post(path, data=form(client, **fields), follow_redirects=follow))


def sse_events(source) -> Iterator[tuple[str, object]]:
    """The events of an event-stream body as the page's script reads them, as they arrive.

    ``source`` is a test-client response (streamed with ``buffered=False`` or not), or text.
    """
    pieces: Iterable = [source] if isinstance(source, str) else source.response
    buffer = ""
    for piece in pieces:
        buffer += piece.decode() if isinstance(piece, bytes) else piece
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            name, data = "message", []
            for line in block.split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
            if data:
                yield name, json.loads("\n".join(data))


def stream(client, **fields):
    """POST the form to /stream: the response, and its events as they arrive."""
    response = client.post("/stream", data=form(client, **fields), buffered=False)
    return response, sse_events(response)


def opened(client, result: Page, name: str) -> Page:
    """A streamed result's deferred panel ``name`` as panels.js fills it when it is opened."""
    url = result.soup.select_one(f"details[data-panel-url$='/panels/{name}']")["data-panel-url"]
    return Page(client.get(url))

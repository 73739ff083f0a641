"""Browser fixtures: real Chromium (Playwright) against the app served on localhost."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.helpers import SENTINEL_KEY

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str | None:
    """Debian's Chromium when present (Playwright cannot download browsers everywhere)."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") \
        or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        yield browser
        browser.close()


class Served:
    """An app served by a real threaded WSGI server on a free localhost port."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def serve(make_app):
    """Serve a playground on the demo model, unless ``config`` names a provider."""
    served: list[Served] = []

    def start(**config) -> str:
        server = Served(make_app(**{"AIMLAPI_BASE_URL": None, "AIMLAPI_API_KEY": None,
                                    **config}))
        served.append(server)
        return server.url

    yield start
    for server in served:
        server.stop()


@pytest.fixture
def serve_live(serve, upstream):
    """Serve an app pointed at the fake upstream with the sentinel key, plus ``overrides``."""
    return lambda **overrides: serve(AIMLAPI_BASE_URL=upstream.base_url,
                                     AIMLAPI_API_KEY=SENTINEL_KEY, **overrides)


@pytest.fixture
def live_url(serve_live) -> str:
    return serve_live()


@pytest.fixture
def demo_url(serve) -> str:
    return serve(DEMO_TOKEN_DELAY=0.005)


def fill_and_run(page, model: str, prompt: str) -> None:
    """Type a model and a prompt into the form and press Run, as a person does."""
    page.fill("#model", model)
    page.fill("#turns-1-content", prompt)
    page.click("#run-button")


class Watched:
    """A page whose console errors, dialogs and outside requests are recorded."""

    def __init__(self, page) -> None:
        self.page, self.errors, self.dialogs, self.requests = page, [], [], []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def outside_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("http://127.0.0.1", "blob:",
                                                              "data:"))]


@pytest.fixture
def open_page(browser):
    contexts = []

    def open_(url: str, javascript: bool = True) -> Watched:
        context = browser.new_context(java_script_enabled=javascript,
                                      viewport={"width": 1360, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watched = Watched(page)
        page.goto(url)
        return watched

    yield open_
    for context in contexts:
        context.close()

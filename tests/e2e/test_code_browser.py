"""Get code in a real Chromium: copy the Python code from a run page and run it; run the
fetch code in a browser page as it is."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from playwright.sync_api import expect

from playground.codegen import KEY_PLACEHOLDER, snippets
from tests.e2e.conftest import fill_and_run
from tests.fake_upstream import GATE_FIRST, GATE_REST, REPLY
from tests.helpers import SENTINEL_KEY
from tests.snippets import run


def test_copy_the_python_code_from_a_run_page_and_run_it(live_url, browser, upstream,
                                                         tmp_path):
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    page = context.new_page()
    page.goto(live_url + "/")
    fill_and_run(page, "fake/ok", 'Say "hi" to $HOME 🙂')
    expect(page).to_have_url(re.compile(r"/runs/[A-Za-z0-9_-]{22}$"))
    page.reload()  # the run's own page, rendered by the server

    page.click("#get-code > summary")
    page.click("#code-tab-python-openai > summary")
    copy = page.get_by_role("button", name="Copy the Python · openai code")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    context.close()

    sent = posts(upstream)[0]
    expected = next(s for s in snippets(sent) if s.key == "python-openai")
    assert copied == expected.code  # exactly the code for the body the playground sent
    ran = run(replace(expected, code=copied), tmp_path, upstream=upstream)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert posts(upstream) == [sent, sent]
    assert ran.stdout == REPLY + "\n"


def test_fetch_code_runs_in_a_browser_and_prints_text_as_it_arrives(browser, upstream):
    body = {"model": "fake/gate", "messages": [{"role": "user", "content": "Hi `$x` 🙂"}],
            "stream": True, "stream_options": {"include_usage": True}}
    code = next(s for s in snippets(body, upstream.base_url) if s.key == "javascript-fetch").code
    # As the comment asks a person to do: the key in place of the placeholder, once.
    code = code.replace(f'|| "{KEY_PLACEHOLDER}";', f"|| {json.dumps(SENTINEL_KEY)};", 1)
    context = browser.new_context()
    page = context.new_page()
    logged: list[str] = []
    page.on("console", lambda m: m.type == "log" and logged.append(m.text))
    page.goto(upstream.base_url + "/models")  # a page of that origin: fetch needs no CORS

    page.add_script_tag(content=code)
    expect_logged(page, logged, GATE_FIRST.strip())
    assert not any("rest" in line for line in logged)  # held back: text came as it arrived
    upstream.gate.set()
    expect_logged(page, logged, "reply.")
    context.close()

    assert "".join(line for line in logged if line.strip()) == GATE_FIRST + GATE_REST
    assert posts(upstream) == [body]


def posts(upstream) -> list:
    """The bodies the fake upstream was sent (the page also asks it for /models)."""
    return [r["body"] for r in upstream.received if r["method"] == "POST"]


def expect_logged(page, logged: list[str], text: str) -> None:
    for _ in range(200):
        if any(text in line for line in logged):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{text!r} never logged; the console had {logged!r}")

"""Get code on the pages: the run page's, the streamed result's and the share page's code is
executed against the fake upstream and sends what the playground sent; no key, no internal
address is ever shown."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from playground.codegen import Snippet
from playground.run import Run
from playground.store import current_store
from tests.fake_upstream import REPLY
from tests.helpers import (
    PROMPT,
    SENTINEL_KEY,
    Page,
    csrf_token,
    form,
    opened,
    sse_events,
    submit,
)
from tests.snippets import printed_text, run

LANGUAGES = {"curl": ("curl", "bash", "chat.sh"),
             "python-requests": ("Python · requests", "python", "chat.py"),
             "python-openai": ("Python · openai", "python", "chat_openai.py"),
             "javascript-fetch": ("JavaScript · fetch", "javascript", "chat.js"),
             "node-openai": ("Node · openai", "javascript", "chat.mjs")}
HOSTILE = "Say \"hi\" to $HOME `id` \\ </script> 🙂 שלום"


class Fragment:
    """A piece of HTML the page's script puts in place (the stream's final result)."""

    def __init__(self, html: str) -> None:
        self.soup = BeautifulSoup(html, "html.parser")


def shown(page: Page | Fragment, key: str) -> Snippet:
    """The snippet as the page shows it: the text a person copies."""
    label, lang, filename = LANGUAGES[key]
    node = page.soup.select_one(f"#code-{key}")
    assert node is not None, f"no {key} code on the page"
    return Snippet(key, label, lang, filename, node.get_text())


def panel(page: Page) -> str:
    found = page.soup.select_one("#get-code")
    assert found is not None, "no Get code panel"
    return str(found)


@pytest.mark.parametrize("key", list(LANGUAGES))
def test_run_page_code_sends_what_the_playground_sent(key, client, upstream, tmp_path):
    page = submit(client, prompt=HOSTILE, system="Be brief.", temperature="0.3", seed="7",
                  stop="END", extra='{"top_k": 40, "provider": {"order": ["x"]}}')
    sent = upstream.received[0]["body"]
    assert sent["top_k"] == 40  # the playground sent the extra parameters too

    ran = run(shown(page, key), tmp_path, upstream=upstream)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert upstream.received[1]["body"] == sent
    assert printed_text(shown(page, key), ran.stdout) == REPLY + "\n"


def test_the_panel_has_five_tabs_that_open_without_javascript(client, upstream):
    page = submit(client)
    tabs = page.soup.select("#get-code details.code-tab")
    assert [t.summary.get_text(strip=True) for t in tabs] == [v[0] for v in LANGUAGES.values()]
    assert tabs[0].has_attr("open") and not any(t.has_attr("open") for t in tabs[1:])
    for tab in tabs:  # Copy and Download appear only when the script can do them
        assert tab.select_one(".tools").has_attr("hidden")
        assert tab.select_one("[data-copy]")["data-copy"] == "#" + tab.pre["id"]
    assert page.soup.select_one("#code-python-openai .hl-kn")  # highlighted: "from", "import"


def test_no_key_and_no_internal_address_in_the_panel(client, upstream):
    page = submit(client)
    html = panel(page)
    assert SENTINEL_KEY not in html and "[redacted]" not in html
    assert "127.0.0.1" not in html and upstream.base_url not in html
    assert "set AIMLAPI_BASE_URL" in page.text("#get-code")


def test_streamed_result_shows_streaming_code_that_sends_the_streamed_body(client, upstream,
                                                                         tmp_path):
    response = client.post("/stream", data={"csrf_token": csrf_token(client),
                                            "model": "fake/ok", "prompt": "Stream please"},
                           buffered=False)
    result = [data for name, data in sse_events(response) if name == "result"][0]
    page = opened(client, Fragment(result["html"]), "code")  # loaded when it is opened
    sent = upstream.received[0]["body"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert " -N " in shown(page, "curl").code

    ran = run(shown(page, "python-requests"), tmp_path, upstream=upstream)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert upstream.received[1]["body"] == sent
    assert ran.stdout == REPLY + "\n"


def test_share_page_reads_the_base_url_from_the_environment(app, client, upstream, tmp_path):
    page = submit(client, prompt="Share me")
    run_id = page.response.request.path.rsplit("/", 1)[-1]
    client.post(f"/runs/{run_id}/share", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        token = current_store().get(run_id, _owner(client, app))[0].share_token
    shared = Page(app.test_client().get(f"/s/{token}"))  # a stranger, no cookies

    html = panel(shared)
    assert SENTINEL_KEY not in html and upstream.base_url not in html and "127.0.0.1" not in html
    assert "Set AIMLAPI_BASE_URL to the base URL of the API to call" in shared.text("#get-code")
    ran = run(shown(shared, "python-openai"), tmp_path, upstream=upstream)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert upstream.received[1]["body"] == upstream.received[0]["body"]


def _owner(client, app) -> str:
    with client.session_transaction() as session:
        return f"session:{session['owner']}"


def saved_page(app, run_: Run) -> tuple[Page, Page]:
    """The owner's page and the share page of a run kept as if it had gone to ``endpoint``."""
    with app.app_context():
        store = current_store()
        run_id = store.save(run_, "local")
        token = store.share(run_id, "local")
    client = app.test_client()
    return Page(client.get(f"/runs/{run_id}")), Page(client.get(f"/s/{token}"))


def test_a_public_provider_is_shown_on_its_page_but_not_on_the_share_page(make_app):
    app = make_app(PLAYGROUND_SINGLE_USER=True)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    own, shared = saved_page(app, Run(request=body, provider="openrouter",
                                      endpoint="https://openrouter.ai/api/v1/chat/completions"))
    for key in LANGUAGES:
        assert "https://openrouter.ai/api/v1" in shown(own, key).code
        assert "openrouter.ai" not in shown(shared, key).code
        assert "AIMLAPI_BASE_URL" in shown(shared, key).code


def test_a_visitor_typed_url_is_never_shown(make_app):
    app = make_app(PLAYGROUND_SINGLE_USER=True)
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    own, _ = saved_page(app, Run(request=body, provider="custom",
                                 endpoint="https://visitor.example.net/v1/chat/completions"))
    assert "visitor.example.net" not in panel(own)
    assert "Set AIMLAPI_BASE_URL to the base URL you typed for this run." in \
        own.text("#get-code")


def test_a_demo_run_shows_code_for_the_ai_ml_api_with_a_note(demo_app):
    page = submit(demo_app.test_client(), model="demo", prompt="Hello")
    assert "The demo is offline; this code calls the AI/ML API." in page.text("#get-code")
    for key in LANGUAGES:
        code = shown(page, key).code
        assert "https://api.aimlapi.com/v1" in code and "demo://" not in code


# -- Get code on the live form: the body the form would send now, and nobody is called --------
@pytest.mark.parametrize("key", ["python-requests", "node-openai"])
def test_live_form_code_sends_what_the_form_would_send(key, client, upstream, tmp_path):
    fields = {"prompt": HOSTILE, "system": "Be brief.", "temperature": "0.3",
              "extra": '{"top_k": 40}'}
    page = Page(client.post("/", data=form(client, action="code", **fields)))
    assert page.status == 200 and upstream.received == []  # nobody was called
    assert page.value(PROMPT) == HOSTILE  # the form comes back as typed
    assert page.soup.select_one("#live-get-code[open]") is not None
    node = page.soup.select_one(f"#live-code-{key}")
    label, lang, filename = LANGUAGES[key]
    snippet = Snippet(key, label, lang, filename, node.get_text())
    ran = run(snippet, tmp_path, upstream=upstream)
    assert ran.returncode == 0, ran.stderr[-3000:]
    submit(client, **fields)  # now the form really runs: the code sent the very same body
    assert upstream.received[0]["body"] == upstream.received[1]["body"]
    assert printed_text(snippet, ran.stdout) == REPLY + "\n"


def test_live_form_code_for_the_script_is_the_streamed_call(client, upstream, tmp_path):
    response = client.post("/code", data=form(client, prompt="Stream me"),
                           headers={"X-Get-Code": "stream"})
    fragment = Fragment(response.get_json()["html"])
    snippet = shown_in(fragment, "python-requests")
    ran = run(snippet, tmp_path, upstream=upstream)
    assert ran.returncode == 0, ran.stderr[-3000:]
    sent = upstream.received[0]["body"]
    assert sent["stream"] is True and sent["messages"][-1]["content"] == "Stream me"
    assert printed_text(snippet, ran.stdout) == REPLY + "\n"


def test_live_form_code_refuses_an_invalid_form_and_calls_nobody(client, upstream):
    page = Page(client.post("/", data=form(client, prompt="", temperature="9", action="code")))
    assert page.status == 400 and "between 0" in page.field_errors("temperature")
    assert "Write a message" in page.text(f"#{PROMPT}-errors")
    assert page.soup.select_one("#live-get-code") is None and upstream.received == []
    response = client.post("/code", data=form(client, temperature="9"),
                           headers={"X-Get-Code": "stream"})
    assert response.status_code == 400 and "temperature" in response.get_json()["errors"]


def shown_in(fragment: Fragment, key: str) -> Snippet:
    label, lang, filename = LANGUAGES[key]
    return Snippet(key, label, lang, filename,
                   fragment.soup.select_one(f"#live-code-{key}").get_text())

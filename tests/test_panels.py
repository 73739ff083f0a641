"""Integration: a streamed result sends the raw events, Get code and the timeline as closed,
empty panels, and each loads, for its owner only, exactly what the run's page shows in it."""

from __future__ import annotations

import pytest

from playground.render import DEFERRED_PANELS
from tests.helpers import SENTINEL_KEY, Page, opened
from tests.test_stream import Page_from, collect

PANELS = {"events": "details:has(#stream-events)", "code": "#get-code",
          "timeline": ".timeline-panel"}


def streamed(client) -> tuple[str, str]:
    """A streamed run's page URL and its result partial."""
    result = collect(client, model="fake/markdown")[3]
    return result["url"], result["html"]


def body_text(panel) -> str:
    return " ".join(" ".join(n.get_text(" ").split()) for n in panel.children
                    if getattr(n, "name", None) != "summary").strip()


def test_the_result_sends_those_panels_closed_with_their_summaries(client, upstream):
    url, html = streamed(client)
    result, page = Page_from(html), Page(client.get(url))
    for name, selector in PANELS.items():
        sent = result.soup.select_one(f"details[data-panel-url$='/panels/{name}']")
        assert sent is not None and not sent.has_attr("open"), name
        assert sent.summary.get_text() == page.soup.select_one(selector).summary.get_text()
        assert body_text(sent) == "Loading…"
    # What is shown at once is all there: the reply, the response JSON (open), usage, request.
    for selector in (".reply", "#response-json", ".usage", "#request-json", ".audit"):
        assert result.text(selector) == page.text(selector), selector
    assert len(html) < len(page.soup.select_one("article.result").decode()) / 2


@pytest.mark.parametrize("name", DEFERRED_PANELS)
def test_each_panel_loads_what_the_run_page_shows(client, upstream, name):
    url, html = streamed(client)
    panel = opened(client, Page_from(html), name)
    assert panel.status == 200 and panel.response.headers["Cache-Control"] == \
        "private, no-store"
    loaded = panel.soup.select_one(PANELS[name])
    shown = Page(client.get(url)).soup.select_one(PANELS[name])
    assert body_text(loaded) == body_text(shown) and body_text(loaded)
    assert SENTINEL_KEY not in panel.html and "127.0.0.1" not in panel.html


def test_a_panel_is_its_owners_only_and_names_only_those_panels(app, client, upstream):
    url, html = streamed(client)
    panel_url = Page_from(html).soup.select_one("[data-panel-url]")["data-panel-url"]
    assert client.get(panel_url).status_code == 200
    assert app.test_client().get(panel_url).status_code == 404  # a stranger: no such run
    assert client.get(url + "/panels/json").status_code == 404
    assert client.get(url + "/panels/..%2f_result").status_code == 404
    assert client.get("/runs/nope/panels/code").status_code == 404


def test_a_run_page_and_a_plain_run_draw_every_panel_at_once(client, upstream):
    url, _html = streamed(client)
    page = Page(client.get(url))
    assert page.soup.select_one("[data-panel-url]") is None
    assert page.text("#code-curl") and page.soup.select_one(".timeline-panel svg.timeline")

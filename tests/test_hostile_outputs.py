"""Adversarial corpus, model outputs: every hostile reply renders inert, page and stream."""

from __future__ import annotations

import pytest

from playground.render import DEFERRED_PANELS
from tests.helpers import Page, csrf_token, opened, sse_events, submit
from tests.hostile import HOSTILE, assert_safe_page, assert_safe_reply
from tests.test_stream import Page_from


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_reply_in_the_page_is_inert(client, upstream, case):
    page = submit(client, model="fake/hostile", prompt=case)
    assert page.status == 200
    soup = assert_safe_page(page.html)
    assert soup.select(".reply"), "the reply is shown"
    # The raw text panel keeps every character the model wrote, escaped.
    raw = soup.select_one("#raw-text-0").get_text()
    assert raw.replace("\r\n", "\n") == HOSTILE[case].replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_reply_streamed_is_inert(client, upstream, case):
    response = client.post("/stream", data={"csrf_token": csrf_token(client),
                                            "model": "fake/hostile", "prompt": case})
    assert response.mimetype == "text/event-stream"
    events = list(sse_events(response))
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "result" and names.count("result") == 1
    streamed = "".join(data for name, data in events if name == "content")
    assert streamed == HOSTILE[case]  # deltas are plain text, appended with textContent
    html = events[-1][1]["html"]
    assert_safe_page(html)
    for name in DEFERRED_PANELS:  # and each panel the result loads when it is opened
        assert_safe_page(opened(client, Page_from(html), name).html)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_reply_on_the_shared_page_is_inert(app, client, upstream, case):
    """The run page above is the stored run re-rendered; the public share link is too."""
    response = client.post("/", data={"csrf_token": csrf_token(client),
                                      "model": "fake/hostile", "prompt": case})
    shared = client.post(f"{response.location}/share",
                         data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    link = Page(shared).soup.select_one("#share-url")["value"]
    stranger = app.test_client()  # no cookies: whoever the link was sent to
    page = Page(stranger.get(link.removeprefix("http://localhost")))
    assert page.status == 200 and page.soup.select(".reply")
    assert_safe_page(page.html)


def test_links_keep_only_web_schemes(client, upstream):
    page = submit(client, model="fake/hostile", prompt="js-reference-link")
    assert page.soup.select_one(".reply a") is None or \
        not page.soup.select_one(".reply a").get("href", "").startswith("javascript")
    assert "[click]" in page.text(".reply") or "click" in page.text(".reply")


def test_images_become_links_never_fetched(client, upstream):
    page = submit(client, model="fake/hostile", prompt="external-image")
    link = page.soup.select_one(".reply a")
    assert link["href"].startswith("https://evil.example/") and "[image: tracker]" in link.text
    assert "nofollow" in link["rel"] and page.soup.select(".reply img") == []


def test_template_syntax_is_shown_literally(client, upstream):
    page = submit(client, model="fake/hostile", prompt="jinja-config")
    assert "{{ config }}" in page.text(".reply") and "test-secret" not in page.html


def test_bidi_and_control_characters_are_made_visible(client, upstream):
    page = submit(client, model="fake/hostile", prompt="bidi-override")
    assert "[U+202E]" in page.text(".reply") and "\u202e" not in page.text(".reply")
    page = submit(client, model="fake/hostile", prompt="control-chars")
    reply = page.text(".reply")
    assert "\x00" not in reply and "\x1b" not in reply and "\x07" not in reply


@pytest.mark.parametrize("case", ["brackets-100k", "huge-2mb"])
def test_pathological_replies_fall_back_to_plain_text(client, upstream, case):
    page = submit(client, model="fake/hostile", prompt=case)
    assert page.status == 200
    assert "shown as plain text" in page.text(".reply")


def test_unknown_sse_events_are_not_relayed_as_page_events(client, upstream):
    response = client.post("/stream", data={"csrf_token": csrf_token(client),
                                            "model": "fake/unknown-events", "prompt": "x"})
    events = list(sse_events(response))
    # Only our own events: the provider's named events are never passed on as page events.
    assert [n for n, _ in events if n not in ("start", "content", "snapshot")] == ["result"]
    html = events[-1][1]["html"]
    assert_safe_page(html)
    for name in DEFERRED_PANELS:  # and each panel the result loads when it is opened
        assert_safe_page(opened(client, Page_from(html), name).html)
    for name, data in events:
        if name == "snapshot":  # live markdown of the same reply: sanitized like the result
            assert_safe_reply("".join([*data.get("add", []), data.get("tail", "")]))
    events_panel = opened(client, Page_from(html), "events").html
    assert "&lt;script&gt;window.__pwned" in events_panel  # shown escaped in the raw events


def test_reply_sanitizer_allow_list_directly():
    from playground.markdown import markdown_html

    for text in HOSTILE.values():
        assert_safe_reply(str(markdown_html(text)))

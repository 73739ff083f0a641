"""The history page at scale, through the app: search, highlights, keyset pages, counts.

Against the fake upstream over real sockets, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fake_upstream import completion
from tests.helpers import Page, submit, turn_fields


@pytest.fixture
def app(upstream, make_app, db_url):
    return make_app(DATABASE_URL=db_url, WTF_CSRF_ENABLED=False)


def reply_with(upstream, name: str, text: str) -> str:
    upstream.scenarios[name] = lambda h, model: h.send_json(200, completion(model, text))
    return name


def run(client, prompt: str, model: str = "fake/ok") -> None:
    response = client.post("/", data={"model": model, "prompt": prompt})
    assert response.status_code == 303


def history(client, **args) -> Page:
    page = Page(client.get("/history", query_string=args))
    assert page.status == 200
    return page


def test_matches_are_highlighted_and_hostile_text_stays_text(client, upstream):
    run(client, "<script>alert('paris')</script> about <b>Paris</b>")
    run(client, 'A "><img src=x onerror=alert(1)> in the prompt')
    run(client, "Nothing to see")
    found = history(client, q="paris")
    assert [link.get_text() for link in found.soup.select(".run-link")] == [
        "<script>alert('paris')</script> about <b>Paris</b>"]
    assert found.all_text(".run-link mark") == ["paris", "Paris"]
    assert found.soup.select(".runs script, .runs b, .runs img") == []
    assert "&lt;script&gt;alert(&#39;<mark>paris</mark>&#39;)&lt;/script&gt;" in found.html
    hostile = history(client, q='"><img')
    assert hostile.soup.select("img") == [] and hostile.value("q") == '"><img'
    assert [link.get_text() for link in hostile.soup.select(".run-link")] == [
        'A "><img src=x onerror=alert(1)> in the prompt']
    assert hostile.all_text(".run-link mark") == ["img"]
    assert hostile.soup.select(".runs img, [onerror]") == []


def test_a_match_outside_the_prompt_shows_where_it_was(client, upstream):
    model = reply_with(upstream, "fake/zebra", "First line.\n\n" + "filler " * 80 +
                       "the <i>zebra</i> is here")
    run(client, "Tell me about animals", model)
    page = history(client, q="zebra")
    assert page.all_text(".run-link") == ["Tell me about animals"]
    snippet = page.text(".snippet")
    assert snippet.startswith("Reply: …") and "the <i> zebra </i> is here" in snippet
    assert page.all_text(".snippet mark") == ["zebra"] and page.soup.select(".snippet i") == []


def test_another_visitors_runs_are_never_found(app, client, upstream):
    run(client, "my private zanzibar plan")
    stranger = app.test_client()
    run(stranger, "the stranger's own zanzibar")
    assert history(stranger, q="zanzibar").all_text(".run-link") == [
        "the stranger's own zanzibar"]
    assert history(stranger, q="private").all_text(".run-link") == []
    assert "No run matches" in history(stranger, q="private plan").html


def test_keyset_pages_go_both_ways_and_keep_the_filters(client, upstream):
    for i in range(27):
        run(client, f"ok run {i:02}")
        if i % 9 == 0:
            run(client, f"markdown run {i:02}", "fake/markdown")
    first = history(client, model="fake/ok")
    assert first.all_text(".run-link")[:2] == ["ok run 26", "ok run 25"]
    assert first.soup.select_one("a[rel=prev]") is None
    link = first.soup.select_one("a[rel=next]")["href"]
    assert parse_qs(urlsplit(link).query)["model"] == ["fake/ok"] and "page=" not in link
    second = Page(client.get(link))
    assert second.all_text(".run-link") == ["ok run 01", "ok run 00"]
    assert second.soup.select_one("a[rel=next]") is None
    back = second.soup.select_one("a[rel=prev]")["href"]
    assert parse_qs(urlsplit(back).query)["model"] == ["fake/ok"]
    assert Page(client.get(back)).all_text(".run-link") == first.all_text(".run-link")
    # A search pages the same way, best match first, its words kept in the links.
    searched = history(client, q="run", state="complete", model="fake/ok")
    assert len(searched.soup.select(".run-row")) == 25
    more = searched.soup.select_one("a[rel=next]")["href"]
    assert parse_qs(urlsplit(more).query) | {"before": ["x"]} == {
        "q": ["run"], "state": ["complete"], "model": ["fake/ok"], "before": ["x"]}
    rest = Page(client.get(more)).all_text(".run-link")
    assert len(rest) == 2 and not set(rest) & set(searched.all_text(".run-link"))


def test_counts_stop_at_the_limit(make_app, db_url, upstream):
    app = make_app(DATABASE_URL=db_url, WTF_CSRF_ENABLED=False,
                   PLAYGROUND_HISTORY_COUNT_LIMIT=3)
    client = app.test_client()
    for prompt in ("paris one", "paris two", "paris three", "paris four", "rome"):
        run(client, prompt)
    head = history(client).text(".history-head")
    assert "3+ runs kept" in head and "5" not in head
    assert "3+ runs kept · 3+ match" in history(client, q="paris").text(".history-head")
    assert "3+ runs kept · 1 match" in history(client, q="rome").text(".history-head")
    assert "Delete all 3+ of my runs" in history(client).text(".danger-zone")
    assert len(history(client).soup.select(".run-row")) == 5  # the list itself is whole


def test_the_count_says_how_many_below_the_limit(client, upstream):
    for i in range(3):
        run(client, f"run {i}")
    assert "3 runs kept" in history(client).text(".history-head")
    assert "3 runs kept · 1 match" in history(client, q="2").text(".history-head")


def test_a_search_keeps_working_without_javascript_through_the_form(client, upstream):
    submit(client, prompt="Form search works")
    page = history(client)
    search_form = page.soup.select_one("form[role=search]")
    assert search_form["method"] == "get" and search_form.select_one("input[name=q]")
    assert history(client, q="form").all_text(".run-link") == ["Form search works"]


def test_a_word_only_in_an_edited_assistant_turn_finds_its_three_turn_run(client, upstream):
    """The row shows the last user turn, highlighted when it matches, and the turn count;
    a match elsewhere in the conversation is shown as a snippet."""
    turns = turn_fields(("user", "Name a bird"), ("assistant", "Edited by hand: the quetzal"),
                        ("user", "And its tail feathers?"))
    response = client.post("/", data={"model": "fake/ok", **turns},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    run(client, "Name a bird")  # one turn, no quetzal
    page = history(client, q="quetzal")
    assert page.all_text(".run-link") == ["And its tail feathers?"]
    assert page.all_text(".turn-count") == ["3 turns"]
    assert page.text(".snippet").startswith("Conversation: ")
    assert page.all_text(".snippet mark") == ["quetzal"]
    assert "1 match" in page.text(".history-head")
    tail = history(client, q="tail")  # in the last user turn: highlighted in the link itself
    assert tail.all_text(".run-link mark") == ["tail"] and tail.all_text(".turn-count") == [
        "3 turns"] and tail.soup.select(".snippet") == []
    assert sorted(history(client, q="bird").all_text(".turn-count")) == ["1 turn", "3 turns"]

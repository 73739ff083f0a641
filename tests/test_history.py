"""History through the app: every run saved, its own page, search, share, export, ownership.

Every test runs against the fake upstream over real sockets, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
import threading

import pytest

from tests.helpers import PROMPT, SENTINEL_KEY, SYSTEM, Page, csrf_token, form, sse_events, submit


@pytest.fixture
def app(upstream, make_app, db_url):
    return make_app(DATABASE_URL=db_url)


def posts(upstream) -> int:
    return sum(1 for r in upstream.received if r["method"] == "POST")


def run_id_of(page: Page) -> str:
    return page.response.request.path.rsplit("/", 1)[-1]


def test_a_run_redirects_to_its_own_page_and_a_reload_sends_nothing(client, upstream):
    response = client.post("/", data=form(client, prompt="What is 2+2?"))
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/runs/[A-Za-z0-9_-]{22}", location)
    page = Page(client.get(location))
    assert page.status == 200
    assert "Hello! How can I help you today?" in page.text(".reply")
    assert page.value(PROMPT) == "What is 2+2?" and page.value("model") == "fake/ok"
    assert "Total tokens 17" in page.text(".usage")
    for _ in range(3):  # reloading the page shows the run again without calling the provider
        assert Page(client.get(location)).text(".reply")
    assert posts(upstream) == 1


def test_the_form_comes_back_exactly_as_sent(client, run_form):
    page = run_form(model="fake/ok", system="Be brief.", prompt="Line one\nLine two",
                    temperature="0.7", max_tokens="64", stop="END\nSTOP", json_mode="y",
                    extra='{"top_k": 40}')
    assert page.value(SYSTEM) == "Be brief." and page.value(PROMPT) == "Line one\nLine two"
    assert page.value("temperature") == "0.7" and page.value("max_tokens") == "64"
    assert page.value("stop") == "END\nSTOP"
    assert page.soup.select_one("[name=json_mode]").has_attr("checked")
    assert json.loads(page.value("extra")) == {"top_k": 40}
    # "Open in playground" fills the same form, without the result.
    again = Page(client.get(f"/?run={run_id_of(page)}"))
    assert again.value(PROMPT) == "Line one\nLine two" and again.value("temperature") == "0.7"
    assert not again.text(".reply")


def test_an_invalid_form_is_not_run_and_not_saved(client, run_form, upstream):
    page = run_form(prompt="", follow=False)
    assert page.status == 400 and "Write a message to send" in page.field_errors(PROMPT)
    assert posts(upstream) == 0
    assert "No runs yet" in Page(client.get("/history")).text(".history")


def test_a_failed_run_is_saved_with_its_error_and_never_the_key(client, run_form):
    page = run_form(model="fake/401")
    assert page.status == 200
    assert "The API key was rejected" in page.text(".error-card")
    history = Page(client.get("/history"))
    assert history.all_text(".run-row .pill")[0] == "Error"
    exported = client.get(f"/runs/{run_id_of(page)}.json").get_data(as_text=True)
    assert json.loads(exported)["error"]["kind"] == "auth"
    for text in (page.html, history.html, exported,
                 client.get("/history.jsonl").get_data(as_text=True)):
        assert SENTINEL_KEY not in text


def test_others_runs_are_404_and_their_history_is_separate(app, client, run_form):
    run_id = run_id_of(run_form(prompt="my secret prompt"))
    stranger = app.test_client()
    token = csrf_token(stranger)
    assert stranger.get(f"/runs/{run_id}").status_code == 404
    assert stranger.get(f"/runs/{run_id}.json").status_code == 404
    for action in ("share", "revoke", "delete"):
        assert stranger.post(f"/runs/{run_id}/{action}",
                             data={"csrf_token": token}).status_code == 404
    assert "my secret prompt" not in stranger.get(f"/?run={run_id}").get_data(as_text=True)
    assert "my secret prompt" not in stranger.get("/history").get_data(as_text=True)
    assert stranger.get("/history.jsonl").get_data(as_text=True) == ""
    assert client.get(f"/runs/{run_id}").status_code == 200  # still there for its owner


def test_share_opens_read_only_for_anyone_until_revoked(app, client, run_form):
    page = run_form(model="fake/markdown", prompt="Show me markdown")
    run_id = run_id_of(page)
    run_form(prompt="another run of mine, never shown")
    shared = Page(client.post(f"/runs/{run_id}/share", data={"csrf_token": csrf_token(client)},
                              follow_redirects=True))
    link = shared.soup.select_one("#share-url")["value"]
    assert re.fullmatch(r"http://localhost/s/[A-Za-z0-9_-]{32,}", link)
    path = link.removeprefix("http://localhost")

    visitor = Page(app.test_client().get(path))
    assert visitor.status == 200
    assert visitor.text("#shared-prompt") == "Show me markdown"
    assert visitor.soup.select_one(".reply h1").get_text() == "Title"  # rendered markdown
    assert '"gen-1744545600-ExampleId123"' in visitor.text(".jt")  # the raw JSON
    assert "Total tokens 17" in visitor.text(".usage")
    assert visitor.soup.select_one("#prompt-form") is None  # read-only
    assert not visitor.soup.select("a[href^='/runs/']") and "another run" not in visitor.html
    assert "x-request-id" not in visitor.html  # the sharer's response headers stay private
    assert visitor.response.headers["Cache-Control"] == "private, no-store"

    revoked = Page(client.post(f"/runs/{run_id}/revoke", data={"csrf_token": csrf_token(client)},
                               follow_redirects=True))
    assert "revoked" in revoked.text(".flash") and revoked.soup.select_one("#share-url") is None
    assert app.test_client().get(path).status_code == 404


def test_shared_and_history_pages_sanitize_the_stored_reply(app, client, run_form, upstream):
    from tests.fake_upstream import completion

    hostile = ('<script>alert(1)</script> <img src=x onerror=alert(2)> '
               '[click](javascript:alert(3)) ![pic](https://evil.example/p.png)')
    upstream.scenarios["fake/hostile"] = lambda h, model: h.send_json(
        200, completion(model, hostile))
    run_id = run_id_of(run_form(model="fake/hostile"))
    token_page = Page(client.post(f"/runs/{run_id}/share",
                                  data={"csrf_token": csrf_token(client)}, follow_redirects=True))
    path = token_page.soup.select_one("#share-url")["value"].removeprefix("http://localhost")
    for page in (Page(client.get(f"/runs/{run_id}")), Page(app.test_client().get(path))):
        reply = page.soup.select_one(".reply")
        assert reply.select("script, img") == []
        assert not any("javascript:" in (a.get("href") or "") for a in reply.select("a"))
        assert "[image: pic]" in reply.get_text()  # an image is a link, never fetched


def test_export_one_run_as_json_and_all_as_json_lines(client, run_form):
    first = run_id_of(run_form(prompt="first"))
    run_form(model="fake/404", prompt="second")
    one = client.get(f"/runs/{first}.json")
    assert one.headers["Content-Disposition"] == f'attachment; filename="run-{first}.json"'
    record = one.get_json()
    assert record["request"]["messages"][0]["content"] == "first"
    assert record["response"]["choices"][0]["message"]["content"].startswith("Hello!")
    assert record["usage"]["total"] == 17 and record["metrics"]["latency_ms"] > 0
    every = client.get("/history.jsonl")
    assert every.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in every.get_data(as_text=True).splitlines()]
    assert [line["request"]["messages"][0]["content"] for line in lines] == ["first", "second"]
    assert lines[1]["state"] == "error" and lines[1]["error"]["kind"] == "not_found"
    assert all({"request", "response", "usage", "metrics"} <= line.keys() for line in lines)


def test_history_search_filter_and_pages(client, run_form):
    run_form(prompt="Tell me about Paris")
    run_form(model="fake/markdown", prompt="Format this")
    run_form(model="fake/401", prompt="Will fail")
    history = Page(client.get("/history"))
    assert history.all_text(".run-link") == ["Will fail", "Format this",
                                             "Tell me about Paris"]
    row = history.all_text(".run-row")[1]
    assert "fake/markdown" in row and "Complete" in row and "17" in row
    # the last user turn, and how many turns the conversation had (the system box was empty)
    assert history.all_text(".turn-count") == ["1 turn"] * 3
    assert Page(client.get("/history?q=paris")).all_text(".run-link") == [
        "Tell me about Paris"]
    assert Page(client.get("/history?q=Title")).all_text(".run-link") == [
        "Format this"]  # found in the reply
    assert Page(client.get("/history?model=fake/401")).all_text(".run-link") == ["Will fail"]
    assert Page(client.get("/history?state=complete")).all_text(".run-link") == [
        "Format this", "Tell me about Paris"]
    assert "No run matches" in Page(client.get("/history?q=nothing-like-this")).html
    for i in range(24):
        run_form(prompt=f"filler {i}")
    first = Page(client.get("/history"))
    assert len(first.soup.select(".run-row")) == 25 and "Page 1 of 2" in first.text(".pager")
    second = Page(client.get(first.soup.select_one("a[rel=next]")["href"]))
    assert second.all_text(".run-link") == ["Format this", "Tell me about Paris"]
    assert "Page 2 of 2" in second.text(".pager") and second.soup.select_one("a[rel=next]") is None


def test_delete_one_run_and_all_of_mine(client, run_form):
    gone = run_id_of(run_form(prompt="delete me"))
    run_form(prompt="keep me")
    token = csrf_token(client)
    page = Page(client.post(f"/runs/{gone}/delete", data={"csrf_token": token},
                            follow_redirects=True))
    assert page.all_text(".run-link") == ["keep me"] and "deleted" in page.text(".flash")
    assert client.get(f"/runs/{gone}").status_code == 404
    unconfirmed = Page(client.post("/history/delete", data={"csrf_token": token},
                                   follow_redirects=True))
    assert unconfirmed.all_text(".run-link") == ["keep me"]
    emptied = Page(client.post("/history/delete", data={"csrf_token": token, "confirm": "yes"},
                               follow_redirects=True))
    assert "Deleted 1 run." in emptied.text(".flash") and "No runs yet" in emptied.html


def test_actions_need_the_csrf_token(client, run_form):
    run_id = run_id_of(run_form())
    assert client.post(f"/runs/{run_id}/share").status_code == 400
    assert client.post(f"/runs/{run_id}/delete").status_code == 400
    assert client.get(f"/runs/{run_id}").status_code == 200


def test_a_streamed_run_is_saved_and_its_address_given(client, upstream):
    response = client.post("/stream", data=form(client, prompt="Stream it"))
    result = dict(sse_events(response))["result"]
    assert re.fullmatch(r"/runs/[A-Za-z0-9_-]{22}", result["url"])
    assert 'action="/runs/' in result["html"]  # the share / export / delete actions
    page = Page(client.get(result["url"]))
    assert "Hello! How can I help you today?" in page.text(".reply")
    assert "streamed" in page.text(".result-head") and page.value(PROMPT) == "Stream it"
    assert "Raw stream events" in page.text(".inspect")
    assert posts(upstream) == 1


def test_a_stopped_stream_is_saved_as_stopped(client, upstream):
    upstream.trickle_delay = 0.05
    response = client.post("/stream", data=form(client, model="fake/trickle"),
                           buffered=False)
    chunks = iter(response.response)
    received = ""
    while "word2" not in received:
        received += next(chunks).decode()
    response.close()  # the browser went away
    history = Page(client.get("/history"))
    assert history.all_text(".run-row .pill")[0] == "Stopped"
    page = Page(client.get(history.soup.select_one(".run-link")["href"]))
    assert "Stopped by you" in page.text(".result")
    assert "word0" in page.text(".reply") and "word39" not in page.html


def test_a_broken_stream_is_saved_as_incomplete(client):
    response = client.post("/stream", data=form(client, model="fake/stream-drop"))
    result = dict(sse_events(response))["result"]
    assert result["state"] == "incomplete"
    page = Page(client.get(result["url"]))
    assert "Half a reply" in page.text(".reply") and "Incomplete" in page.text(".result-head")


def test_a_single_user_laptop_sees_one_history(upstream, make_app, db_url):
    app = make_app(AIMLAPI_API_KEY=None, DATABASE_URL=db_url, PLAYGROUND_SINGLE_USER=True)
    run_id = run_id_of(submit(app.test_client(), prompt="from one browser"))
    other_browser = app.test_client()
    assert other_browser.get(f"/runs/{run_id}").status_code == 200
    assert "from one browser" in other_browser.get("/history").get_data(as_text=True)


def test_prune_command_keeps_the_newest_runs(app, client, run_form):
    for prompt in ("old", "middle", "new"):
        run_form(prompt=prompt)
    app.config["PLAYGROUND_RETENTION_RUNS"] = "2"
    result = app.test_cli_runner().invoke(args=["runs", "prune"])
    assert result.exit_code == 0 and "Deleted 1 run." in result.output
    assert Page(client.get("/history")).all_text(".run-link") == ["new", "middle"]
    result = app.test_cli_runner().invoke(args=["runs", "prune", "--days", "0"])
    assert "Deleted 2 runs." in result.output


def test_200_simultaneous_form_runs_make_200_rows(make_app, db_url):
    """Real requests through the app at once (demo model): every one is kept."""
    app = make_app(AIMLAPI_BASE_URL=None, AIMLAPI_API_KEY=None, DATABASE_URL=db_url,
                   WTF_CSRF_ENABLED=False,
                   # one client, 200 runs at once: lift the public budgets
                   PLAYGROUND_RATE_LIMIT="1000/minute", PLAYGROUND_MAX_STREAMS_PER_CLIENT=200)
    barrier, statuses = threading.Barrier(200), []

    def one(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/", data={"model": "demo", "prompt": f"run {i}"})
                        .status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303] * 200
    assert app.extensions["runs"].count() == 200


def test_a_database_failure_still_shows_the_reply_once(upstream, make_app, tmp_path):
    broken = f"sqlite:///{tmp_path / 'missing-dir' / 'runs.db'}"  # cannot be created
    app = make_app(AIMLAPI_API_KEY=None, DATABASE_URL=broken)
    page = submit(app.test_client(), prompt="keep my reply")
    assert page.status == 200 and not page.response.history  # no redirect to a missing page
    assert "Hello! How can I help you today?" in page.text(".reply")
    assert "could not be saved" in page.text(".banner-warn")


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807", "3"])
def test_a_page_number_past_the_end_shows_the_last_page(client, upstream, page):
    """Found by the fuzzer: a huge page number overflowed the database's OFFSET (a 500)."""
    assert submit(client, follow=False, prompt="Kept").status == 303
    shown = Page(client.get(f"/history?page={page}"))
    assert shown.status == 200
    assert shown.all_text(".run-link") == ["Kept"]


NUL_ID = "-OlxgX5KX_SrO-frbLrVFA%00"  # a NUL byte PostgreSQL refuses in any text parameter


@pytest.mark.parametrize("url", [f"/runs/{NUL_ID}", f"/runs/{NUL_ID}.json", f"/s/{NUL_ID}"])
def test_an_id_with_a_nul_byte_is_not_found(client, upstream, url):
    """Found by the fuzzer: on PostgreSQL these were 500s (DataError), not 404s."""
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("action", ["delete", "share", "revoke"])
def test_an_action_on_an_id_with_a_nul_byte_is_not_found(client, upstream, action):
    response = client.post(f"/runs/{NUL_ID}/{action}", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 404


@pytest.mark.parametrize("query", ["run=a%00", "share=a%00"])
def test_opening_an_id_with_a_nul_byte_gives_the_empty_form(client, upstream, query):
    page = Page(client.get(f"/?{query}"))
    assert page.status == 200 and page.value(PROMPT) == ""


def test_a_search_with_a_nul_byte_searches_without_it(client, upstream):
    assert submit(client, follow=False, prompt="needle in a haystack").status == 303
    found = Page(client.get("/history?q=nee%00dle&model=fake%2Fok%00"))
    assert found.status == 200
    assert found.all_text(".run-link") == ["needle in a haystack"]

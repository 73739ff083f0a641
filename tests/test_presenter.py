"""Integration: presenter mode (?present=1) through the app: what an audience sees, and the
flag kept through the form, the redirect and the run's page. No JavaScript involved."""

from __future__ import annotations

from playground.presenter import with_present
from tests.helpers import SENTINEL_KEY, Page, form


def test_with_present_adds_or_removes_only_the_flag():
    assert with_present("/runs/x?a=1&present=1", False) == "/runs/x?a=1"
    assert with_present("/runs/x?a=1", True) == "/runs/x?a=1&present=1"
    assert with_present("/?present=1&present=0", True) == "/?present=1"


def test_the_playground_in_presenter_mode_shows_nothing_private(make_app, upstream):
    app = make_app(PLAYGROUND_ALLOW_USER_KEYS=True)
    client = app.test_client()
    normal = Page(client.get("/"))
    assert upstream.base_url in normal.text(".topbar")  # the base URL pill, normally
    assert normal.text(".present-toggle") == "Present"
    assert normal.soup.select_one(".present-toggle")["href"] == "/?present=1"
    page = Page(client.get("/?present=1"))
    assert page.soup.html["class"] == ["present"]
    assert upstream.base_url not in page.html and SENTINEL_KEY not in page.html
    assert page.soup.select_one("input[name=present]")["value"] == "1"  # the form keeps it
    toggle = page.soup.select_one(".present-toggle")
    assert toggle.get_text() == "Stop presenting" and toggle["href"] == "/"


def test_a_run_posted_in_presenter_mode_lands_on_its_page_presenting(client, upstream):
    response = client.post("/", data=form(client, model="fake/markdown", present="1"))
    assert response.status_code == 303 and response.headers["Location"].endswith("?present=1")
    page = Page(client.get(response.headers["Location"]))
    figures = page.all_text(".big-figures dt")
    assert figures == ["Time", "Tokens", "Cost"]
    assert page.all_text(".big-figures dd")[1] == "17"  # the reported total, never a guess
    hood = page.soup.select_one("details.under-hood")
    assert hood.summary.get_text() == "Under the hood" and not hood.has_attr("open")
    assert hood.select_one("#response-json") and hood.select_one(".timeline-panel")
    assert page.soup.select_one(".run-actions") is None  # no share/delete for an audience
    assert "Bearer ••••" not in page.html and upstream.base_url not in page.html  # no headers
    assert "Response headers" not in page.html  # the provider's headers are not shown
    assert page.soup.select_one(".reply h1").get_text() == "Title"  # the reply, as usual


def test_redirects_keep_presenting_only_on_this_site(app, client):
    from flask import redirect

    with app.test_request_context("/?present=1"):
        from playground.presenter import keep_presenting

        assert keep_presenting(redirect("/history")).headers["Location"] == \
            "/history?present=1"
        assert keep_presenting(redirect("https://elsewhere.example/x")).headers[
            "Location"] == "https://elsewhere.example/x"
    with app.test_request_context("/"):
        assert keep_presenting(redirect("/history")).headers["Location"] == "/history"


def test_a_too_large_form_is_refused_plainly_in_presenter_mode(make_app, upstream):
    # Reading the flag must not read a form the server refuses: a 413 page, not a 500.
    client = make_app(MAX_CONTENT_LENGTH=10_000).test_client()
    response = client.post("/", data={"present": "1", "turns-0-content": "x" * 20_000})
    assert response.status_code == 413 and "larger than this server accepts" in \
        response.get_data(as_text=True)

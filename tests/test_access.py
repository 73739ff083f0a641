"""The password gate: every page asks first; the pass is a safe cookie; attempts are limited."""

from __future__ import annotations

import pytest

from tests.helpers import Page, csrf_token

PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_gated(upstream, make_app):
    def make(**overrides):
        return make_app(**{"PLAYGROUND_PASSWORD": PASSWORD, **overrides})
    return make


def login(client, password=PASSWORD, next_url="/", **kwargs):
    token = csrf_token_from_login(client)
    return client.post("/login", data={"csrf_token": token, "password": password,
                                       "next": next_url}, **kwargs)


def csrf_token_from_login(client) -> str:
    page = Page(client.get("/login"))
    return page.soup.select_one("input[name=csrf_token]")["value"]


def test_open_without_a_password(client):
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 302


def test_every_page_asks_for_the_password_first(make_gated, upstream):
    client = make_gated().test_client()
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert client.get("/models").status_code == 302
    assert "private" in Page(client.get("/login")).text("h1")
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    posted = client.post("/", data={"model": "fake/ok", "prompt": "x"})
    assert posted.status_code == 401 and "password" in posted.get_data(as_text=True)
    streamed = client.post("/stream", data={"model": "fake/ok", "prompt": "x"})
    assert streamed.status_code == 401 and streamed.mimetype == "text/html"
    assert upstream.received == []


def test_the_right_password_opens_the_playground(make_gated, upstream):
    client = make_gated().test_client()
    response = login(client, next_url="/?x=1")
    assert response.status_code == 303 and response.location == "/?x=1"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200
    token = csrf_token(client)
    assert client.post("/", data={"csrf_token": token, "model": "fake/ok",
                                  "prompt": "x"}).status_code == 303


def test_a_wrong_password_is_refused(make_gated):
    client = make_gated().test_client()
    response = login(client, password="Correct horse battery staple")
    assert response.status_code == 401 and "not right" in Page(response).text(".banner-warn")
    assert client.get("/").status_code == 302


def test_the_cookie_is_secure_over_https(make_gated):
    client = make_gated().test_client()
    response = login(client, base_url="https://playground.example")
    assert "Secure" in response.headers["Set-Cookie"]


def test_the_cookie_is_secure_behind_a_tls_proxy(make_gated):
    client = make_gated(PLAYGROUND_PROXY_HOPS=1).test_client()
    response = login(client, headers={"X-Forwarded-Proto": "https",
                                      "X-Forwarded-For": "198.51.100.1"})
    assert "Secure" in response.headers["Set-Cookie"]


def test_login_needs_its_csrf_token(make_gated, upstream):
    client = make_gated().test_client()
    page = Page(client.post("/login", data={"password": PASSWORD}))
    assert page.status == 400 and client.get("/").status_code == 302
    # A plain page that says what to do; never the playground behind the gate.
    assert "reload the page" in page.text("main")
    assert page.soup.select_one("#prompt-form") is None
    assert "correct horse" not in page.html and upstream.received == []


def test_attempts_are_rate_limited(make_gated):
    client = make_gated(PLAYGROUND_LOGIN_LIMIT="3/minute").test_client()
    assert [login(client, password="guess").status_code for _ in range(3)] == [401] * 3
    response = login(client)  # even the right one waits now
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "Too many password attempts" in Page(response).text(".banner-warn")


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)", "/ok\r\nX: 1"])
def test_next_never_leaves_the_site(make_gated, target):
    response = login(make_gated().test_client(), next_url=target)
    assert response.status_code == 303 and response.location == "/"


def test_changing_the_password_signs_everyone_out(make_gated, tmp_path):
    app = make_gated()
    client = app.test_client()
    login(client)
    assert client.get("/").status_code == 200
    client.application.config["PLAYGROUND_PASSWORD"] = "a new password"
    assert client.get("/").status_code == 302


def test_logout(make_gated):
    client = make_gated().test_client()
    login(client)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/").status_code == 302

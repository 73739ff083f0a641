"""Budgets: per-client and global run limits, runs in flight, behind proxies, on Redis."""

from __future__ import annotations

from tests.helpers import PROMPT, Page, csrf_token


def post(client, path="/", addr="127.0.0.1", headers=None, **fields):
    data = {"csrf_token": csrf_token(client), "model": "fake/ok", "prompt": "keep me"}
    data.update(fields)
    response = client.post(path, data=data, headers=headers or {},
                           environ_base={"REMOTE_ADDR": addr})
    return Page(response) if path == "/" else response


def assert_limit_card(page: Page) -> None:
    assert page.status == 429
    assert 1 <= int(page.response.headers["Retry-After"]) <= 86400
    assert "Please wait a little" in page.text(".limit-card")
    assert "Nothing was sent to the model" in page.text(".limit-card")
    assert page.value(PROMPT) == "keep me" and page.value("model") == "fake/ok"


def test_per_client_limit_shows_a_card_and_makes_no_call(make_app, upstream):
    client = make_app(PLAYGROUND_RATE_LIMIT="2/minute").test_client()
    assert [post(client).status for _ in range(2)] == [303, 303]
    page = post(client)
    assert_limit_card(page)
    assert "(2 per minute)" in page.text(".limit-card")
    assert int(page.response.headers["Retry-After"]) <= 60
    assert len([r for r in upstream.received if r["method"] == "POST"]) == 2


def test_refused_forms_do_not_spend_the_budget(make_app, upstream):
    client = make_app(PLAYGROUND_RATE_LIMIT="2/minute").test_client()
    assert [post(client, temperature="nan").status for _ in range(3)] == [400] * 3
    assert [post(client).status for _ in range(2)] == [303, 303]


def test_stream_over_the_limit_falls_back_to_the_card(make_app, upstream):
    client = make_app(PLAYGROUND_RATE_LIMIT="1/minute").test_client()
    post(client, "/stream").get_data()
    response = post(client, "/stream")
    assert response.status_code == 429 and response.mimetype == "application/json"
    assert int(response.headers["Retry-After"]) >= 1
    assert_limit_card(post(client))  # what the page's script does next: a plain submit
    assert len([r for r in upstream.received if r["method"] == "POST"]) == 1


def test_global_daily_ceiling_covers_every_client(make_app, upstream):
    client = make_app(PLAYGROUND_RATE_LIMIT="100/minute", PLAYGROUND_DAILY_LIMIT="3/day") \
        .test_client()
    assert [post(client, addr=f"203.0.113.{i}").status for i in range(3)] == [303] * 3
    page = post(client, addr="203.0.113.99")
    assert_limit_card(page)
    assert "for everyone" in page.text(".limit-card")


def test_spoofed_forwarded_for_does_not_dodge_the_limit(make_app, upstream):
    client = make_app(PLAYGROUND_RATE_LIMIT="2/minute").test_client()
    statuses = [post(client, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status
                for i in range(4)]
    assert statuses == [303, 303, 429, 429]


def test_behind_one_proxy_the_forwarded_client_is_limited(make_app, upstream):
    client = make_app(PLAYGROUND_RATE_LIMIT="1/minute", PLAYGROUND_PROXY_HOPS=1).test_client()
    alice = {"X-Forwarded-For": "198.51.100.1"}
    bob = {"X-Forwarded-For": "198.51.100.2"}
    assert post(client, addr="10.0.0.2", headers=alice).status == 303
    assert post(client, addr="10.0.0.2", headers=bob).status == 303
    # Alice prepends a made-up address; the proxy appended her real one, which is used.
    spoof = {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}
    assert post(client, addr="10.0.0.2", headers=spoof).status == 429


def test_runs_in_flight_are_capped_per_client(make_app, upstream):
    client = make_app(PLAYGROUND_MAX_STREAMS_PER_CLIENT=1).test_client()
    first = post(client, "/stream")
    assert first.mimetype == "text/event-stream"  # holding its slot until it is closed
    second = post(client, "/stream")
    assert second.status_code == 429 and "in progress" in second.get_json()["error"]
    assert post(client).status == 429  # the no-JS fallback is held to the same cap
    assert post(client, "/stream", addr="192.0.2.9").mimetype == "text/event-stream"
    first.close()  # the browser went away before reading anything
    assert post(client, "/stream").mimetype == "text/event-stream"


def test_a_finished_stream_frees_its_slot(make_app, upstream):
    client = make_app(PLAYGROUND_MAX_STREAMS_PER_CLIENT=1).test_client()
    for _ in range(3):
        response = post(client, "/stream")
        assert response.mimetype == "text/event-stream"
        response.get_data()
        response.close()


def test_laptop_defaults_are_generous(make_app, upstream):
    app = make_app()
    assert app.config["PLAYGROUND_RATE_LIMIT"] == "30/minute;1000/day"
    client = app.test_client()
    assert all(post(client).status == 303 for _ in range(25))  # a demo's busy minute


# -- Redis: several instances share one budget ---------------------------------------------


def test_redis_budget_is_shared_between_instances(make_app, upstream, redis_url):
    one = make_app(PLAYGROUND_RATE_LIMIT="2/minute", RATELIMIT_STORAGE_URI=redis_url)
    two = make_app(PLAYGROUND_RATE_LIMIT="2/minute", RATELIMIT_STORAGE_URI=redis_url)
    assert post(one.test_client()).status == 303
    assert post(two.test_client()).status == 303
    assert_limit_card(post(one.test_client()))
    assert_limit_card(post(two.test_client()))


def test_redis_global_ceiling(make_app, upstream, redis_url):
    one = make_app(PLAYGROUND_DAILY_LIMIT="1/day", RATELIMIT_STORAGE_URI=redis_url)
    two = make_app(PLAYGROUND_DAILY_LIMIT="1/day", RATELIMIT_STORAGE_URI=redis_url)
    assert post(one.test_client(), addr="203.0.113.1").status == 303
    assert "for everyone" in post(two.test_client(), addr="203.0.113.2").text(".limit-card")


def test_redis_runs_in_flight_are_shared_and_expire(make_app, upstream, redis_url):
    import redis

    one = make_app(PLAYGROUND_MAX_STREAMS_PER_CLIENT=1, RATELIMIT_STORAGE_URI=redis_url)
    two = make_app(PLAYGROUND_MAX_STREAMS_PER_CLIENT=1, RATELIMIT_STORAGE_URI=redis_url)
    held = post(one.test_client(), "/stream")
    assert held.mimetype == "text/event-stream"
    assert post(two.test_client(), "/stream").status_code == 429
    key = "playground:inflight:127.0.0.1"
    ttl = redis.Redis.from_url(redis_url).ttl(key)
    assert 0 < ttl <= 10 + 60  # the test app's deadline plus a minute: a crash cannot leak
    held.close()
    assert int(redis.Redis.from_url(redis_url).get(key)) == 0
    assert post(two.test_client(), "/stream").mimetype == "text/event-stream"

"""Adversarial corpus, form inputs: every bad value is refused before any network call."""

from __future__ import annotations

import io
import json

import pytest

from tests.helpers import PROMPT, Page, csrf_token, form, submit

BAD_VALUES = [
    ("temperature", "nan"), ("temperature", "NaN"), ("temperature", "inf"),
    ("temperature", "-Infinity"), ("temperature", "-1"), ("temperature", "2.5"),
    ("temperature", "1e309"), ("temperature", "warm"), ("temperature", "0x1"),
    ("max_tokens", "0"), ("max_tokens", "-5"), ("max_tokens", "1.5"), ("max_tokens", "1e3"),
    ("max_tokens", "99999999999999999999999"), ("max_tokens", "ten"),
    ("top_p", "1.0001"), ("top_p", "-0.1"), ("top_p", "nan"),
    ("n", "0"), ("n", "9"), ("n", "1000000"), ("n", "-" + "9" * 400),
    ("max_tokens", "9" * 400), ("seed", "9" * 400),  # beyond a float: NumberRange crashed
    ("seed", "9223372036854775808"), ("seed", "-9223372036854775809"), ("seed", "1.5"),
    ("presence_penalty", "3"), ("presence_penalty", "inf"), ("frequency_penalty", "-2.01"),
    ("model", ""), ("model", "m" * 201), ("model", "gpt\x00x"), ("model", "gpt\u202ex"),
    ("model", "gpt\u200bmini"), ("prompt", ""), ("prompt", "p" * 100_001),
    ("stop", "a\nb\nc\nd\ne"), ("extra", "[1, 2]"), ("extra", "{"), ("extra", '{"a": NaN}'),
    ("extra", '{"a": Infinity}'), ("extra", '{"model": "other"}'), ("extra", '{"stream": true}'),
    ("extra", '{"messages": []}'), ("extra", '"just a string"'),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES,
                         ids=[f"{n}={v[:20]!r}" for n, v in BAD_VALUES])
def test_bad_value_is_refused_with_a_message_and_no_call(client, upstream, name, value):
    page = submit(client, **{name: value})
    assert page.status == 400
    shown = PROMPT if name == "prompt" else name  # the prompt is the user turn's content
    assert page.field_errors(shown), f"no message under {shown}"
    assert upstream.received == []
    if name not in ("prompt", "model") and "\x00" not in value:
        assert page.value(name) == value  # what the user typed is kept


def test_lone_surrogate_bytes_do_not_break_the_page(client, upstream):
    token = csrf_token(client)
    body = f"csrf_token={token}&model=fake%2Fok&prompt=%ED%A0%80hi".encode()
    response = client.post("/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (303, 400)  # a saved run, or a field message
    assert "Something went wrong" not in response.get_data(as_text=True)


def test_lone_surrogate_in_extra_json_is_refused(client, upstream):
    page = submit(client, extra='{"note": "\\ud800"}')
    assert page.status == 400 and page.field_errors("extra")
    assert upstream.received == []


def test_wrong_types_repeated_fields_take_no_effect(client, upstream):
    token = csrf_token(client)
    response = client.post("/", data={"csrf_token": token, "model": "fake/ok", "prompt": "hi",
                                      "temperature": ["1", "nan"], "json_mode": "maybe"})
    assert response.status_code == 303
    assert upstream.received[-1]["body"]["temperature"] == 1.0


def test_ten_megabyte_body_is_refused_before_parsing(client, upstream):
    response = client.post("/", data={"csrf_token": csrf_token(client), "model": "fake/ok",
                                      "prompt": "x" * (10 * 1024 * 1024)})
    assert response.status_code == 413
    assert "larger than this server accepts" in Page(response).text(".error-card")
    assert upstream.received == []


def test_five_thousand_fields_are_refused(client, upstream):
    data = {f"f{i}": "x" for i in range(5000)}
    data.update(csrf_token=csrf_token(client), model="fake/ok", prompt="hi")
    response = client.post("/", data=data)
    assert response.status_code == 413 and upstream.received == []


def test_missing_csrf_token_is_refused_and_input_kept(client, upstream):
    response = client.post("/", data={"model": "fake/ok", "prompt": "keep me"})
    page = Page(response)
    assert page.status == 400 and "security token" in page.text(".banner-warn")
    assert page.value(PROMPT) == "keep me" and upstream.received == []


def test_cross_origin_post_is_refused(app, upstream):
    victim = app.test_client()
    csrf_token(victim)  # the victim has a session
    attacker = app.test_client()
    stolen_shape = csrf_token(attacker)  # a valid token, but for another session
    response = victim.post("/", data={"csrf_token": stolen_shape, "model": "fake/ok",
                                      "prompt": "spend"},
                           headers={"Origin": "https://evil.example",
                                    "Referer": "https://evil.example/"})
    assert response.status_code == 400 and upstream.received == []


def test_cross_origin_stream_without_token_is_refused(client, upstream):
    response = client.post("/stream", data={"model": "fake/ok", "prompt": "spend"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 400 and upstream.received == []


@pytest.fixture
def capped(upstream, make_app):
    app = make_app(PLAYGROUND_MAX_TOKENS_CAP=256, PLAYGROUND_PROMPT_CAP=50)
    return app.test_client()


def test_max_tokens_above_the_server_cap_is_refused(capped, upstream):
    page = submit(capped, max_tokens="257")
    assert page.status == 400 and "at most 256" in page.field_errors("max_tokens")
    assert upstream.received == []


@pytest.mark.parametrize("extra", ['{"max_tokens": 100000}', '{"max_completion_tokens": 1e9}',
                                   '{"max_output_tokens": "lots"}', '{"max_tokens": true}'])
def test_extra_json_cannot_lift_the_token_cap(capped, upstream, extra):
    page = submit(capped, extra=extra)
    assert page.status == 400 and "up to 256" in page.field_errors("extra")
    assert upstream.received == []


def test_the_cap_is_sent_when_the_visitor_sets_none(capped, upstream):
    page = submit(capped, prompt="short")
    assert page.status == 200 and upstream.received[-1]["body"]["max_tokens"] == 256


def test_prompt_over_the_server_cap_is_refused(capped, upstream):
    page = submit(capped, prompt="p" * 40, system="s" * 20)
    assert page.status == 400 and "at most 50 characters" in page.field_errors(PROMPT)
    assert upstream.received == []


def test_cross_site_post_is_refused_even_with_a_valid_token(client, upstream):
    response = client.post("/", data={"csrf_token": csrf_token(client), "model": "fake/ok",
                                      "prompt": "x"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and upstream.received == []


def test_https_posts_work_without_a_referer(client, upstream):
    """Referrer-Policy: no-referrer means browsers send none; posts must still work."""
    html = client.get("/", base_url="https://localhost").get_data(as_text=True)
    token = html.split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post("/", data={"csrf_token": token, "model": "fake/ok", "prompt": "x"},
                           base_url="https://localhost")
    assert response.status_code == 303


DEEP_EXTRA = {
    "arrays": '{"a": ' + "[" * 5000 + "]" * 5000 + "}",
    "objects": '{"a":' * 3000 + "1" + "}" * 3000,  # under the 20,000-character cap
    "one-past-the-limit": '{"a": ' + "[" * 64 + "]" * 64 + "}",
}


@pytest.mark.parametrize("extra", DEEP_EXTRA.values(), ids=DEEP_EXTRA.keys())
def test_deeply_nested_extra_json_is_a_field_message_not_a_crash(client, upstream, extra):
    page = submit(client, extra=extra)
    assert page.status == 400
    assert "64 levels" in page.field_errors("extra")
    assert upstream.received == []


@pytest.mark.parametrize("extra", DEEP_EXTRA.values(), ids=DEEP_EXTRA.keys())
def test_deeply_nested_extra_json_is_refused_on_the_stream_too(client, upstream, extra):
    response = client.post("/stream", data=form(client, extra=extra))
    assert response.status_code == 400
    assert "64 levels" in " ".join(response.get_json()["errors"]["extra"])
    assert upstream.received == []


def test_extra_json_nested_to_the_limit_is_sent(client, upstream):
    nested = "[" * 63 + "]" * 63  # 64 levels with the object around it
    page = submit(client, extra='{"a": ' + nested + "}")
    assert page.status == 200 and upstream.received[-1]["body"]["a"] == json.loads(nested)


NON_FINITE_EXTRA = ['{"top_k": 1e309}', '{"top_k": -1e309}', '{"a": [1, {"b": 1e400}]}',
                    '{"a": 123456789e999}']


@pytest.mark.parametrize("extra", NON_FINITE_EXTRA)
def test_non_finite_numbers_in_extra_json_are_refused(client, upstream, extra):
    page = submit(client, extra=extra)
    assert page.status == 400 and "finite" in page.field_errors("extra")
    assert page.value("extra") == extra and "Infinity" not in page.html
    assert upstream.received == []
    response = client.post("/stream", data=form(client, extra=extra))
    assert response.status_code == 400 and "extra" in response.get_json()["errors"]
    assert upstream.received == []


@pytest.mark.parametrize("path", ["/", "/stream"])
def test_a_file_part_in_place_of_a_text_field_is_no_crash(client, upstream, path):
    fields = form(client, extra='{"top_k": 40}')
    fields[PROMPT] = (io.BytesIO(b"a prompt in a file"), "prompt.txt")
    response = client.post(path, data=fields, content_type="multipart/form-data")
    assert response.status_code == 400 and upstream.received == []
    if path == "/":
        assert "Write a message to send" in Page(response).field_errors(PROMPT)


@pytest.mark.parametrize("body", ['{"model": "fake/ok", "prompt": 5}', "[1, 2]", '"text"',
                                  '{"model": "fake/ok", "prompt": "hi"}'])
def test_a_json_body_is_not_the_form(client, upstream, body):
    """The form is an HTML form: a JSON body (even with a valid token header) fills nothing."""
    response = client.post("/", data=body, content_type="application/json",
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 400 and upstream.received == []
    assert "Enter a model name" in Page(response).field_errors("model")

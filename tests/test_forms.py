"""Unit: the form turns typed input into a bounded request body, or field messages."""

from __future__ import annotations

import pytest

from playground.forms import ConversationForm
from tests.helpers import PROMPT, SYSTEM, turn_fields


@pytest.fixture
def app(make_app):
    return make_app(WTF_CSRF_ENABLED=False)


@pytest.fixture
def form_for(app):

    def build(**fields):
        data = {"model": "gpt-4o-mini", **turn_fields(("system", ""), ("user", "Hi")), **fields}
        with app.test_request_context(method="POST", data=data):
            form = ConversationForm()
            valid = form.validate()
            return form, valid
    return build


INVALID = [
    (PROMPT, {PROMPT: ""}, "Write a message to send"),
    (PROMPT, {PROMPT: "   "}, "Write a message to send"),
    (PROMPT, {PROMPT: "x" * 100_001}, "longer than 100000"),
    ("model", {"model": ""}, "Enter a model name"),
    ("model", {"model": "gpt\x00-4"}, "control"),
    ("model", {"model": "gpt\u202e4o"}, "control"),
    ("model", {"model": "m" * 201}, "longer than 200"),
    ("temperature", {"temperature": "NaN"}, "finite"),
    ("temperature", {"temperature": "inf"}, "finite"),
    ("temperature", {"temperature": "7"}, "between 0"),
    ("temperature", {"temperature": "-0.1"}, "between 0"),
    ("temperature", {"temperature": "warm"}, "Not a valid float"),
    ("max_tokens", {"max_tokens": "-5"}, "between 1"),
    ("max_tokens", {"max_tokens": str(10**12)}, "between 1"),
    ("max_tokens", {"max_tokens": "1.5"}, "Not a valid integer"),
    ("top_p", {"top_p": "1.01"}, "between 0"),
    ("n", {"n": "9"}, "between 1"),
    ("seed", {"seed": str(2**64)}, "between"),
    ("presence_penalty", {"presence_penalty": "-2.5"}, "between -2"),
    ("frequency_penalty", {"frequency_penalty": "3"}, "between -2"),
    ("stop", {"stop": "a\nb\nc\nd\ne"}, "At most 4"),
    ("extra", {"extra": "{not json"}, "Not valid JSON"),
    ("extra", {"extra": "[1, 2]"}, "must be an object"),
    ("extra", {"extra": '{"x": NaN}'}, "Not valid JSON"),
    ("extra", {"extra": '{"model": "other"}'}, "with the form"),
    ("extra", {"extra": '{"stream": true}'}, "with the form"),
    ("extra", {"extra": '{"x": "\\ud800"}'}, "not valid Unicode"),
    ("extra", {"extra": '{"top_k": 1e309}'}, "finite"),
    ("extra", {"extra": '{"a": [{"b": -2e400}]}'}, "finite"),
    ("presence_penalty", {"presence_penalty": "-1e309"}, "finite"),
    ("max_tokens", {"max_tokens": "9" * 400}, "too large"),
    ("seed", {"seed": "-" + "9" * 400}, "too large"),
]


@pytest.mark.parametrize(("field", "data", "message"), INVALID,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(INVALID)])
def test_invalid_input_gets_a_field_message(form_for, field, data, message):
    form, valid = form_for(**data)
    assert not valid
    assert any(message in error for error in form.messages_for(field)), form.errors


def test_only_parameters_the_user_set_are_sent(form_for):
    form, valid = form_for(temperature="", max_tokens="", **{SYSTEM: ""})
    assert valid
    assert form.to_body() == {"model": "gpt-4o-mini",
                              "messages": [{"role": "user", "content": "Hi"}]}


def test_every_parameter_lands_in_the_body(form_for):
    form, valid = form_for(**{SYSTEM: "Be brief."}, temperature="0.7", max_tokens="256",
                           top_p="0.9", n="2", seed="42", presence_penalty="0.5",
                           frequency_penalty="-0.5",
                           stop="END\n###", json_mode="y", extra='{"top_k": 40}')
    assert valid, form.errors
    assert form.to_body() == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Hi"}],
        "temperature": 0.7, "max_tokens": 256, "top_p": 0.9, "n": 2, "seed": 42,
        "presence_penalty": 0.5, "frequency_penalty": -0.5, "stop": ["END", "###"],
        "response_format": {"type": "json_object"}, "top_k": 40,
    }


def test_lone_surrogate_bytes_in_a_form_stay_inert_text(app):
    raw = b"model=demo&turns-0-role=user&turns-0-content=bad%ED%A0%80surrogate"
    with app.test_request_context(method="POST", data=raw,
                                  content_type="application/x-www-form-urlencoded"):
        form = ConversationForm()
        assert form.validate()
        content = form.to_body()["messages"][0]["content"]
        assert content.startswith("bad") and content.endswith("surrogate")
        content.encode("utf-8")  # Werkzeug keeps undecodable bytes percent-quoted


def test_brackets_inside_strings_do_not_count_as_nesting(form_for):
    extra = '{"note": "' + "[{" * 500 + '\\"]"}'
    form, valid = form_for(extra=extra)
    assert valid, form.errors
    assert form.to_body()["note"].startswith("[{[{")

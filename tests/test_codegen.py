"""Get code's snippets run: every body × every language, executed against the fake upstream.

Each snippet is written to a file and run by its own program (bash + curl, Python, Node) with
the key and base URL in the environment. The fake upstream must receive a body *equal* to the
one the playground sent, and the snippet must exit 0 and print the reply.
"""

from __future__ import annotations

import pytest

from playground.codegen import snippets
from tests.fake_upstream import GATE_FIRST, GATE_REST, REPLY
from tests.helpers import SENTINEL_KEY
from tests.snippets import printed_text, run

LANGUAGES = ("curl", "python-requests", "python-openai", "javascript-fetch", "node-openai")
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
         "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
HOSTILE = ("He said \"don't\" 'quote' me: $HOME ${HOME} $(whoami) `id` \\ \\n \\\\ C:\\temp\n"
           "second line\ttab\r\nJSON\nEOF\n</script><!-- '''\"\"\" %s {name} {{x}} "
           "🙂 👩‍💻 🇫🇷 — שלום עולם مرحبا بالعالم \u202eevil\u202c \u200b café")
TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


def user(text, model="fake/ok", **params) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}], **params}


# name -> (body, the reply text each snippet must print)
BODIES = {
    "plain": (user("Hello"), REPLY + "\n"),
    "system and turns": ({"model": "fake/ok", "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"}]}, REPLY + "\n"),
    "every sampling parameter": (user(
        "Pick three", model="fake/choices", temperature=0.7, top_p=0.9, max_tokens=256, n=3,
        seed=42, presence_penalty=0.5, frequency_penalty=-0.25, stop=["\n\n", "END"],
        response_format={"type": "json_object"}),
        "Answer number 0\nAnswer number 1\nAnswer number 2\n"),
    "tools": (user("Weather in Paris?", model="fake/tools", tools=[TOOL], tool_choice="auto"),
              '\ntool call: get_weather {"city": "Paris"}\n'),
    "image part": ({"model": "fake/ok", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}}]}]}, REPLY + "\n"),
    "stream": (user("Stream it", model="fake/gate", stream=True,
                    stream_options={"include_usage": True}), GATE_FIRST + GATE_REST + "\n"),
    "non-standard parameters": (user("Hello", top_k=40, repetition_penalty=1.1,
                                     provider={"order": ["a", "b"], "allow_fallbacks": False}),
                                REPLY + "\n"),
    "200 KB prompt": (user("lorem ipsum dolor sit amet " * 7600), REPLY + "\n"),
    "hostile text": ({"model": "fake/ok", "messages": [
        {"role": "system", "content": HOSTILE}, {"role": "user", "content": HOSTILE}],
        "stop": ["'", '"', "`", "$", "\\"]}, REPLY + "\n"),
}


def test_the_long_prompt_is_200_kb():
    assert len(BODIES["200 KB prompt"][0]["messages"][0]["content"].encode()) > 200_000


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", list(BODIES))
def test_snippet_sends_the_same_body_and_prints_the_reply(name, language, upstream, tmp_path):
    body, reply = BODIES[name]
    snippet = next(s for s in snippets(body) if s.key == language)
    streamed = bool(body.get("stream"))

    ran = run(snippet, tmp_path, upstream=upstream, gate=streamed)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert [r["body"] for r in upstream.received] == [body]
    request = upstream.received[0]
    assert request["method"] == "POST" and request["path"] == "/v1/chat/completions"
    # The key came from the environment: the code itself never holds it.
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["authorization"] == f"Bearer {SENTINEL_KEY}"
    assert SENTINEL_KEY not in snippet.code and upstream.base_url not in snippet.code
    assert printed_text(snippet, ran.stdout) == reply
    if streamed:
        assert ran.early, "the first words were not printed before the rest of the reply"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_literal_base_url_needs_no_environment_but_the_key(language, upstream, tmp_path):
    body, reply = BODIES["plain"]
    snippet = next(s for s in snippets(body, upstream.base_url) if s.key == language)

    ran = run(snippet, tmp_path, AIMLAPI_BASE_URL=None, AIMLAPI_API_KEY=SENTINEL_KEY)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert [r["body"] for r in upstream.received] == [body]
    assert printed_text(snippet, ran.stdout) == reply


@pytest.mark.parametrize("missing", ["AIMLAPI_API_KEY", "AIMLAPI_BASE_URL"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_missing_variable_stops_before_any_call_and_is_named(language, missing, upstream,
                                                              tmp_path):
    snippet = next(s for s in snippets(BODIES["plain"][0]) if s.key == language)

    ran = run(snippet, tmp_path, upstream=upstream, **{missing: None})

    assert ran.returncode != 0
    assert missing in ran.stderr
    assert upstream.received == []


@pytest.mark.parametrize("name", ["plain", "stream"])
def test_fetch_code_also_runs_as_an_es_module(name, upstream, tmp_path):
    """The same text in a module (as in a browser's <script type=module>): no require."""
    body, reply = BODIES[name]
    snippet = next(s for s in snippets(body) if s.key == "javascript-fetch")

    ran = run(snippet, tmp_path, upstream=upstream, filename="chat.mjs",
              gate=bool(body.get("stream")))

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert [r["body"] for r in upstream.received] == [body]
    assert ran.stdout == reply


def test_fetch_keeps_every_digit_of_a_seed_beyond_javascript_numbers(upstream, tmp_path):
    body = user("Hello", seed=2**63 - 1)
    snippet = next(s for s in snippets(body) if s.key == "javascript-fetch")

    ran = run(snippet, tmp_path, upstream=upstream)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert upstream.received[0]["body"]["seed"] == 2**63 - 1

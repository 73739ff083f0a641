"""Integration: the offline demo model, and the Python code its reply shows, which must run."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from bs4 import BeautifulSoup

from playground import demo
from playground.catalogue import parse_catalogue
from tests.fake_upstream import REPLY
from tests.helpers import SENTINEL_KEY, stream, submit
from tests.test_images import png

# Quotes, backslashes, a code fence, a bidi override and non-ASCII: all must survive as code.
PROMPT = 'Say "hi" \\ twice.\n```\nthen stop\u202e — café'
FIELDS = {"model": "demo", "prompt": PROMPT, "system": "Be brief.", "temperature": "0.7",
          "seed": "42", "extra": '{"top_k": 40, "metadata": {"note": null, "ok": true}}'}


def snippet(html: str) -> str:
    """The Python code of a demo reply, as a visitor copies it from the rendered reply."""
    blocks = [code.get_text() for code in BeautifulSoup(html, "html.parser")
              .select(".reply pre code")]
    python = [text for text in blocks if "urllib.request" in text]
    assert len(python) == 1, blocks
    return python[0]


def run_snippet(code: str, base_url: str) -> subprocess.CompletedProcess:
    """Run the code as a visitor would: a fresh Python with only the two variables set."""
    env = {"PATH": os.environ.get("PATH", ""), "AIMLAPI_API_KEY": SENTINEL_KEY,
           "AIMLAPI_BASE_URL": base_url}
    return subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_demo_replys_python_code_runs_and_sends_the_same_body(demo_app, upstream):
    client = demo_app.test_client()
    page = submit(client, **FIELDS)
    assert page.status == 200 and "Hello from the offline demo model" in page.text(".reply h2")
    sent = client.get(page.response.request.path + ".json").get_json()["request"]
    assert sent["messages"][-1]["content"] == PROMPT and sent["top_k"] == 40

    result = run_snippet(snippet(page.html), upstream.base_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REPLY  # it printed the fake upstream's reply
    assert len(upstream.received) == 1
    call = upstream.received[0]
    assert call["path"] == "/v1/chat/completions"
    assert call["headers"]["Authorization"] == f"Bearer {SENTINEL_KEY}"
    assert call["body"] == sent


def test_a_streamed_demo_reply_shows_the_same_code_without_streaming(demo_app):
    client = demo_app.test_client()
    plain = snippet(submit(client, **FIELDS).html)
    _, events = stream(client, **FIELDS)
    result = next(data for name, data in events if name == "result")
    assert snippet(result["html"]) == plain
    assert '"stream"' not in plain


def test_the_code_reads_the_key_and_base_url_from_the_environment(demo_app):
    code = snippet(submit(demo_app.test_client(), model="demo", prompt="Hi").html)
    assert 'os.environ["AIMLAPI_API_KEY"]' in code
    assert 'os.environ.get("AIMLAPI_BASE_URL", "https://api.aimlapi.com/v1")' in code
    assert "..." not in code and json.dumps("Hi") in code


def test_a_long_prompt_streams_back_whole_in_a_bounded_number_of_deltas(demo_app):
    prompt = " ".join(f"word{i}" for i in range(8_000))  # ~70k characters
    _, events = stream(demo_app.test_client(), model="demo", prompt=prompt)
    events = list(events)
    text = "".join(data for name, data in events if name == "content")
    assert json.dumps(prompt) in text  # the code block carries the whole prompt
    assert sum(1 for name, _ in events if name == "content") <= demo.MAX_DELTAS
    assert next(data for name, data in events if name == "result")["state"] == "complete"


# -- the workbench: conversations, tools, images and the catalogue ---------------------------
def _reply(body: dict) -> dict:
    return demo.completion(body)["choices"][0]


def test_a_multi_turn_conversation_gets_its_count_and_a_quote_of_the_last_turn():
    text = _reply({"model": "demo", "messages": [
        {"role": "system", "content": "S"}, {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"}, {"role": "user", "content": "the last"}]})
    content = text["message"]["content"]
    assert "**4 turns** (1 system, 2 user, 1 assistant)" in content
    assert "> the last" in content


def test_demo_tools_calls_the_declared_tool_then_answers_from_its_results():
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"},
                                         "unit": {"type": "string", "enum": ["m", "ft"]}}}}}]
    asked = [{"role": "user", "content": "Everest"}]
    first = _reply({"model": "demo-tools", "messages": asked, "tools": tools})
    call = first["message"]["tool_calls"][0]
    assert first["finish_reason"] == "tool_calls" and call["function"]["name"] == "lookup"
    assert json.loads(call["function"]["arguments"]) == {"q": "Everest", "unit": "m"}
    answered = _reply({"model": "demo-tools", "tools": tools, "messages": [
        *asked, {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "8849 m"}]})
    assert answered["finish_reason"] == "stop"
    assert "`lookup` (call `call_demo_1`) returned" in answered["message"]["content"]
    assert "> 8849 m" in answered["message"]["content"]
    # without tools declared, it calls get_weather
    plain = _reply({"model": "demo-tools", "messages": asked})
    assert plain["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_a_vision_request_gets_the_count_types_and_sizes_of_its_images():

    data = png(700, 500)
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert len(url) > 200  # long enough to be abbreviated in the code it shows
    content = _reply({"model": "demo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What are these?"},
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}]}
    )["message"]["content"]
    assert "It received **2 images**" in content
    assert f"PNG, {len(data):,} bytes, 700×500 pixels" in content
    assert "`https://example.com/cat.jpg` (the demo does not fetch it" in content
    assert base64.b64encode(data).decode()[:40] not in content  # the code shows it abbreviated


def test_the_demo_catalogue_declares_what_each_model_can_do():
    status, chunks, _ = demo.respond("GET", "/v1/models", None)
    catalogue = parse_catalogue(json.loads(b"".join(chunks)))
    models = {model.id: model for model in catalogue.models}
    assert status == 200 and set(models) == set(demo.MODELS)
    assert models["demo"].has("vision") and models["demo"].has("structured_output")
    assert models["demo-tools"].has("tools") and not models["demo"].has("tools")
    assert all(model.pricing is not None for model in models.values())

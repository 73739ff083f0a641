"""Get code's text, as tables: each language's strings read back to the same text (literals.py),
the base URL rules keep internal addresses out, and each SDK gets its parameters where it
wants them (codegen.py)."""

from __future__ import annotations

import ast
import inspect
import json
import shutil
import subprocess
import sys
import unicodedata

import pytest

from playground import codegen
from playground.codegen import base_for, snippets
from playground.literals import js_string, json_text, py_string, shell_quote

TEXTS = {
    "plain": "Hello",
    "quotes": "She said \"no\" and 'yes' \"\"\" '''",
    "backslashes": "C:\\new\\table \\n \\\\ \\u0041 \\",
    "shell": "$HOME ${HOME} $(id) `id` !! \\$",
    "line ends": "one\ntwo\r\nthree\rfour\tfive",
    "html": "</script><script>alert(1)</script> <!-- --> </SCRIPT",
    "non-ASCII": "café naïve 日本語 Ünïcödé",
    "emoji": "🙂 👩‍💻 🇫🇷 👍🏽",
    "right to left": "שלום עולם · مرحبا بالعالم",
    "bidi overrides": "\u202eevil\u202c \u2066isolate\u2069 \u200fmark",
    "controls": "\x00 bell\x07 \x1b[31mred \x7f \x85 \x9f",
    "separators": "line\u2028paragraph\u2029",
    "lone surrogates": "high \ud800 low \udfff",
    "invisible": "zero\u200bwidth \ufeffbom tag\U000e0041 soft\u00adhyphen",
    "long": "lorem ipsum " * 20_000,
}
HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def hidden(code: str) -> list[str]:
    """Characters of ``code`` a reader cannot see (a line end is seen)."""
    return [f"U+{ord(c):04X}" for c in set(code)
            if unicodedata.category(c) in HIDDEN and c != "\n"]


@pytest.mark.parametrize("name", list(TEXTS))
def test_python_strings_read_back_and_show_every_character(name):
    literal = py_string(TEXTS[name])
    assert ast.literal_eval(literal) == TEXTS[name]
    assert hidden(literal) == [] and "\n" not in literal


def test_javascript_strings_read_back_and_show_every_character(tmp_path):
    node = shutil.which("node") or pytest.fail("node is missing: run tests/provision.sh node")
    names = list(TEXTS)
    script = tmp_path / "read.js"
    script.write_text("process.stdout.write(JSON.stringify([\n" + ",\n".join(
        js_string(TEXTS[n]) for n in names) + "]));\n", encoding="utf-8")
    done = subprocess.run([node, str(script)], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert dict(zip(names, json.loads(done.stdout), strict=True)) == TEXTS
    for name in names:
        literal = js_string(TEXTS[name])
        assert hidden(literal) == [] and "\n" not in literal
        # Safe to paste inside a page's <script> element too.
        assert "</" not in literal and "<!--" not in literal


@pytest.mark.parametrize("name", list(TEXTS))
def test_json_in_the_here_document_reads_back_and_shows_every_character(name):
    body = {"messages": [{"role": "user", "content": TEXTS[name]}]}
    text = json_text(body)
    assert json.loads(text) == body
    assert hidden(text) == []
    assert codegen.HEREDOC not in text.splitlines()


def test_every_invisible_character_in_unicode_is_escaped():
    invisible = "".join(chr(c) for c in range(sys.maxunicode + 1)
                        if unicodedata.category(chr(c)) in HIDDEN)
    assert len(invisible) > 2000  # controls, format characters, 2048 surrogates
    for escape in (py_string, js_string, lambda t: json_text([t])):
        assert hidden(escape(invisible).replace("\n", "")) == []


@pytest.mark.parametrize("text", ["https://api.aimlapi.com/v1", "https://h/it's $HOME `x`"])
def test_shell_quoting_reads_back(text):
    done = subprocess.run(["bash", "-c", f"printf %s {shell_quote(text)}"], capture_output=True)
    assert done.stdout.decode() == text


# -- which base URL the code shows ------------------------------------------------------------
PUBLIC = ["https://api.aimlapi.com/v1", "https://openrouter.ai/api/v1",
          "https://api.example.com:8443/openai/v1", "https://1.1.1.1/v1",
          "https://[2606:4700::1111]/v1", "https://api.xn--p1ai/v1"]
INTERNAL = ["http://api.example.com/v1", "https://localhost:8080/v1", "https://127.0.0.1/v1",
            "https://10.0.0.5/v1", "https://192.168.1.2/v1", "https://172.16.0.1/v1",
            "https://169.254.169.254/latest", "https://[::1]/v1", "https://[fd00::1]/v1",
            "https://llm.internal/v1", "https://printer.local/v1", "https://ollama/v1",
            "https://127.1/v1", "https://0x7f.1/v1", "https://2130706433/v1",
            "https://user:secret@api.example.com/v1", "https://api.example.com/v1?key=abc",
            "https://api.example.com/v1#x", "https://api.example.com /v1", "demo://local",
            "", "ftp://api.example.com/v1"]


@pytest.mark.parametrize("url", PUBLIC)
def test_a_public_https_provider_is_shown_as_it_is(url):
    base = base_for(url + "/chat/completions", provider="default")
    assert base == codegen.Base(url)
    assert base_for(url + "/chat/completions", provider="openrouter").url == url


@pytest.mark.parametrize("url", INTERNAL)
def test_an_internal_address_is_never_shown(url):
    base = base_for(url + "/chat/completions", provider="local")
    assert base.url is None and "AIMLAPI_BASE_URL" in base.note


@pytest.mark.parametrize("url", PUBLIC[:2])
def test_shared_pages_and_visitor_urls_read_the_base_url_from_the_environment(url):
    endpoint = url + "/chat/completions"
    assert base_for(endpoint, shared=True).url is None
    assert base_for(endpoint, provider="custom").url is None
    assert "AIMLAPI_BASE_URL" in base_for(endpoint, provider="custom").note


def test_the_demo_shows_the_ai_ml_api_with_a_note():
    base = base_for("demo://local/v1/chat/completions", demo=True)
    assert base.url == "https://api.aimlapi.com/v1"
    assert base.note.startswith("The demo is offline; this code calls the AI/ML API")


def test_the_code_uses_the_same_ai_ml_api_url_as_the_playground():
    from playground.providers import DEFAULT_BASE_URL

    assert codegen.AIMLAPI_URL == DEFAULT_BASE_URL


def test_a_literal_base_url_is_in_every_snippet_and_a_placeholder_names_the_variable():
    body = {"model": "m", "messages": []}
    for snippet in snippets(body, "https://api.example.com/v1"):
        assert "https://api.example.com/v1" in snippet.code, snippet.key
    for snippet in snippets(body, None):
        assert "AIMLAPI_BASE_URL" in snippet.code and "example.com" not in snippet.code


# -- where each language puts what -----------------------------------------------------------
def create_call(code: str) -> ast.Call:
    return next(node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "create")


def test_python_sdk_gets_standard_parameters_by_name_and_the_rest_in_extra_body():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0.2,
            "seed": 1, "top_k": 40, "provider": {"order": ["a"]}, "timeout": 5}
    code = next(s for s in snippets(body) if s.key == "python-openai").code
    keywords = {k.arg: ast.literal_eval(k.value) for k in create_call(code).keywords}
    assert keywords == {"model": "m", "messages": [{"role": "user", "content": "x"}],
                        "temperature": 0.2, "seed": 1,
                        "extra_body": {"top_k": 40, "provider": {"order": ["a"]}, "timeout": 5}}


def test_the_python_sdk_takes_every_parameter_the_code_names():
    from openai.resources.chat.completions import Completions

    accepted = set(inspect.signature(Completions.create).parameters)
    assert not codegen.PYTHON_SDK_PARAMS - accepted


def test_node_sdk_code_says_which_keys_its_types_do_not_name():
    code = next(s for s in snippets({"model": "m", "top_k": 4}) if s.key == "node-openai").code
    assert "// top_k: not named in the SDK's types" in code


def test_node_sdk_code_warns_of_integers_javascript_rounds():
    code = next(s for s in snippets({"model": "m", "seed": 2**60}) if s.key == "node-openai")
    assert f"// {2**60}: beyond the integers JavaScript holds exactly" in code.code


def test_python_sdk_code_warns_of_lone_surrogates_it_cannot_send():
    code = next(s for s in snippets({"model": "m", "user": "\udc00"})
                if s.key == "python-openai").code
    assert "lone surrogates" in code and "send it with requests instead" in code


@pytest.mark.parametrize("stream", [True, False])
def test_the_stream_argument_wins_over_the_body(stream):
    body = {"model": "m", "stream": not stream}
    by_key = {s.key: s.code for s in snippets(body, stream=stream)}
    sent = json.loads(by_key["curl"].split("<<'JSON'\n", 1)[1].rsplit("\nJSON\n", 1)[0])
    assert sent.get("stream", False) is stream
    assert (" -N " in by_key["curl"]) is stream
    assert ("stream=True," in by_key["python-requests"]) is stream
    assert ("for await (const chunk of stream)" in by_key["node-openai"]) is stream


def test_curl_sends_the_body_from_a_quoted_here_document():
    body = {"model": "m", "messages": [{"role": "user", "content": TEXTS["shell"] + "\nJSON\n"}]}
    code = next(s for s in snippets(body) if s.key == "curl").code
    head, rest = code.split("--data-binary @- <<'JSON'\n", 1)
    sent, tail = rest.rsplit("\nJSON\n", 1)
    assert json.loads(sent) == body and tail == ""
    assert "$AIMLAPI_API_KEY" not in sent


# -- shown on the page --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["plain", "shell", "html", "bidi overrides", "lone surrogates"])
def test_highlighted_code_reads_exactly_as_the_code(name):
    from html import unescape

    from bs4 import BeautifulSoup

    from playground.render import highlight_code

    body = {"model": "m", "messages": [{"role": "user", "content": TEXTS[name]}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "top_k": 1}
    for stream in (False, True):
        for snippet in snippets(body, "https://api.example.com/v1", stream):
            html = str(highlight_code(snippet.code, snippet.lang))
            soup = BeautifulSoup(f"<pre>{html}</pre>", "html.parser").pre  # as on the page
            assert {t.name for t in soup.find_all(True)} == {"span"}
            assert unescape(soup.get_text()) == snippet.code, snippet.key


def test_code_too_long_to_colour_is_shown_as_escaped_text():
    from playground.render import CODE_HIGHLIGHT_LIMIT, highlight_code

    code = "x = '<b>'\n" * (CODE_HIGHLIGHT_LIMIT // 10 + 1)
    assert str(highlight_code(code, "python")) == code.replace("<", "&lt;").replace(
        ">", "&gt;").replace("'", "&#39;")

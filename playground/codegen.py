"""Get code: the exact call of a run as curl, Python and JavaScript a person can run.

Pure: from (base URL, request body, stream) to five snippets. Each sends a body *equal* to
the one given; the key is read from ``AIMLAPI_API_KEY`` and never written into the code; the
base URL is a literal only when the caller says it is public (``base_for`` decides), else it
is read from ``AIMLAPI_BASE_URL``. Values are written by ``literals.py``, which escapes every
string for its language and every character a reader cannot see, so the code shows what it
sends. The tests execute every snippet against a real server.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from playground.literals import (
    SURROGATE,
    js_string,
    json_text,
    literal,
    py_string,
    shell_quote,
    unsafe_integers,
)
from playground.settings import CUSTOM

AIMLAPI_URL = "https://api.aimlapi.com/v1"
KEY_ENV, BASE_ENV = "AIMLAPI_API_KEY", "AIMLAPI_BASE_URL"
KEY_PLACEHOLDER, BASE_PLACEHOLDER = "YOUR_AIMLAPI_API_KEY", "YOUR_AIMLAPI_BASE_URL"
# The Python SDK's own keyword arguments (openai>=1.45); any other key goes in extra_body.
PYTHON_SDK_PARAMS = frozenset({
    "model", "messages", "frequency_penalty", "logit_bias", "logprobs", "max_tokens",
    "max_completion_tokens", "n", "parallel_tool_calls", "presence_penalty", "response_format",
    "seed", "stop", "stream", "stream_options", "temperature", "tool_choice", "tools",
    "top_logprobs", "top_p", "user"})
# Node's SDK sends any key it is given, but its types name only the standard ones.
NODE_SDK_PARAMS = PYTHON_SDK_PARAMS | {"reasoning_effort", "metadata", "store", "modalities",
                                       "audio", "prediction", "service_tier", "verbosity"}
HEREDOC = "JSON"


@dataclass(frozen=True)
class Base:
    """Where the code sends the call: a literal URL, or None to read ``AIMLAPI_BASE_URL``."""

    url: str | None
    note: str | None = None


@dataclass(frozen=True)
class Snippet:
    """One language's code, with what the page needs to show and download it."""

    key: str
    label: str
    lang: str  # a Pygments lexer name
    filename: str
    code: str


def is_public(url: str) -> bool:
    """Whether a base URL may be shown: https on a public host, no credentials, no query."""
    if re.search(r"[\s\\\x00-\x1f\x7f]", url):
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme != "https" or "@" in parts.netloc or parts.query or parts.fragment:
        return False
    if not host or host == "localhost" or host.endswith((
            ".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain", ".svc",
            ".corp", ".intranet", ".private")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    # A single label is a local name; a top label with a digit is an address in disguise
    # ("127.1", "0x7f.1") unless it is an internationalised one ("xn--p1ai").
    top = host.rsplit(".", 1)[-1]
    return "." in host and not (re.search(r"\d", top) and not top.startswith("xn--"))


def base_for(endpoint: str | None, *, provider: str | None = None, demo: bool = False,
             shared: bool = False) -> Base:
    """Decide the base URL a run's code shows, so that internal addresses never are."""
    if shared:
        return Base(None, f"Set {BASE_ENV} to the base URL of the API to call, "
                          f"e.g. {AIMLAPI_URL}.")
    if demo:
        return Base(AIMLAPI_URL, "The demo is offline; this code calls the AI/ML API. "
                                 "Change the model to one of its models.")
    if provider == CUSTOM:
        return Base(None, f"Set {BASE_ENV} to the base URL you typed for this run.")
    url = (endpoint or "").removesuffix("/chat/completions")
    if is_public(url):
        return Base(url)
    return Base(None, f"This run went to an address that is not shown here: set {BASE_ENV} "
                      "to it.")


# -- the five snippets -------------------------------------------------------------------------
def snippets(body: dict, base_url: str | None = None, stream: bool | None = None
             ) -> list[Snippet]:
    """The five snippets of one call; ``stream`` (default: the body's own) wins over the body."""
    stream = bool(body.get("stream")) if stream is None else stream
    if bool(body.get("stream")) != stream:
        body = {k: v for k, v in body.items() if k != "stream"} | (
            {"stream": True} if stream else {})
    return [
        Snippet("curl", "curl", "bash", "chat.sh", curl(body, base_url, stream)),
        Snippet("python-requests", "Python · requests", "python", "chat.py",
                python_requests(body, base_url, stream)),
        Snippet("python-openai", "Python · openai", "python", "chat_openai.py",
                python_openai(body, base_url, stream)),
        Snippet("javascript-fetch", "JavaScript · fetch", "javascript", "chat.js",
                javascript_fetch(body, base_url, stream)),
        Snippet("node-openai", "Node · openai", "javascript", "chat.mjs",
                node_openai(body, base_url, stream)),
    ]


def curl(body: dict, base_url: str | None, stream: bool) -> str:
    url = shell_quote(f"{base_url}/chat/completions") if base_url else \
        f'"${{{BASE_ENV}:?Set {BASE_ENV} to the base URL of the API}}/chat/completions"'
    how_flag = "-N" if stream else "-w '\\n'"
    how = ("-N prints the raw server-sent events as they arrive." if stream else
           "-w adds a line end after the JSON reply.")
    return "\n".join([
        "#!/usr/bin/env bash",
        f"# The key is read from {KEY_ENV}; it is never written in this file.",
        "# The body goes in on stdin (the here-document), so a long prompt fits;",
        f"# {how}",
        f"curl -sS --fail-with-body {how_flag} {url} \\",
        f'  -H "Authorization: Bearer ${{{KEY_ENV}:?Set {KEY_ENV}}}" \\',
        '  -H "Content-Type: application/json" \\',
        # Quoted, so the shell expands nothing in the body. Indented JSON has no line that
        # is a bare word, so the delimiter cannot end it early.
        f"  --data-binary @- <<'{HEREDOC}'", json_text(body), HEREDOC, ""])


def _python_base(base_url: str | None) -> str:
    if base_url:
        return f"BASE_URL = {py_string(base_url)}"
    return f'BASE_URL = os.environ["{BASE_ENV}"]  # e.g. {AIMLAPI_URL}'


def python_requests(body: dict, base_url: str | None, stream: bool) -> str:
    lines = ["# The playground's request, with requests (pip install requests).",
             f"# The key is read from {KEY_ENV}; it is never written in this file.",
             *(["import json"] if stream else []), "import os", "", "import requests", "",
             _python_base(base_url), f'API_KEY = os.environ["{KEY_ENV}"]', "",
             f"body = {literal(body, 'python')}", "",
             f"{'with' if stream else 'response ='} requests.post(",
             '    f"{BASE_URL}/chat/completions",',
             '    headers={"Authorization": f"Bearer {API_KEY}"},',
             "    json=body,", *(["    stream=True,"] if stream else []), "    timeout=120,",
             ") as response:" if stream else ")"]
    failed = ["if not response.ok:",
              '    raise SystemExit(f"HTTP {response.status_code}: {response.text}")']
    if stream:
        return "\n".join([*lines, *("    " + line for line in failed),
                          "    for line in response.iter_lines():",
                          '        # Server-sent events: each "data:" line is one JSON chunk.',
                          '        if not line.startswith(b"data:"):',
                          "            continue",
                          "        data = line[5:].strip()",
                          '        if data == b"[DONE]":',
                          "            break",
                          '        for choice in json.loads(data).get("choices") or []:',
                          '            text = (choice.get("delta") or {}).get("content")',
                          '            print(text or "", end="", flush=True)',
                          "print()", ""])
    lines += [*failed, 'for choice in response.json()["choices"]:']
    if body.get("tools"):
        lines += ['    message = choice["message"]',
                  '    print(message.get("content") or "")',
                  '    for call in message.get("tool_calls") or []:',
                  '        print("tool call:", call["function"]["name"], '
                  'call["function"]["arguments"])']
    else:
        lines += ['    print(choice["message"]["content"])']
    return "\n".join([*lines, ""])


def python_openai(body: dict, base_url: str | None, stream: bool) -> str:
    named = {k: v for k, v in body.items() if k in PYTHON_SDK_PARAMS}
    extra = {k: v for k, v in body.items() if k not in PYTHON_SDK_PARAMS}
    base = py_string(base_url) if base_url else f'os.environ["{BASE_ENV}"]'
    arguments = [f"    {name}={literal(value, 'python', 1)}," for name, value in named.items()]
    if extra:
        arguments += ["    # Not the SDK's own parameters: extra_body sends them as they are.",
                      f"    extra_body={literal(extra, 'python', 1)},"]
    if SURROGATE.search(json.dumps(body, ensure_ascii=False)):
        arguments[:0] = ["    # This body has lone surrogates (U+D800 to U+DFFF), which the SDK "
                         "cannot encode:", "    # send it with requests instead."]
    lines = ["# The playground's request, with the OpenAI SDK (pip install openai).",
             f"# The key is read from {KEY_ENV}; it is never written in this file.",
             "import os", "", "from openai import OpenAI", "",
             f'client = OpenAI(api_key=os.environ["{KEY_ENV}"], base_url={base})', "",
             f"{'stream' if stream else 'completion'} = client.chat.completions.create(",
             *arguments, ")", ""]
    if stream:
        lines += ["for chunk in stream:", "    for choice in chunk.choices:",
                  '        print(choice.delta.content or "", end="", flush=True)', "print()", ""]
    else:
        lines += ["for choice in completion.choices:"]
        if body.get("tools"):
            lines += ['    print(choice.message.content or "")',
                      "    for call in choice.message.tool_calls or []:",
                      '        print("tool call:", call.function.name, call.function.arguments)',
                      ""]
        else:
            lines += ["    print(choice.message.content)", ""]
    return "\n".join(lines)


def _js_precision_note(body: dict) -> list[str]:
    numbers = ", ".join(str(n) for n in unsafe_integers(body)[:3])
    return [f"// {numbers}: beyond the integers JavaScript holds exactly (2^53 - 1), so",
            "// JavaScript sends the nearest number it can hold instead."] if numbers else []


JS_STREAM_READER = """\
  // Server-sent events: each "data:" line is one JSON chunk; print its text as it arrives.
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split("\\n");
    buffer = lines.pop();  // a line cut in two waits for the rest of it
    for (const line of lines) {
      const data = line.startsWith("data:") ? line.slice(5).trim() : "";
      if (!data || data === "[DONE]") continue;
      for (const choice of JSON.parse(data).choices ?? []) write(choice.delta?.content ?? "");
    }
  }
  write("\\n");"""


def javascript_fetch(body: dict, base_url: str | None, stream: bool) -> str:
    """Code for Node 18+ (CommonJS or a module) and a browser alike: no require, no import,
    no top-level await; ``process`` only when it exists."""
    base = js_string(base_url) if base_url else f'env.{BASE_ENV} || "{BASE_PLACEHOLDER}"'
    exact = bool(unsafe_integers(body))  # then send the JSON text itself: it keeps every digit
    lines = ["// Runs as it is in Node 18+ (node chat.js) and in a browser.",
             f"// The key is read from {KEY_ENV} in Node; in a browser, put it in place of",
             f"// {KEY_PLACEHOLDER} (never in a page others can load).",
             'const env = typeof process === "object" && process.env ? process.env : {};',
             f'const API_KEY = env.{KEY_ENV} || "{KEY_PLACEHOLDER}";',
             f"const BASE_URL = {base};", ""]
    if exact:
        lines += ["// Sent as JSON text: it has integers beyond what JavaScript holds exactly.",
                  f"const body = {js_string(json_text(body, indent=None))};"]
    else:
        lines += [f"const body = {literal(body, 'javascript', indent=2)};"]
    lines += ["", "async function main() {",
              f'  if (API_KEY === "{KEY_PLACEHOLDER}") throw new Error("Set {KEY_ENV}, or put '
              f'your key in place of {KEY_PLACEHOLDER}.");',
              *([] if base_url else [
                  f'  if (BASE_URL === "{BASE_PLACEHOLDER}") throw new Error("Set {BASE_ENV}, '
                  f'or put the base URL in place of {BASE_PLACEHOLDER}.");']),
              "  const response = await fetch(`${BASE_URL}/chat/completions`, {",
              '    method: "POST",',
              '    headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": '
              '"application/json" },',
              f"    body: {'body' if exact else 'JSON.stringify(body)'},", "  });",
              "  if (!response.ok) throw new Error(`HTTP ${response.status}: "
              "${await response.text()}`);"]
    if stream:
        lines += ['  const write = typeof process === "object" && process.stdout',
                  "    ? (text) => process.stdout.write(text)",
                  "    : (text) => text && console.log(text);",
                  JS_STREAM_READER]
    else:
        lines += ["  const data = await response.json();",
                  "  for (const choice of data.choices) {",
                  "    console.log(choice.message.content);"]
        if body.get("tools"):
            lines[-1] = '    console.log(choice.message.content ?? "");'
            lines += ["    for (const call of choice.message.tool_calls ?? []) {",
                      '      console.log("tool call:", call.function.name, '
                      "call.function.arguments);",
                      "    }"]
        lines += ["  }"]
    lines += ["}", "",
              "main().catch((error) => {",
              "  console.error(error);",
              '  if (typeof process === "object") process.exitCode = 1;',
              "});", ""]
    return "\n".join(lines)


def node_openai(body: dict, base_url: str | None, stream: bool) -> str:
    base = js_string(base_url) if base_url else f"process.env.{BASE_ENV}"
    unknown = [k for k in body if k not in NODE_SDK_PARAMS]
    needed = ", ".join(f'"{name}"' for name in (KEY_ENV, *(() if base_url else (BASE_ENV,))))
    lines = ["// Node 18+: npm install openai, then node chat.mjs",
             f"// The key is read from {KEY_ENV}; it is never written in this file.",
             'import OpenAI from "openai";', "",
             "// Unset, the SDK would fall back to OPENAI_API_KEY and api.openai.com: refuse.",
             f"for (const name of [{needed}]) {{",
             "  if (!process.env[name]) throw new Error(`Set ${name} first.`);", "}", "",
             "const client = new OpenAI({", f"  apiKey: process.env.{KEY_ENV},",
             f"  baseURL: {base},", "});", ""]
    if unknown:
        lines += [f"// {', '.join(unknown)}: not named in the SDK's types; it sends them all "
                  "the same."]
    lines += _js_precision_note(body)
    lines += [f"const {'stream' if stream else 'completion'} = await client.chat.completions"
              f".create({literal(body, 'javascript', indent=2)});"]
    if stream:
        lines += ["for await (const chunk of stream) {",
                  "  for (const choice of chunk.choices) "
                  'process.stdout.write(choice.delta?.content ?? "");',
                  "}", 'process.stdout.write("\\n");', ""]
    else:
        lines += ["for (const choice of completion.choices) {"]
        if body.get("tools"):
            lines += ['  console.log(choice.message.content ?? "");',
                      "  for (const call of choice.message.tool_calls ?? []) {",
                      '    console.log("tool call:", call.function.name, '
                      "call.function.arguments);",
                      "  }"]
        else:
            lines += ["  console.log(choice.message.content);"]
        lines += ["}", ""]
    return "\n".join(lines)

"""The route fuzzer's parts: hostile values, requests built from the app itself, the checks.

Nothing here names a route. ``Harvest`` (tests/crawl.py) reads the app's pages the way a
visitor's browser would (forms and their fields, links and their query keys, ids in URLs), and
``Generator``
turns every rule of the app's ``url_map`` into requests: the valid request its page would
send, then a few mutations by hostile values, dropped, repeated and unknown fields, a missing
or wrong CSRF token, odd content types and headers. A route added later is fuzzed without an
edit here.

Loaded as a plugin (``pytest -p tests.fuzzing``, as ``make fuzz`` does), it prints the counts.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

from tests.crawl import SKIP_ENDPOINTS, Harvest
from tests.helpers import sse_events

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2500"))  # in total, shared by the variants
NOT_ALLOWED = ("PUT", "DELETE", "PATCH")  # one of them per rule: the 405 path
METHOD_WEIGHT = {"POST": 4, "GET": 2}  # the methods that take input get most examples

# -- values ------------------------------------------------------------------------------
HOSTILE = [
    "", " ", "\t\r\n", "\x00", "a\x00b", "\ud800", "x\udfffy", "\udc80\udc80", "\u202e",
    "invoice_\u202egnp.exe", "\u2066x\u2069", "\u200b", "\ufeff", "\x1b[31m", "\x7f\x9f",
    "é", "😀", "𝕏", "\u0301", "null", "None", "undefined", "true", "[]", "{}", "0", "-0",
    "-1", "1.5", "1e3", "nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "1e309",
    "-1e309", "1e-400", "0x10", "1_000", "１２", "٣", "9" * 400, "9223372036854775808",
    "99999999999999999999", "-9223372036854775809", "<script>alert(1)</script>",
    "{{ config }}", "{% raw %}", "%s%n%x", "' OR 1=1 --", "../../etc/passwd", "/\\evil.example",
    "//evil.example/", "javascript:alert(1)", "https://evil.example/", "http://127.0.0.1/v1",
    "https://169.254.169.254/latest/", "http://[::1]/", "https://api.example.test/v1",
    "https://user:pw@api.example.test/v1", "demo://offline/v1", "\\\\server\\share",
    '{"top_k": 40}', '{"top_k": 1e309}', '{"a": NaN}', '{"a": -Infinity}', '{"a": [1e400]}',
    '{"max_tokens": true}', '{"max_tokens": "5"}', '{"max_tokens": 1e9}', '{"n": 100}',
    '{"stop": [1, 2]}', '{"tools": "x"}', '{"response_format": 5}', '{"temperature": "hot"}',
    '{"model": "x"}', '{"messages": 5}', '{"stream": true}', '{"stream_options": 1}',
    '{"a": "\\ud800"}', '{"a": "\\u0000"}', '{"__proto__": {"x": 1}}', '{"a": 1' + "0" * 5000 + "}",
    '{"a": 1, "a": 2}', "[1, 2]", '"text"', "{", '{"a":', "]]]]", "\\", '"', "'", "`" * 3,
]
NESTINGS = ("[", "{", "mixed")
DICTIONARY = ("99999999999999999999", "9" * 400, "-1", "\x00", "\ud800", "1e309", "nan",
              "x" * 3000, '{"a": ' + "[" * 100 + "]" * 100 + "}")
RAW_ESCAPES = ("%", "%z", "%zz", "%E9", "%ED%A0%80", "%C0%AF", "%FF%FE", "%2e%2e%2f", "%00",
               "%0d%0aSet-Cookie:%20x=1")
UNKNOWN_NAMES = ["__proto__", "constructor", "action", "messages", "stream", "model[]",
                 "csrf_token ", "CSRF_TOKEN", "user_key", "x" * 300, "\ud800", "a\x00b", ""]


def nested(kind: str, depth: int) -> str:
    """Extra JSON nested ``depth`` levels inside an object (the shape the form wants)."""
    if kind == "[":
        inner = "[" * depth + "]" * depth
    elif kind == "{":
        inner = '{"a":' * depth + "1" + "}" * depth
    else:
        inner = '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2)
    return '{"deep": ' + inner + "}"


def hostile_values(sizes=(20_001, 100_001, 250_000)) -> st.SearchStrategy[str]:
    """Every hostile kind: constants, random text, fragments, huge values, deep nesting."""
    pieces = st.sampled_from(HOSTILE) | st.text(max_size=6)
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.lists(pieces, min_size=2, max_size=8).map("".join),
        st.builds(lambda piece, times: piece * times,
                  st.sampled_from(["x", "[", "é", "\u202e", "9", "a\n", '{"a":']),
                  st.sampled_from(sizes)),
        st.builds(nested, st.sampled_from(NESTINGS),
                  st.sampled_from([63, 65, 1_000, 3_000 if max(sizes) > 20_000 else 300])),
    )


FORM_HOSTILE = hostile_values()
LOOKALIKE_ID = st.text(  # shaped like secrets.token_urlsafe: an id that was never issued
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=16,
    max_size=43)
# A URL stays within what servers accept (gunicorn: a 4,094-byte request line).
URL_HOSTILE = hostile_values(sizes=(300, 1_000))


@dataclass(frozen=True)
class Ref:
    """A value from the app's live pages (a run id, a share token), read at send time."""

    pool: str
    index: int

    def __repr__(self) -> str:
        return f"<{self.pool}#{self.index}>"


# -- requests ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One generated request, readable in a failure report."""

    endpoint: str
    method: str
    path: tuple  # ("text", rule text), ("arg", value or Ref, converter), ("raw", an escape)
    query: tuple[tuple[str, object], ...]
    form: tuple[tuple[str, object], ...] | None
    encoding: str
    headers: tuple[tuple[str, object], ...]
    identity: str

    def __repr__(self) -> str:
        def short(value) -> str:
            text = repr(value)
            return text if len(text) < 120 else f"{text[:100]}…({len(text)} chars)"
        form = None if self.form is None else [(k, short(v)) for k, v in self.form]
        path = "".join(p[1] if p[0] != "arg" else f"{{{short(p[1])}}}" for p in self.path)
        return (f"Call({self.method} {path} [{self.endpoint}] "
                f"query={[(k, short(v)) for k, v in self.query]} form={form} "
                f"encoding={self.encoding} headers={dict(self.headers)} as={self.identity})")


RULE_PART = re.compile(r"<(?:([a-zA-Z_]+)(?:\([^)]*\))?:)?([a-zA-Z_]\w*)>")


def routes(app) -> list[tuple[str, str, tuple]]:
    """(endpoint, method, path template) for every rule and method, plus one not allowed."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        pieces, at = [], 0
        for match in RULE_PART.finditer(rule.rule):
            pieces += [rule.rule[at:match.start()], (match.group(2), match.group(1) or "")]
            at = match.end()
        pieces.append(rule.rule[at:])
        methods = sorted(rule.methods) + [NOT_ALLOWED[len(found) % len(NOT_ALLOWED)]]
        found += [(rule.endpoint, method, tuple(p for p in pieces if p)) for method in methods]
    return found


class Generator:
    """Strategies for one app: its routes, and values for the fields and ids its pages use.

    Strategies are built once and kept: building one costs more than drawing from it.
    """

    def __init__(self, app, harvest: Harvest, valid: dict[str, list[str]]) -> None:
        self.routes = routes(app)
        self.harvest, self.valid = harvest, valid
        self.names = sorted(set(harvest.names()) | set(valid)) + UNKNOWN_NAMES
        self.route = st.sampled_from([r for r in self.routes for _ in range(self._weight(r))])
        self._cache: dict[object, st.SearchStrategy] = {}

    def _weight(self, route) -> int:
        """More examples for the methods that take input, and for the forms with most fields."""
        endpoint, method, _ = route
        fields = len(self.harvest.forms.get(endpoint, ())) if method == "POST" else 0
        return METHOD_WEIGHT.get(method, 1) * (1 + fields // 4)

    def _cached(self, key, build) -> st.SearchStrategy:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def segment(self, name: str) -> st.SearchStrategy:
        """A path argument: an id the pages link to (often), one like it, or a hostile one."""
        def build():
            key = f"path:{name}"
            live = st.builds(Ref, st.just(key), st.integers(0, 7))
            return st.one_of(live, live, LOOKALIKE_ID, URL_HOSTILE) \
                if self.harvest.pools.get(key) else st.one_of(LOOKALIKE_ID, URL_HOSTILE)
        return self._cached(("segment", name), build)

    def value(self, name: str, in_url: bool = False) -> st.SearchStrategy:
        """A field's or a query key's value: a valid one (often), or a hostile one."""
        def build():
            known = sorted(set(self.valid.get(name, ())) | self.harvest.options.get(name, set()))
            choices = [URL_HOSTILE if in_url else FORM_HOSTILE]
            choices += [st.sampled_from(known)] * (2 if known else 0)
            if self.harvest.pools.get(f"query:{name}"):
                choices += [st.builds(Ref, st.just(f"query:{name}"), st.integers(0, 7))] * 2
            return st.one_of(choices)
        return self._cached(("value", name, in_url), build)

    def query_keys(self, endpoint: str, method: str) -> st.SearchStrategy:
        def build():
            keys = sorted(self.harvest.queries.get(endpoint, ())) or self.names
            return st.lists(st.sampled_from(keys) | st.sampled_from(self.names),
                            max_size=4 if method != "POST" else 1)
        return self._cached(("query", endpoint, method), build)

    def index(self, size: int) -> st.SearchStrategy:
        return self._cached(("index", size), lambda: st.integers(0, max(size - 1, 0)))

    def calls(self) -> st.SearchStrategy[Call]:
        return _calls(self)

    def baseline(self) -> list[Call]:
        """Every route once as its page would send it: the explicit examples."""
        found = []
        for endpoint, method, template in self.routes:
            path = tuple(("text", p) if isinstance(p, str) else
                         ("arg", Ref(f"path:{p[0]}", 0), p[1]) for p in template)
            form = None
            if method not in ("GET", "HEAD", "OPTIONS"):
                base = self.harvest.forms.get(endpoint) or max(self.harvest.forms.values(),
                                                               key=len, default=[])
                form = tuple(_mutated(lambda strategy: 0, self, base))  # no mutation
            found.append(Call(endpoint, method, path, (), form, "urlencoded", (), "own"))
        return found

    def dictionary(self) -> list[Call]:
        """Every route's every input at once set to each of a few classic bad values."""
        found = []
        keys = sorted(set(self.valid) | {k for ks in self.harvest.queries.values() for k in ks})
        for endpoint, method, template in self.routes:
            if method not in ("GET", "POST"):
                continue
            for value in DICTIONARY:
                path = tuple(("text", p) if isinstance(p, str) else
                             ("arg", value if method == "GET" else Ref(f"path:{p[0]}", 0), p[1])
                             for p in template)
                query, form = tuple((key, value) for key in keys), None
                if method == "POST":
                    base = self.harvest.forms.get(endpoint) or max(
                        self.harvest.forms.values(), key=len, default=[])
                    query = ()
                    form = tuple((name, old if name == "csrf_token" else value)
                                 for name, old in base)
                found.append(Call(endpoint, method, path, query, form, "urlencoded", (),
                                  "own"))
        return found


RAW_ESCAPE = st.sampled_from(("",) * 6 + RAW_ESCAPES)
WITH_FORM = st.integers(0, 9)  # a GET carries a body one time in ten
ENCODING = st.sampled_from(["urlencoded"] * 6 + ["multipart"] * 2 + ["json", "none", "text"])
IDENTITY = st.sampled_from(["own"] * 6 + ["fresh", "other"])
MUTATIONS = st.sampled_from([0, 0, 1, 1, 2, 3, 4])  # a third of forms stay valid
MUTATION = st.sampled_from(["set"] * 5 + ["drop", "repeat", "unknown", "csrf", "many"])
WRONG_CSRF = st.sampled_from([None, "", "x", "IjEi.bad.token", "\ud800"])


@st.composite
def _calls(draw, gen: Generator) -> Call:
    """One request to one of the app's routes."""
    endpoint, method, template = draw(gen.route)
    path = []
    for piece in template:
        if isinstance(piece, str):
            path.append(("text", piece))
        else:  # (argument, converter): a live id or a hostile value, maybe a bad escape
            path.append(("arg", draw(gen.segment(piece[0])), piece[1]))
            raw = draw(RAW_ESCAPE)
            path += [("raw", raw)] if raw else []
    keys = draw(gen.query_keys(endpoint, method))
    query = tuple((key, draw(gen.value(key, in_url=True))) for key in keys)
    form, encoding = None, "none"
    if method not in ("GET", "HEAD", "OPTIONS") or draw(WITH_FORM) == 0:
        base = gen.harvest.forms.get(endpoint) or max(gen.harvest.forms.values(), key=len,
                                                      default=[])
        form = tuple(_mutated(draw, gen, base))
        encoding = draw(ENCODING)
        if encoding == "json" and draw(WITH_FORM) < 5:
            encoding = draw(ODD_JSON)
    headers = draw(HEADERS)
    headers = tuple((name, HEADER_VALUES[name][choice]) for name, choice in headers.items())
    return Call(endpoint, method, tuple(path), query, form, encoding, headers, draw(IDENTITY))


ODD_JSON = st.sampled_from([f"json:{body}" for body in (  # JSON bodies of every wrong shape
    "[1, 2]", '"text"', "null", "1e309", '{"model": 5, "prompt": ["a"]}',
    '{"prompt": {"a": 1}, "model": null}', '{"a": NaN}', "[" * 20 + "]" * 20, "{")])
HEADER_VALUES = {
    "X-CSRFToken": {"valid": Ref("field:csrf_token", 0), "hostile": "IjEi.bad.token"},
    "Sec-Fetch-Site": {"valid": "same-origin", "hostile": "cross-site"},
    "Origin": {"valid": "http://localhost", "hostile": "https://evil.example"},
    "X-Playground-Key": {"valid": "visitor-key-0123456789", "hostile": "bad key\t\x7f"},
    "Accept": {"valid": "text/event-stream", "hostile": "*/*;q=nan"},
    "Content-Length": {"valid": "0", "hostile": "-1"},
}
HEADERS = st.dictionaries(st.sampled_from(sorted(HEADER_VALUES)),
                          st.sampled_from(["valid", "hostile"]), max_size=2)


def _mutated(draw, gen: Generator, base: list[tuple[str, str]]) -> list[tuple[str, object]]:
    """A valid form (as its page offers it, filled in) after zero to four mutations."""
    pairs = [(name, value or (gen.valid.get(name) or [value])[0]) for name, value in base]
    for _ in range(draw(MUTATIONS)):
        kind = draw(MUTATION)
        names = [n for n, _ in pairs] if kind != "unknown" and pairs else gen.names
        name = names[draw(gen.index(len(names)))]
        if kind in ("set", "unknown"):
            value = draw(gen.value(name))
            pairs = [(n, v) for n, v in pairs if n != name] + [(name, value)]
        elif kind == "drop":
            pairs = [(n, v) for n, v in pairs if n != name]
        elif kind == "repeat":
            pairs.append((name, draw(gen.value(name))))
        elif kind == "csrf":
            wrong = draw(WRONG_CSRF)
            pairs = [(n, v) for n, v in pairs if n != "csrf_token"]
            pairs += [] if wrong is None else [("csrf_token", wrong)]
        else:
            pairs += [(f"f{i}", "x") for i in range(150)]
    return pairs


def encode(value: str) -> bytes:
    """Text as a browser would send it; lone surrogates become their (invalid) UTF-8 bytes."""
    return value.encode("utf-8", "surrogatepass")


def form_quote(value: str) -> str:
    return quote_from_bytes(encode(value), safe="").replace("%20", "+")


def urlencoded(pairs) -> str:
    return "&".join(f"{form_quote(k)}={form_quote(v)}" for k, v in pairs)


def multipart(pairs) -> tuple[bytes, str]:
    boundary = "fuzzBoundary7MA4YWxkTrZu0gW"
    out = b""
    for number, (name, value) in enumerate(pairs):
        disposition = f'form-data; name="{name}"'
        if number == len(pairs) - 1 and len(pairs) > 2:  # a stray file part, now and then
            disposition += '; filename="notes.txt"'
        out += (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode("utf-8",
                                                                                   "surrogatepass")
                + encode(value) + b"\r\n")
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def request_args(call: Call, resolve) -> tuple[str, dict]:
    """The URL and test-client arguments of a call, its Refs read from the live pools."""
    path = "".join(piece[1] if piece[0] in ("text", "raw") else
                   quote_from_bytes(encode(resolve(piece[1])),
                                    safe="/" if piece[2] == "path" else "")
                   for piece in call.path)
    query = urlencoded((k, resolve(v)) for k, v in call.query)
    kwargs: dict = {"method": call.method,
                    "headers": [(name, resolve(value)) for name, value in call.headers]}
    if call.form is not None:
        pairs = [(k, resolve(v)) for k, v in call.form]
        if call.encoding == "multipart":
            kwargs["data"], kwargs["content_type"] = multipart(pairs)
        elif call.encoding == "json":
            kwargs["data"], kwargs["content_type"] = json.dumps(dict(pairs)), "application/json"
        elif call.encoding.startswith("json:"):
            kwargs["data"], kwargs["content_type"] = call.encoding[5:], "application/json"
        else:
            kwargs["data"] = urlencoded(pairs).encode()
            kwargs["content_type"] = {"urlencoded": "application/x-www-form-urlencoded",
                                      "text": "text/plain"}.get(call.encoding)
    return path + (f"?{query}" if query else ""), kwargs


# -- checks ------------------------------------------------------------------------------
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
EXCEPTION_NAME = re.compile(r"\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception)\b")
# The upstream client names a failed transport on purpose ("Connection failed: ReadTimeout.").
TRANSPORT_NAMED = re.compile(r"(?:Connection failed|Request failed): \w+\.|"
                             r"The connection dropped \(\w+\)")


def check(call: Call, url: str, response, body: bytes, reached: int, secrets) -> None:
    """What every answer must be: no 500, no traceback, no secret, 4xx reached nobody."""
    where = f"{call.method} {url[:200]} -> {response.status_code}"
    assert response.status_code != 500, f"500 for {where}"
    text = body.decode("utf-8", "replace") + "\n".join(f"{k}: {v}" for k, v in
                                                      response.headers.items())
    assert not TRACEBACK.search(text), f"a traceback in the answer to {where}"
    sent = repr(call) + url
    leaked = [name for name in EXCEPTION_NAME.findall(TRANSPORT_NAMED.sub("", text))
              if name not in sent]
    assert not leaked, f"exception text {leaked} in the answer to {where}"
    for secret in secrets:
        assert secret not in text, f"a key in the answer to {where}"
    if 400 <= response.status_code < 500:
        assert reached == 0, f"{where} is a 4xx, yet {reached} call(s) reached the upstream"
    if response.mimetype == "text/event-stream":
        names = [name for name, _ in sse_events(body.decode("utf-8"))]  # every event is JSON
        assert names[:1] == ["start"] and names[-1:] == ["result"], f"{where}: events {names}"


# -- the counts, printed by `pytest -p tests.fuzzing` -------------------------------------
def pytest_terminal_summary(terminalreporter) -> None:
    totals: Counter = Counter()
    statuses: Counter = Counter()
    rows = []
    for report in (r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
                   if r.when == "call"):
        for name, value in report.user_properties:
            if name == "fuzz":
                rows.append(value)
                totals.update(examples=value["examples"], seconds=value["seconds"],
                              sent=value["sent"])
                statuses.update({int(k): v for k, v in value["statuses"].items()})
                totals.update(failed=int(report.outcome == "failed"))
    if not rows:
        return
    write = terminalreporter.write_line
    write("")
    write("fuzzing: examples per variant (each one request)")
    for row in sorted(rows, key=lambda r: r["variant"]):
        write(f"  {row['variant']:<12} {row['examples']:>7} examples  {row['seconds']:>7.1f} s  "
              f"{len(row['routes'])} routes  {row['sent']:>6} reached the upstream")
    write(f"  {'total':<12} {totals['examples']:>7} examples  {totals['seconds']:>7.1f} s  "
          f"{totals['failed']} failed variant(s)  {totals['sent']:>6} reached the upstream")
    write("  statuses: " + ", ".join(f"{code}: {count}" for code, count in
                                     sorted(statuses.items())))

"""Fuzzing: every route of the app, fed generated requests, never answers 500.

The routes come from the app's ``url_map`` and the fields from its own pages (tests/fuzzing.py),
so a route added later is fuzzed without an edit. Each variant is one way to run the
playground; all have budgets high enough that a 429 hides nothing. ``FUZZ_EXAMPLES`` sets the
total number of examples (``make test``: a deterministic 2,500; ``make fuzz``: 100,000).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings

from tests.crawl import Harvest
from tests.fuzzing import EXAMPLES, Call, Generator, Ref, check, request_args
from tests.helpers import SENTINEL_KEY, form, submit

PASSWORD = "fuzz-password-0123"
SECOND_KEY = "fake-second-provider-key-0123456789"
VISITOR_KEY = "visitor-key-0123456789"  # what tests/fuzzing.py sends as a visitor's own key
HIGH_BUDGETS = {
    "PLAYGROUND_RATE_LIMIT": "1000000/minute", "PLAYGROUND_DAILY_LIMIT": "100000000/day",
    "PLAYGROUND_LOGIN_LIMIT": "1000000/minute", "PLAYGROUND_MAX_STREAMS_PER_CLIENT": 100_000,
    "UPSTREAM_MAX_RETRIES": 0,  # a retry only sleeps; the retry rules have their own tests
    "UPSTREAM_CONNECT_TIMEOUT": 1.0,
}
# The fake upstream's scenarios that answer at once (the stalls and trickles only wait).
FAKE_MODELS = [
    "fake/ok", "fake/markdown", "fake/choices", "fake/tools", "fake/refusal", "fake/reasoning",
    "fake/no-usage", "fake/cost", "fake/400", "fake/401", "fake/403", "fake/404", "fake/429",
    "fake/flaky", "fake/502", "fake/drop", "fake/not-json", "fake/stream-error",
    "fake/stream-no-done", "fake/stream-drop", "fake/reject-stream-options", "fake/sse-quirks",
    "fake/hostile", "fake/echo-key", "fake/echo-key-error", "fake/unknown-events",
    "fake/redirect-host", "fake/redirect-metadata", "fake/error-200", "fake/azure",
]
VALID = {  # what a visitor would type; fields not named here take what their page offers
    "prompt": ["Hello", "Write a haiku about the sea.", "script-tag", "js-link", "svg-onload"],
    "system": ["Be brief."], "temperature": ["0.7", "0", "2"], "top_p": ["0.9", "1"],
    "max_tokens": ["16", "256"], "n": ["1", "2"], "seed": ["42", "-1"],
    "presence_penalty": ["0.5"], "frequency_penalty": ["-0.5"], "stop": ["END", "a\nb"],
    "json_mode": ["y"], "extra": ['{"top_k": 40}', '{"metadata": {"a": [1, null, true]}}'],
    "confirm": ["yes"], "password": [PASSWORD], "next": ["/history", "/"],
    "q": ["Hello", "haiku"], "page": ["1", "2"], "user_key": [VISITOR_KEY],
    "base_url": ["https://api.example.test/v1", "http://10.0.0.1/v1"],
}


@dataclass
class Variant:
    share: float  # of EXAMPLES
    config: dict
    models: list[str] = field(default_factory=lambda: FAKE_MODELS)
    postgresql: bool = False


VARIANTS = {
    "upstream": Variant(0.30, {}),
    "demo": Variant(0.20, {"AIMLAPI_BASE_URL": None, "AIMLAPI_API_KEY": None},
                    ["demo", "demo-reasoning", "demo-tools"]),
    "postgresql": Variant(0.15, {}, postgresql=True),
    "gate": Variant(0.15, {"PLAYGROUND_PASSWORD": PASSWORD}),
    "open": Variant(0.20, {  # every door a visitor can open: own keys, own URLs, providers
        "PLAYGROUND_ALLOW_USER_KEYS": True, "PLAYGROUND_ALLOW_CUSTOM_BASE_URL": True,
        "PLAYGROUND_RESOLVER": lambda host, port: [],  # no name resolves: nothing leaves
        "PLAYGROUND_MAX_TOKENS_CAP": 512, "PLAYGROUND_PROMPT_CAP": 5000,
        "PLAYGROUND_LOG_CONTENT": True, "PLAYGROUND_SINGLE_USER": True}),
}


class Target:
    """One app under fuzzing: its visitors' sessions, its live ids, its upstream calls."""

    RESEED_EVERY = 250  # examples; keeps the history (and its export) small

    def __init__(self, app, upstream, variant: Variant) -> None:
        self.app, self.upstream, self.variant = app, upstream, variant
        self.demo_calls = 0
        adapter = app.extensions["providers"].default.session.get_adapter("demo://x") \
            if app.extensions["providers"].default.demo else None
        if adapter is not None:  # count the demo's calls as the fake upstream counts its own
            send = adapter.send

            def counted(*args, **kwargs):
                self.demo_calls += 1
                return send(*args, **kwargs)
            adapter.send = counted
        self.sessions = {"own": self._visitor(login=True), "other": self._visitor(login=False)}
        self.seed()
        self.since_seed = 0

    def _visitor(self, login: bool) -> str:
        """A visitor's signed session cookie: a CSRF token and, to ``login``, the gate's pass."""
        client = self.app.test_client()
        gate = bool(self.app.config.get("PLAYGROUND_PASSWORD"))
        page = client.get("/login" if gate else "/").get_data(as_text=True)
        if login and gate:
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            assert client.post("/login", data={"csrf_token": token, "password": PASSWORD,
                                               "next": "/"}).status_code == 303
        cookie = client.get_cookie("session")
        return cookie.value if cookie else ""

    def client(self, identity: str):
        client = self.app.test_client()
        if self.sessions.get(identity):
            client.set_cookie("session", self.sessions[identity])
        return client

    def seed(self) -> None:
        """Runs to link to (one streamed, one shared), then read every page a visitor sees."""
        client = self.client("own")
        model = self.variant.models[0]
        first = submit(client, follow=False, model=model, prompt="Seed run")
        assert first.status == 303, first.html[:500]
        client.post("/stream", data=form(client, model=model, prompt="Seed stream")).get_data()
        shared = client.post(first.response.location + "/share",
                             data={"csrf_token": form(client)["csrf_token"]})
        assert shared.status_code == 303
        self.harvest = Harvest.crawl(self.app, client, ("/", "/history", "/login",
                                                        first.response.location))
        # The session as the pages left it: its CSRF token is the one the forms carry.
        self.sessions["own"] = client.get_cookie("session").value
        self.generator = getattr(self, "generator", None) or Generator(
            self.app, self.harvest, {**VALID, "model": self.variant.models})
        self.generator.harvest = self.harvest

    def reached(self) -> int:
        return len(self.upstream.received) + self.demo_calls

    def resolve(self, value) -> str:
        if isinstance(value, Ref):
            pool = self.harvest.pools.get(value.pool) or [""]
            return pool[value.index % len(pool)]
        return value

    def send(self, call: Call):
        url, kwargs = request_args(call, self.resolve)
        before = self.reached()
        response = self.client(call.identity).open(url, **kwargs)
        body = response.get_data()  # a stream is read to its end
        response.close()
        return url, response, body, self.reached() - before

    def stale(self) -> bool:
        """Whether a page the live ids came from is gone (a run deleted, a link revoked)."""
        client = self.client("own")
        return any(client.get(url).status_code != 200 for url in self.harvest.probes.values())

    def after(self, call: Call, status: int) -> None:
        """Seed again when a run was deleted or a link changed, and every so often anyway."""
        self.since_seed += 1
        changed = call.method == "POST" and status < 400
        if (changed and self.stale()) or self.since_seed >= self.RESEED_EVERY:
            self.app.extensions["runs"].prune(keep=0)  # every run of every owner
            self.seed()
            self.since_seed = 0


def visitor_key(call: Call) -> tuple[str, ...]:
    """A visitor's own key (its form field, its header) is never shown back; a key typed into
    the URL or another field is the visitor's own text, which pages may show."""
    elsewhere = [v for k, v in call.form or () if k != "user_key"] + list(call.query)
    return () if VISITOR_KEY in repr(elsewhere) else (VISITOR_KEY,)


@pytest.mark.parametrize("name", VARIANTS)
def test_no_route_answers_500_to_anything(name, request, make_app, upstream, record_property):
    variant = VARIANTS[name]
    config = {**HIGH_BUDGETS, **variant.config}
    if name == "open":
        config["PLAYGROUND_PROVIDERS"] = {"second": {"base_url": upstream.base_url,
                                                     "api_key": SECOND_KEY}}
    if variant.postgresql:
        config["DATABASE_URL"] = request.getfixturevalue("pg_url")
    target = Target(make_app(**config), upstream, variant)
    secrets = (SENTINEL_KEY, SECOND_KEY, "test-secret")
    statuses: Counter = Counter()
    covered: set = set()
    sent = 0  # examples that reached the upstream
    # Explicit examples first: every route once, valid, then every input of every route set
    # at once to each classic bad value. Generated ones make up the variant's share.
    explicit = target.generator.baseline() + target.generator.dictionary()
    generated = max(50, round(EXAMPLES * variant.share) - len(explicit))
    started = time.monotonic()

    @settings(max_examples=generated, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(target.generator.calls())
    def one_request(call: Call) -> None:
        nonlocal sent
        url, response, body, reached = target.send(call)
        statuses[response.status_code] += 1
        sent += bool(reached)
        covered.add((call.endpoint, call.method))
        check(call, url, response, body, reached, secrets + visitor_key(call))
        target.after(call, response.status_code)

    for call in explicit:
        one_request = example(call)(one_request)
    try:
        one_request()
    finally:  # the counts, also of a variant that failed
        record_property("fuzz", {"variant": name, "examples": sum(statuses.values()),
                                 "seconds": time.monotonic() - started,
                                 "statuses": dict(statuses), "sent": sent,
                                 "routes": sorted(f"{m} {e}" for e, m in covered)})
    missed = {(e, m) for e, m, _ in target.generator.routes} - covered
    assert not missed, f"routes never fuzzed: {sorted(missed)}"
    assert sum(statuses.values()) >= len(explicit) + generated * 0.9


"""(g) The catalogue and the audit, in-process: what a page and a run pay for them.

- Parsing a full-size catalogue: 400 models in the AI/ML API's shape, built from the test
  fixture's entries (fixed, variants and variable pricing, capabilities, aliases, docsJson),
  with descriptions padded so the document is about as big as the real one (~1 MB).
- The picker's search over it, as ``GET /models`` answers a keystroke (search + entries).
- A background refresh against the real fake upstream (``tests/fake_upstream.py``, on
  127.0.0.1, in a thread of this process): answered ``200`` (download and parse) and
  ``304 Not Modified`` (the ETag sent back, the copy kept).
- What a page pays to read the catalogue once a copy is held, and when the TTL is up (a
  refresh is started in the background, not waited for).
- The audit plus the after-run cost of a finished run (µs per run): what the stream path
  pays at its end (``picker.conclude`` and ``run.usage``, without Flask).

Each measure is timed in rounds; a round's figure is the median of its repetitions, and the
result is the median of the rounds with their spread (min–max of the round medians).
"""

from __future__ import annotations

import copy
import gc
import json
import time

from bench.stats import median, spread
from playground.cache import Cached
from playground.catalogue import parse_catalogue
from playground.models import Models
from playground.picker import listing
from playground.preflight import audit_lines
from playground.run import Run
from playground.upstream import ChatClient

MODELS = 400
TARGET_BYTES = 1_000_000  # the real catalogue with details is about 1 MB (models.py)
DEVELOPERS = ("Open AI", "Anthropic", "Google", "DeepSeek", "Meta", "Mistral AI", "xAI",
              "Alibaba Cloud", "Perplexity", "Cohere", "Moonshot", "Zhipu", "NVIDIA", "Amazon")
SEARCHES = (("empty box (first 30 chat models)", {}),
            ("a word: 'gpt'", {"q": "gpt"}),
            ("a developer: 'anthropic'", {"q": "anthropic"}),
            ("two words: 'google pro'", {"q": "google pro"}),
            ("capability filter: vision", {"capability": "vision"}),
            ("no match", {"q": "zzzz-nothing"}))


def _fixture() -> dict:
    from tests.fake_upstream import fixture

    return fixture("catalogue.json", "http://127.0.0.1")


def full_catalogue(models: int = MODELS, target_bytes: int = TARGET_BYTES) -> dict:
    """A catalogue of ``models`` entries in the fixture's shapes, about ``target_bytes``."""
    shapes = [item for item in _fixture()["data"] if item.get("info")]
    pad = max(0, target_bytes // models - 900)  # description text per entry
    data = []
    for number in range(models):
        item = copy.deepcopy(shapes[number % len(shapes)])
        developer = DEVELOPERS[number % len(DEVELOPERS)]
        slug = developer.lower().replace(" ", "-")
        base = item["id"].split("/")[-1]
        item["id"] = f"{slug}/{base}-v{number}"
        item["aliases"] = [f"{base}-v{number}", f"{base}-{number}-latest"]
        info = item["info"]
        info["name"] = f"{info.get('name') or base} v{number}"
        info["developer"] = developer
        info["description"] = (f"{info.get('description') or ''} " + "lorem ipsum " * 400)[:pad]
        if info.get("docsJson"):
            info["docsJson"] = info["docsJson"].replace("gpt-4o", f"{base}-v{number}")
        data.append(item)
    return {"object": "list", "data": data}


def _timed(function, reps: int) -> float:
    """The median time of ``reps`` calls, in ms."""
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return median(times)


def _rounds(function, rounds: int, reps: int) -> dict:
    function()  # warm: imports, caches, the first connection
    per_round = []
    for _ in range(rounds):
        gc.collect()
        per_round.append(_timed(function, reps))
    return {"median_ms": median(per_round), "spread_ms": spread(per_round), "reps": reps,
            "rounds": rounds}


def parsing(document: dict, rounds: int, reps: int) -> dict:
    body = json.dumps(document).encode()
    result = _rounds(lambda: parse_catalogue(json.loads(body)), rounds, reps)
    result["bytes"] = len(body)
    result["models"] = len(parse_catalogue(json.loads(body)).models)
    return result


class _Held:
    """A ``Models`` whose catalogue is the one given (no network): for the search alone."""

    def __init__(self, catalogue) -> None:
        self.demo = False
        self.cached = Cached(lambda etag: None, lambda data: data, wait=0)
        self.cached._value, self.cached._as_of = catalogue, time.time()
        self.cached._checked = time.monotonic()

    snapshot = Models.snapshot
    catalogue = Models.catalogue


def searching(document: dict, rounds: int, reps: int) -> dict:
    held = _Held(parse_catalogue(document))
    out = {}
    for label, args in SEARCHES:
        result = _rounds(lambda args=args: listing(held, args), rounds, reps)
        result["found"] = len(listing(held, args)["models"])
        out[label] = result
    return out


def refreshing(document: dict, rounds: int, reps: int) -> dict:
    """200 and 304 refreshes through the app's own client against the fake upstream."""
    from tests.fake_upstream import FakeServer

    server = FakeServer().start()
    try:
        server.serve_catalogue(document)
        client = ChatClient(server.base_url, "sk-bench", max_retries=0, trust_env=False)
        models = Models(client, ttl=600.0, wait=5.0)
        fetch, statuses = models.cached.fetch, []

        def counted(etag):
            fetched = fetch(etag)
            statuses.append(fetched.status)
            return fetched

        models.cached.fetch = counted
        first = models.cached.refresh()
        assert first.available and len(first.value.models) == MODELS, first.note

        def full() -> None:
            models.cached._etag = None  # as if the copy were new: the whole document again
            models.cached.refresh()

        ok = _rounds(full, rounds, reps)
        answered_200, statuses[:] = statuses.count(200), []
        not_modified = _rounds(models.cached.refresh, rounds, reps)
        answered_304 = statuses.count(304)
        assert answered_200 and answered_304 == len(statuses), statuses
        assert models.snapshot().available and models.snapshot().note is None
        # What a page pays to read the catalogue: a copy in hand, and the TTL just up (the
        # refresh is started in a background thread, and the page does not wait for it).
        warm = _rounds(models.snapshot, rounds, reps * 20)
        started = []

        def due() -> None:
            models.cached._checked = time.monotonic() - 601.0
            models.cached.spawn = started.append  # count the refreshes started, run none
            models.cached._running = None
            models.snapshot()

        stale = _rounds(due, rounds, reps * 20)
        client.session.close()
        return {"200": ok, "304": not_modified, "page_read": warm, "page_read_due": stale,
                "answered": {"200": answered_200, "304": answered_304},
                "refreshes_started": len(started), "bytes": len(server.catalogue_body[0])}
    finally:
        server.stop()


def _reply(text: str, model: str) -> dict:
    return {"id": "chatcmpl-bench", "object": "chat.completion", "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 812, "completion_tokens": 412, "total_tokens": 1224,
                      "prompt_tokens_details": {"cached_tokens": 0}}}


SCHEMA = {"type": "object", "required": ["city", "days"], "additionalProperties": False,
          "properties": {"city": {"type": "string", "minLength": 1},
                         "days": {"type": "array", "maxItems": 14, "items": {
                             "type": "object", "required": ["date", "high_c", "summary"],
                             "properties": {"date": {"type": "string",
                                                     "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                                            "high_c": {"type": "number"},
                                            "summary": {"type": "string"}}}}}}


def realistic_runs(catalogue) -> dict:
    """Two finished streamed runs as the stream path ends them: a chat reply of ~2 KB with
    the usual parameters, and a structured reply checked against a JSON schema."""
    model = catalogue.find("openai/gpt-4o-v0") or catalogue.models[0]
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Explain how HTTP caching works. " * 20}]
    chat = {"model": model.id, "messages": messages, "max_tokens": 512, "temperature": 0.7,
            "seed": 7, "stop": ["\n\nEND"], "n": 1, "stream": True,
            "stream_options": {"include_usage": True}}
    days = [{"date": f"2026-11-{d:02d}", "high_c": 11.5, "summary": "Cloudy, light rain."}
            for d in range(1, 15)]
    structured = {**chat, "response_format": {"type": "json_schema", "json_schema": {
        "name": "forecast", "strict": True, "schema": SCHEMA}}}
    price = {"input": {"price": 2.5, "per": 1_000_000, "unit": "token", "measure": "input"},
             "output": {"price": 10, "per": 1_000_000, "unit": "token", "measure": "output"}}
    text = ("Caching lets a client reuse a response. " * 50)[:2000]
    runs = {
        "chat reply, 2 KB, 9 parameters": Run(request=chat, endpoint="bench", stream=True,
                                             response=_reply(text, model.id), price=price),
        "JSON schema reply (14 items, a pattern)": Run(
            request=structured, endpoint="bench", stream=True, price=price,
            response=_reply(json.dumps({"city": "Oslo", "days": days}), model.id)),
    }
    return {label: (run, model) for label, run in runs.items()}


def auditing(document: dict, rounds: int, reps: int) -> dict:
    catalogue = parse_catalogue(document)
    held = _Held(catalogue)
    accepted = frozenset({"model", "messages", "max_tokens", "temperature", "seed", "stop", "n",
                          "stream", "stream_options", "response_format", "top_p", "tools"})
    out = {}
    for label, (run, _model) in realistic_runs(catalogue).items():
        def conclude(run=run) -> None:
            # picker.conclude without Flask: find the model, audit the run, price its usage.
            found = held.catalogue().find(run.model)
            run.audit = audit_lines(run, found, accepted)
            run.usage  # noqa: B018 - the after-run cost: usage × the stored price
        result = _rounds(conclude, rounds, reps)
        result["median_us"] = result["median_ms"] * 1000
        result["spread_us"] = [v * 1000 for v in result["spread_ms"]]
        result["lines"] = len(run.audit)
        result["statuses"] = sorted({line["status"] for line in run.audit})
        out[label] = result
    return out


def catalogue_bench(cfg) -> dict:
    """Every measure above; the page's and the run's costs, each with its rounds."""
    rounds, reps = max(cfg.rounds, 3), max(cfg.catalogue_reps, 3)
    document = full_catalogue()
    return {"parse": parsing(document, rounds, reps),
            "search": searching(document, rounds, reps * 4),
            "refresh": refreshing(document, rounds, reps),
            "audit": auditing(document, rounds, reps * 20)}

"""``Run``: everything about one call. Storage, logs, exports and pages all speak its names.

A run carries the body that was sent (never the key), where it went, what came back (the
response JSON, or for a stream the assembled object plus the raw events), the normalised
error, the timings and its state. ``Usage`` is derived from it by one function. No Flask, no
``requests``, no rendering: a run is data.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from playground.errors import UpstreamError, scrub

# Every state a run can be in, with the word a person reads. "interrupted" is never stored:
# it is how a "running" row whose heartbeat stopped is read back (see store.py).
STATES = {
    "running": "Running",
    "complete": "Done",
    "error": "Failed",
    "stopped": "Stopped",  # by the user
    "shutdown": "Stopped by the server",  # the server shut down mid-run
    "incomplete": "Incomplete",
    "cut": "Cut by the time limit",  # a comparison answered before this lane finished
    "interrupted": "Interrupted",  # the worker died mid-run
}
FINISHED = ("complete", "error", "stopped", "shutdown", "incomplete", "cut")
PARTIAL = ("stopped", "shutdown", "incomplete", "interrupted", "cut")  # kept, but cut short


def label(state: str) -> str:
    return STATES.get(state, state.capitalize())


def _count(value) -> int | None:
    """A token count as reported, or None: never a negative, a bool or a guess."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def _money(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _get(data, *path):
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


@dataclass(frozen=True)
class Usage:
    """Tokens and cost as the provider reported them; None wherever it did not say."""

    prompt: int | None = None
    completion: int | None = None
    total: int | None = None
    cached: int | None = None
    reasoning: int | None = None
    cost_usd: float | None = None
    cost_source: str | None = None  # "billed" by the provider, "estimated" by us, or None

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "completion": self.completion, "total": self.total,
                "cached": self.cached, "reasoning": self.reasoning}


def usage_of(response, headers: dict | None = None) -> Usage:
    """The usage of a response (and its headers): the one place that reads usage fields.

    The AI/ML API reports what it billed in ``meta.usage.usd_spent`` or the
    ``x-aimlapi-usd-spent`` header; OpenRouter-style providers in ``usage.cost``.
    """
    response = response if isinstance(response, dict) else {}
    usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
    cost = _money(_get(response, "meta", "usage", "usd_spent"))
    if cost is None:
        cost = _money((headers or {}).get("x-aimlapi-usd-spent"))
    if cost is None:
        cost = _money(usage.get("cost"))
    return Usage(
        prompt=_count(usage.get("prompt_tokens")),
        completion=_count(usage.get("completion_tokens")),
        total=_count(usage.get("total_tokens")),
        cached=_count(_get(usage, "prompt_tokens_details", "cached_tokens")),
        reasoning=_count(_get(usage, "completion_tokens_details", "reasoning_tokens")),
        cost_usd=cost,
        cost_source="billed" if cost is not None else None,
    )


def _per_unit(rate) -> float | None:
    price, per = (_money(rate.get("price")), _money(rate.get("per"))) \
        if isinstance(rate, dict) else (None, None)
    return price / per if price is not None and per else None


def priced(usage: Usage, price: dict | None) -> Usage:
    """``usage`` with its cost: billed when the provider said, else tokens × the stored
    per-token rates, labelled "estimated"; unknown without rates or token counts."""
    if usage.cost_source == "billed" or not isinstance(price, dict):
        return usage
    rate_in, rate_out = _per_unit(price.get("input")), _per_unit(price.get("output"))
    if rate_in is None or rate_out is None or usage.prompt is None or usage.completion is None:
        return usage
    cost = usage.prompt * rate_in + usage.completion * rate_out
    return Usage(usage.prompt, usage.completion, usage.total, usage.cached, usage.reasoning,
                 cost_usd=cost, cost_source="estimated")


def rate_of(completion, total_ms, ttft_ms, stream) -> float | None:
    """Completion tokens per second of generation (after the first token, when streamed)."""
    generation_ms = total_ms
    if stream and ttft_ms is not None and total_ms is not None:
        generation_ms = total_ms - ttft_ms
    if not completion or not generation_ms or generation_ms <= 0:
        return None
    return completion / (generation_ms / 1000)


@dataclass
class Run:
    """Everything about one call: what was sent, what came back, how long it took."""

    request: dict
    endpoint: str
    demo: bool = False
    stream: bool = False
    status: int | None = None
    headers: dict = field(default_factory=dict)
    response: object = None
    raw_text: str | None = None
    events: list = field(default_factory=list)
    # The flight recorder: when each event arrived, in ms from sending the request (parallel
    # to ``events``), and when the response headers did. Runs saved before it have neither.
    event_times: list = field(default_factory=list)
    headers_ms: float | None = None
    error: UpstreamError | None = None
    state: str = "complete"
    started_at: float = field(default_factory=time.time)
    total_ms: float | None = None
    ttft_ms: float | None = None
    attempts: int = 0
    notes: list = field(default_factory=list)
    provider: str | None = None  # the operator's name for where it went (None: the default)
    parent_id: str | None = None  # the run this one continues (Continue, Regenerate)
    variables: dict = field(default_factory=dict)  # {{name}} -> the value sent
    template: list | None = None  # the messages before substitution, when variables were used
    # What the catalogue said before the run (cost.py): the rates the cost was estimated
    # with, the pre-flight figure, and the audit of what was honoured (audit.Line dicts).
    price: dict | None = None
    estimate: dict | None = None
    audit: list | None = None
    comparison_id: str | None = None  # the comparison this run is a lane of
    lane: int | None = None  # its lane there, from 0

    @property
    def usage(self) -> Usage:
        """The usage reported; its cost billed, else estimated from the price stored."""
        return priced(usage_of(self.response, self.headers), self.price)

    @property
    def label(self) -> str:
        return label(self.state)

    @property
    def model(self) -> str:
        return str(self.request.get("model", "")) if isinstance(self.request, dict) else ""

    @property
    def tokens_per_s(self) -> float | None:
        """Completion tokens per second of generation (after the first token, when streamed)."""
        return self.rate(self.usage)

    def rate(self, usage: Usage) -> float | None:
        """``tokens_per_s`` for a usage already worked out (an export reads it only once)."""
        return rate_of(usage.completion, self.total_ms, self.ttft_ms, self.stream)

    def to_dict(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "error"}
        data["error"] = self.error.to_dict() if self.error else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Run:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if fields.get("error"):
            fields["error"] = UpstreamError.from_dict(fields["error"])
        return cls(**fields)

    def scrub(self, secrets: tuple[str, ...]) -> None:
        """Replace every secret in what is shown or stored: headers, response, text, events."""
        if not any(secret and len(secret) >= 4 for secret in secrets):
            return
        self.headers = {k: scrub(str(v), secrets) for k, v in self.headers.items()}
        self.response = _scrub_value(self.response, secrets)
        self.raw_text = scrub(self.raw_text, secrets) if self.raw_text is not None else None
        self.events = [scrub(event, secrets) for event in self.events]
        if self.error is not None:
            self.error.body = scrub(self.error.body, secrets)
            self.error.message = scrub(self.error.message, secrets)
            self.error.request_id = scrub(self.error.request_id, secrets) \
                if self.error.request_id else None


def _scrub_value(value, secrets: tuple[str, ...]):
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub(str(k), secrets): _scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_value(item, secrets) for item in value]
    return value

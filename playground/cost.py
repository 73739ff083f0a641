"""Cost before and after a run, from the catalogue's prices only.

Before: "estimated up to $X" = the prompt estimate × the input rate, plus ``max_tokens`` (or
the model's ``outputMax``) × ``n`` × the output rate, with its assumptions listed. A model
whose pricing is ``variable``, missing or not per token "can't be quoted": a distinct result,
never $0. After: usage × the same rates, labelled "estimated" (what the provider billed, when
it says, comes from ``playground.run.usage_of`` and wins).

The prompt size is an estimate from characters and words, not a tokenizer: ``tiktoken``
downloads its encodings at first use, so it cannot work offline.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from playground.catalogue import Model, Pricing, Rate
from playground.run import Usage

PER_MESSAGE_TOKENS = 4  # role and separators, as chat formats add them
# One token per character in scripts written without spaces (CJK, kana, Hangul, Thai).
DENSE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                   "\uac00-\ud7af\uf900-\ufaff]")
WORD = re.compile(r"\w+|[^\w\s]")
NOT_INCLUDED = "Images, reasoning tokens and tool-call rounds are not included."
# Past this a count is clamped: a JSON integer can have thousands of digits, and multiplying
# one by a float price overflows (the form refuses such a number; extra JSON and a half-filled
# form's pre-flight do not).
MAX_COUNT = 2**63


@dataclass(frozen=True)
class PromptEstimate:
    """About how many tokens a prompt is: an estimate, labelled as one."""

    tokens: int
    characters: int
    words: int
    images: int = 0

    @property
    def label(self) -> str:
        characters, words = _plural(self.characters, "character"), _plural(self.words, "word")
        return f"about {self.tokens:,} tokens (estimated from {characters} and {words}, " \
               "not a tokenizer)"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _texts(messages) -> tuple[list[str], int, int]:
    """The text of every message, how many messages, and how many image parts."""
    texts, count, images = [], 0, 0
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        count += 1
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in ("image_url", "input_image"):
                images += 1
        for call in message.get("tool_calls") or [] if isinstance(message.get("tool_calls"),
                                                                  list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                texts += [str(function.get("name") or ""), str(function.get("arguments") or "")]
    return texts, count, images


def estimate_prompt(messages, extra: str = "") -> PromptEstimate:
    """Estimate the tokens of ``messages`` (plus ``extra``, e.g. tool definitions as JSON).

    The larger of two rules of thumb, since the figure feeds an "up to" price: characters ÷ 4
    (one per character for scripts without spaces), and words and punctuation × 4/3.
    """
    texts, count, images = _texts(messages)
    text = "\n".join([*texts, extra] if extra else texts)
    dense = len(DENSE.findall(text))
    words = len(WORD.findall(text))
    by_characters = math.ceil((len(text) - dense) / 4) + dense
    by_words = math.ceil(words * 4 / 3)
    tokens = max(by_characters, by_words) + PER_MESSAGE_TOKENS * count + (3 if count else 0)
    return PromptEstimate(tokens=tokens, characters=len(text), words=len(text.split()),
                          images=images)


def format_usd(amount: float) -> str:
    """Dollars with enough digits to see a fraction of a cent: $12.34, $0.50, $0.0123."""
    if amount >= 0.1 or amount <= 0:
        return f"${max(amount, 0):,.2f}"
    digits = min(12, 2 - math.floor(math.log10(amount)))  # three significant digits
    text = f"{amount:.{digits}f}".rstrip("0")
    return f"${text}" if len(text.partition(".")[2]) >= 2 else f"${float(text):.2f}"


def format_rate(rate: Rate) -> str:
    """A rate as the provider states it: "$2.50 per 1,000,000 input tokens"."""
    unit = rate.unit or "unit"
    unit = unit if rate.per == 1 else (unit if unit.endswith("s") else unit + "s")
    measure = f"{rate.measure} " if rate.measure else ""
    return f"{format_usd(rate.price)} per {rate.per:,.0f} {measure}{unit}"


@dataclass(frozen=True)
class Estimate:
    """A cost figure, or why there is none: ``usd`` None means "can't be quoted"."""

    usd: float | None
    reason: str | None = None  # why it can't be quoted
    assumptions: tuple[str, ...] = ()
    rates: dict = dataclasses.field(default_factory=dict)  # the rates used, to store with a run
    lanes: tuple[Estimate, ...] = ()

    @property
    def quotable(self) -> bool:
        return self.usd is not None

    @property
    def label(self) -> str:
        return f"estimated up to {format_usd(self.usd)}" if self.usd is not None \
            else "can't be quoted"


def _unquotable(reason: str) -> Estimate:
    return Estimate(usd=None, reason=reason)


def _bounded_int(value) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    return min(value, MAX_COUNT)


def _token_rate(pricing: Pricing, measure: str, body: dict) -> tuple[Rate | None, str | None]:
    """The rate for ``measure`` tokens: the matching variant, or the highest when unsure."""
    rates = pricing.token_rates(measure)
    if not rates:
        return None, None
    if len(rates) == 1:
        return rates[0], None
    # A variant whose every condition (beyond input/output) is a value in the request wins.
    matching = [r for r in rates if all(k == "measure" or str(body.get(k)) == v for k, v in r.when)]
    if len(matching) == 1:
        return matching[0], None
    highest = max(matching or rates, key=lambda r: r.per_unit)
    dims = sorted({k for r in rates for k, _ in r.when if k != "measure"})
    return highest, (f"The highest {measure} rate was used: it varies with "
                     f"{', '.join(dims) or 'conditions'} not known before the run.")


def preflight(model: Model | None, body: dict, prompt: PromptEstimate | None = None) -> Estimate:
    """The most a run of ``body`` on ``model`` should cost, or why that can't be quoted."""
    if model is None:
        return _unquotable("The model is not in the catalogue.")
    pricing = model.pricing
    if pricing is None or pricing.kind == "unknown":
        return _unquotable("The catalogue gives no price for this model.")
    if pricing.kind == "variable":
        return _unquotable("The provider prices this model per request (variable pricing).")
    body = body if isinstance(body, dict) else {}
    rate_in, note_in = _token_rate(pricing, "input", body)
    rate_out, note_out = _token_rate(pricing, "output", body)
    if rate_in is None or rate_out is None:
        return _unquotable("The catalogue has no per-token input and output price for it.")
    prompt = prompt or estimate_prompt(body.get("messages"))
    limit = _bounded_int(body.get("max_completion_tokens")) or _bounded_int(body.get("max_tokens"))
    source = "max_tokens"
    if limit == MAX_COUNT:
        source = f"max_tokens, taken as {MAX_COUNT:,}"
    if limit is None:
        limit, source = model.output_max, "the model's output limit (outputMax)"
    if limit is None:
        return _unquotable("No max_tokens is set and the catalogue gives no output limit.")
    n = min(_bounded_int(body.get("n")) or 1, 128)
    usd = prompt.tokens * rate_in.per_unit + limit * n * rate_out.per_unit
    assumptions = [
        f"Prompt: {prompt.label} × {format_rate(rate_in)}.",
        f"Reply: up to {limit:,} tokens ({source}) × {n} choice{'s' if n > 1 else ''} × "
        f"{format_rate(rate_out)}.",
        NOT_INCLUDED,
        *(note for note in (note_in, note_out) if note),
    ]
    return Estimate(usd=usd, assumptions=tuple(assumptions),
                    rates={"input": rate_in.to_dict(), "output": rate_out.to_dict(),
                           "prompt_tokens": prompt.tokens, "max_tokens": limit, "n": n})


def preflight_compare(lanes: list[Estimate]) -> Estimate:
    """A comparison's figure: the sum of its lanes, or "can't be quoted" if any lane can't."""
    lanes = tuple(lanes)
    missing = [i for i, lane in enumerate(lanes, 1) if not lane.quotable]
    if not lanes or missing:
        which = ", ".join(str(i) for i in missing)
        return Estimate(usd=None, lanes=lanes,
                        reason=f"Lane {which} can't be quoted." if missing else "No lanes.")
    return Estimate(usd=math.fsum(lane.usd for lane in lanes), lanes=lanes,
                    assumptions=("The sum of each lane's estimate.", NOT_INCLUDED))


def with_estimated_cost(usage: Usage, model: Model | None, body: dict | None = None) -> Usage:
    """``usage`` with a cost: billed when the provider said, else usage × the catalogue price.

    An estimated cost is labelled so (``cost_source="estimated"``); without prices or token
    counts the cost stays unknown.
    """
    if usage.cost_source == "billed" or model is None or model.pricing is None \
            or not model.pricing.quotable:
        return usage
    body = body if isinstance(body, dict) else {}
    rate_in, _ = _token_rate(model.pricing, "input", body)
    rate_out, _ = _token_rate(model.pricing, "output", body)
    if rate_in is None or rate_out is None or usage.prompt is None or usage.completion is None:
        return usage
    usd = usage.prompt * rate_in.per_unit + usage.completion * rate_out.per_unit
    return dataclasses.replace(usage, cost_usd=usd, cost_source="estimated")

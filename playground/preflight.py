"""Before Run: what the catalogue says about this request on this model.

The estimated cost (or why it can't be quoted), a prompt estimated past the model's context,
the parameters its description does not list, the capabilities it lacks that the request
uses, and whether the operator's cost cap refuses the run. After the run: the audit, with
the model's names and parameter list. Pure: the caller passes the model and its parameters.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from playground.audit import audit
from playground.catalogue import Model
from playground.cost import Estimate, PromptEstimate, estimate_prompt, format_usd, preflight
from playground.run import Run

# Capability name in the catalogue -> what the request uses it for, and the control's words.
FEATURES = {
    "vision": ("images", "Image inputs", "Send images anyway"),
    "tools": ("tools", "Tools", "Send tools anyway"),
    "structured_output": ("a response format", "JSON mode and schema",
                          "Ask for JSON anyway"),
}
NEVER_OMITTED = ("model", "messages")


def uses(body: dict) -> dict[str, bool]:
    """Which capabilities the request body needs: images, tools, a JSON response format."""
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    images = any(isinstance(part, dict) and part.get("type") in ("image_url", "input_image")
                 for message in messages if isinstance(message, dict)
                 for part in (message.get("content") if isinstance(message.get("content"), list)
                              else []))
    fmt = body.get("response_format")
    return {"vision": images, "tools": bool(body.get("tools")),
            "structured_output": isinstance(fmt, dict)
            and fmt.get("type") in ("json_object", "json_schema")}


@dataclass(frozen=True)
class Gate:
    """A capability the model lacks, per the catalogue: the control off, unless overridden."""

    capability: str
    reason: str
    used: bool  # the request uses it (an image, tools, a JSON format)
    overridden: bool

    @property
    def refused(self) -> bool:
        return self.used and not self.overridden

    @property
    def field(self) -> str:
        return f"override_{self.capability}"

    @property
    def override_label(self) -> str:
        return FEATURES[self.capability][2]


def gates(model: Model | None, body: dict, overrides: set[str] | frozenset[str] = frozenset()
          ) -> list[Gate]:
    """The capabilities ``model`` lacks (None or unlisted capabilities: nothing is gated)."""
    if model is None:
        return []
    used = uses(body)
    found = []
    for name, (what, control, _) in FEATURES.items():
        if model.has(name) is False:
            reason = (f"{control} off: the catalogue does not list “{name}” for "
                      f"{model.label}, so it may refuse or ignore {what}.")
            found.append(Gate(name, reason, used[name], name in overrides))
    return found


@dataclass(frozen=True)
class Check:
    """Everything the page says before Run, computed from the request and the catalogue."""

    model: Model | None
    estimate: Estimate
    prompt: PromptEstimate
    gates: tuple[Gate, ...] = ()
    unlisted: tuple[str, ...] = ()  # parameters the model's description does not list
    omitted: tuple[str, ...] = ()  # those the visitor chose not to send
    docs_note: str | None = None  # why the parameters could not be checked
    refusal: str | None = None  # the operator's cap refuses this run
    demo: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def over_context(self) -> bool:
        limit = self.model.context_length if self.model else None
        return bool(limit) and self.prompt.tokens > limit

    @property
    def output_max(self) -> int | None:
        return self.model.output_max if self.model else None

    @property
    def refused_gates(self) -> list[Gate]:
        return [gate for gate in self.gates if gate.refused]


def omit(body: dict, names) -> dict:
    """The body without the parameters the visitor ticked "don't send" (never model/messages)."""
    drop = {str(name) for name in names or ()} - set(NEVER_OMITTED)
    return {key: value for key, value in body.items() if key not in drop}


def cap_refusal(estimate: Estimate, cap: float | None, allow_unpriced: bool,
                what: str = "run", summed: str = "its lanes") -> str | None:
    """Why the operator's cap refuses the run, or None. Fails closed on an unquotable price."""
    if cap is None:
        return None
    if estimate.usd is None:
        if allow_unpriced:
            return None
        return (f"This server refuses {what}s whose cost can't be quoted while its cap of "
                f"{format_usd(cap)} per run is set. {estimate.reason or ''}").strip()
    if estimate.usd > cap:
        if what == "comparison":
            return (f"This comparison is {estimate.label} (the sum of {summed}), more than "
                    f"this server's cap of {format_usd(cap)} per run. Lower max_tokens, remove "
                    "a lane, shorten the prompt, or choose cheaper models.")
        return (f"This run is {estimate.label}, more than this server's cap of "
                f"{format_usd(cap)} per run. Lower max_tokens or n, shorten the prompt, or "
                "choose a cheaper model.")
    return None


def compare_refusal(total: Estimate, cap: float | None, allow_unpriced: bool) -> str | None:
    """Why the cap refuses a comparison (its sum, ``total``, from ``preflight_compare``).

    With unpriced runs allowed, the lanes that can be quoted still count against the cap."""
    quoted = [lane.usd for lane in total.lanes if lane.usd is not None]
    if total.usd is None and allow_unpriced and quoted:
        return cap_refusal(Estimate(usd=math.fsum(quoted)), cap, allow_unpriced, "comparison",
                           "the lanes that can be quoted")
    return cap_refusal(total, cap, allow_unpriced, what="comparison")


def check(model: Model | None, body: dict, *, accepted: frozenset[str] | None = None,
          docs_note: str | None = None, omitted=(), overrides=frozenset(),
          cap: float | None = None, allow_unpriced: bool = False, demo: bool = False) -> Check:
    """The pre-flight of ``body`` (as the form would send it) on ``model``."""
    body = body if isinstance(body, dict) else {}
    tools = body.get("tools")
    prompt = estimate_prompt(body.get("messages"),
                             json.dumps(tools, ensure_ascii=False) if tools else "")
    sent = omit(body, omitted)
    estimate = preflight(model, sent, prompt)
    unlisted = () if accepted is None else tuple(
        sorted(str(k) for k in body if k not in accepted and k not in NEVER_OMITTED))
    return Check(model=model, estimate=estimate, prompt=prompt,
                 gates=tuple(gates(model, sent, set(overrides))), unlisted=unlisted,
                 omitted=tuple(sorted({str(o) for o in omitted} & set(unlisted))),
                 docs_note=docs_note if accepted is None else None,
                 refusal=cap_refusal(estimate, cap, allow_unpriced), demo=demo)


def audit_lines(run: Run, model: Model | None, accepted: frozenset[str] | None) -> list[dict]:
    """The audit of a finished run, as the dicts it is saved with."""
    names = model.names if model is not None else ()
    return [line.to_dict() for line in audit(run.request, run, accepted, names)]

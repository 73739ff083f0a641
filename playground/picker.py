"""The catalogue in the pages: the model picker, the model card, the pre-flight panel.

``GET /models`` answers the picker's searches (JSON; the page's no-JS search lists the same
entries as links). ``POST /preflight`` renders the card and the pre-flight panel for the form
as it is now, so the figures follow ``max_tokens``, the model and the turns live; without
JavaScript the same partials are rendered with every page. ``prepare`` and ``conclude`` are
what a run does before and after its call: the cost cap, the capability gates, "don't send",
the price it is estimated with, and the audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.datastructures import MultiDict

from playground import offload
from playground.budget import OverBudget
from playground.catalogue import Model
from playground.cost import NOT_INCLUDED, Estimate, format_usd, preflight_compare
from playground.forms import too_deep
from playground.models import Models, Parameters, for_provider
from playground.preflight import FEATURES, Check, audit_lines, check, compare_refusal, omit
from playground.run import Run
from playground.structured import EXAMPLE_TEXT

bp = Blueprint("picker", __name__)
PRIVATE = {"Cache-Control": "private, no-store"}
MAX_OMITTED = 32


# -- the catalogue of each provider -------------------------------------------------------
def catalogue_for(name: str | None) -> Models | None:
    """The catalogue service of an operator's provider (none for a visitor's base URL)."""
    providers = current_app.extensions["providers"]
    name = name or next(iter(providers.clients))
    client = providers.clients.get(name)
    if client is None:
        return None
    services = current_app.extensions.setdefault("catalogues", {})
    if name not in services:  # one per provider and process; creating it fetches nothing
        services[name] = for_provider(client, current_app.config)
    return services[name]


def _price(model: Model, measure: str) -> str | None:
    if model.pricing is None:
        return None
    if model.pricing.kind == "variable":
        return "varies per request"
    span = model.pricing.per_million(measure)
    if span is None:
        return None
    low, high = (format_usd(value) for value in span)
    return low if low == high else f"{low}–{high}"


def entry(model: Model, demo: bool = False) -> dict:
    """What the picker and the card show of a model; None where the catalogue says nothing."""
    return {"id": model.id, "name": model.label, "developer": model.developer,
            "context": model.context_length, "output": model.output_max,
            "capabilities": list(model.capabilities) if model.capabilities is not None else None,
            "price_in": _price(model, "input"), "price_out": _price(model, "output"),
            "demo_prices": demo and model.pricing is not None, "docs": model.docs_url,
            "kind": model.kind, "aliases": list(model.aliases[:4])}


def _search_args(args) -> tuple[str, tuple[str, ...], str | None]:
    query = (args.get("q") or args.get("find") or "").strip()[:200]
    capability = (args.get("capability") or "").strip()[:64]
    kind = None if args.get("kind") == "all" else "chat"
    return query, ((capability,) if capability else ()), kind


def listing(models: Models | None, args) -> dict:
    """A search of the catalogue, for the JSON answer and the no-JS list alike."""
    if models is None:
        return {"available": False, "note": "This provider has no model list: type any id.",
                "models": [], "capabilities": [], "as_of": None, "demo": False}
    snapshot = models.snapshot()
    catalogue = models.catalogue()
    query, capabilities, kind = _search_args(args)
    found = catalogue.search(query, capabilities=capabilities, kind=kind, limit=30) \
        if snapshot.available else []
    return {"available": snapshot.available, "note": snapshot.note, "as_of": snapshot.as_of,
            "detailed": catalogue.detailed, "demo": models.demo,
            "capabilities": list(catalogue.capability_names()),
            "models": [entry(m, models.demo) for m in found], "query": query,
            "capability": capabilities[0] if capabilities else "", "kind": kind or "all"}


@bp.app_template_filter("iso")
def iso(timestamp: float) -> str:
    """A time for a <time datetime=…> attribute, in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


@bp.app_template_filter("usd")
def usd(amount: float) -> str:
    """Dollars with enough digits to see a fraction of a cent."""
    return format_usd(amount)


@bp.get("/models")
def search():
    """The picker's search: matching models with their facts, best first."""
    provider = request.args.get("provider") or None
    return jsonify(listing(catalogue_for(provider), request.args)), 200, PRIVATE


# -- before a run ----------------------------------------------------------------------------
def posted_choices(formdata) -> tuple[list[str], set[str]]:
    """The "don't send" parameters and the capability overrides the form posted."""
    formdata = formdata if hasattr(formdata, "getlist") else MultiDict()
    omitted = [name[:64] for name in formdata.getlist("omit")[:MAX_OMITTED]]
    overrides = {name for name in FEATURES if formdata.get(f"override_{name}")}
    return omitted, overrides


def draft_body(form) -> dict:
    """The body the form would send now, even half-filled (for the pre-flight only)."""
    body = None
    if not too_deep(form.extra.data or ""):  # json.loads would recurse past the stack
        try:
            body = form.to_body()
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
            body = None
    if not isinstance(body, dict):
        body = {"model": (form.model.data or "").strip(), "messages": []}
        if form.max_tokens.data is not None and not form.max_tokens.errors:
            body["max_tokens"] = form.max_tokens.data
    return body


def check_form(form, provider: str | None, body: dict | None = None, formdata=None, *,
               wait: bool = True) -> tuple[Check, Models | None, Parameters | None]:
    """The pre-flight of the form on its provider's catalogue."""
    config = current_app.config
    models = catalogue_for(provider)
    body = draft_body(form) if body is None else body
    omitted, overrides = posted_choices(formdata if formdata is not None else request.form)
    model = models.find(body.get("model")) if models else None
    parameters = models.parameters(model, wait=wait) if models else None
    result = check(model, body, accepted=parameters.accepted if parameters else None,
                   docs_note=parameters.note if parameters else
                   "A visitor's own base URL has no model list here.",
                   omitted=omitted, overrides=overrides,
                   cap=config.get("PLAYGROUND_MAX_COST_PER_RUN"),
                   allow_unpriced=bool(config.get("PLAYGROUND_ALLOW_UNPRICED")),
                   demo=bool(models and models.demo))
    return result, models, parameters


def page_context(form, provider: str | None = None, formdata=None) -> dict:
    """What the page's picker, card and pre-flight panel show for this form."""
    models = catalogue_for(provider)
    result, _models, _parameters = check_form(form, provider, formdata=formdata)
    found = listing(models, request.args) if request.args.get("find") is not None else None
    snapshot = models.snapshot() if models else None
    return {"check": result, "found": found, "snapshot": snapshot,
            "card": entry(result.model, result.demo) if result.model else None,
            "capability_names": models.catalogue().capability_names() if models else (),
            "picker_args": request.args, "demo_prices": result.demo,
            "schema_example": EXAMPLE_TEXT,
            # the capabilities whose controls start disabled: the reason, by capability
            "off": {gate.capability: gate.reason for gate in result.gates if not gate.overridden}}


@bp.post("/preflight")
def live():
    """The card and the pre-flight panel for the form as posted (the page's script asks)."""
    from playground.page import conversation_form  # the form as the playground builds it

    form = conversation_form(request.form)
    provider = form.provider.data or None
    context = page_context(form, provider, request.form)
    result: Check = context["check"]
    return jsonify(
        card=render_template("_model_card.html", catalogue=context, form=form),
        preflight=render_template("_preflight.html", catalogue=context, form=form),
        gates={gate.capability: {"reason": gate.reason, "overridden": gate.overridden}
               for gate in result.gates},
        output_max=result.output_max), 200, PRIVATE


class CostRefused(OverBudget):
    """A run refused by the operator's cost cap: the 429 card, no call, no Retry-After."""

    def __init__(self, message: str, what: str = "run") -> None:
        super().__init__(message, 1)
        self.retry_after = None
        sent = "to any model" if what == "comparison" else "to the model"
        self.hint = (f"Nothing was sent {sent}. Your form is kept as you left it: change "
                     "it and run again.")


def gate(form, result: Check) -> None:
    """Refuse a run the operator's cap refuses (raise), or whose request uses a capability the
    model lacks without the override (an error on the model field)."""
    if result.refusal:
        raise CostRefused(result.refusal)
    if form is None:
        return  # a saved run sent again: what it asks for was decided when it was made
    for found in result.refused_gates:
        what = FEATURES[found.capability][0]
        form.model.errors = [*form.model.errors, (
            f"This request sends {what}, but the catalogue does not list "
            f"“{found.capability}” for this model. Remove {what}, or tick "
            f"“{found.override_label}” (the catalogue can be wrong).")]


def linked_model() -> str | None:
    """A model chosen from the no-JS search list (a link to ``/?model=…``)."""
    value = (request.args.get("model") or "").strip()
    return value[:200] if value and value.isprintable() else None


def prepare(form, provider: str | None) -> tuple[dict, Check]:
    """The body to send (without the parameters ticked "don't send") and its pre-flight."""
    body = form.to_body()
    # The model's description is not waited for here (the page asked for it already): a run
    # is never delayed by it, and what the visitor ticked "don't send" is left out either way.
    result, _models, _parameters = check_form(form, provider, body, wait=False)
    return omit(body, posted_choices(request.form)[0]), result


def check_body(body: dict, provider: str | None) -> Check:
    """The pre-flight of a body that is not a form (a saved run sent again)."""
    models = catalogue_for(provider)
    model = models.find(body.get("model")) if models else None
    config = current_app.config
    return check(model, body, cap=config.get("PLAYGROUND_MAX_COST_PER_RUN"),
                 allow_unpriced=bool(config.get("PLAYGROUND_ALLOW_UNPRICED")),
                 demo=bool(models and models.demo))


@dataclass(frozen=True)
class LanesCheck:
    """A comparison's pre-flight: each lane's figure, their sum, and the cap's verdict."""

    estimate: Estimate  # the sum; its ``lanes`` are each lane's own estimate, in order
    models: tuple[str, ...]
    refusal: str | None = None
    demo: bool = False  # a lane is priced from the demo's catalogue (demo prices)
    not_included: ClassVar[str] = NOT_INCLUDED  # said once for all the lanes
    checks: tuple[Check, ...] = ()  # each lane's own pre-flight, in order (what it is stamped with)


def check_lanes(lanes) -> LanesCheck:
    """The pre-flight of a comparison, each lane ``(provider, body)`` on its provider's
    catalogue: the sum of the lanes ("can't be quoted" when any lane can't), and whether the
    operator's cost cap refuses it (a comparison is one press of Run: its sum is capped)."""
    found, models, checks, demo = [], [], [], False
    for provider, body in lanes:
        catalogue = catalogue_for(provider)
        model = catalogue.find(body.get("model")) if catalogue else None
        checks.append(check(model, body))
        found.append(checks[-1].estimate)
        models.append(str(body.get("model") or ""))
        demo = demo or bool(catalogue and catalogue.demo and model and model.pricing)
    total = preflight_compare(found)
    config = current_app.config
    refusal = compare_refusal(total, config.get("PLAYGROUND_MAX_COST_PER_RUN"),
                              bool(config.get("PLAYGROUND_ALLOW_UNPRICED")))
    return LanesCheck(total, tuple(models), refusal, demo, tuple(checks))


def gate_lanes(result: LanesCheck) -> None:
    """Refuse a comparison the operator's cap refuses: the 429 card, and no lane is sent."""
    if result.refusal:
        raise CostRefused(result.refusal, "comparison")


def stamp(run: Run, result: Check) -> Run:
    """Keep with the run the price it is estimated with and the pre-flight figure."""
    estimate = result.estimate
    run.price = dict(estimate.rates, demo=result.demo) if estimate.rates else None
    run.estimate = {"usd": estimate.usd, "label": estimate.label, "reason": estimate.reason,
                    "assumptions": list(estimate.assumptions), "prompt_tokens":
                    result.prompt.tokens}
    return run


def conclude(run: Run, provider: str | None) -> Run:
    """The audit of a finished run: off the event loop when it parses the reply (JSON, a
    schema check, logprobs from every chunk: CPU); otherwise it costs less than the hop."""
    models = catalogue_for(provider)
    model = models.find(run.model) if models else None
    parameters = models.parameters(model, wait=False) if models else None
    accepted = parameters.accepted if parameters else None
    if _parses_reply(run.request):
        run.audit = offload.call(audit_lines, run, model, accepted)
    else:
        run.audit = audit_lines(run, model, accepted)
    return run


def _parses_reply(request) -> bool:
    if not isinstance(request, dict):
        return False
    response_format = request.get("response_format")
    return request.get("logprobs") is True or isinstance(response_format, dict) and \
        response_format.get("type") in ("json_object", "json_schema")

"""The steps around one run's call, whichever page sends it: admitted, begun, logged, kept."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app, request
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from playground import picker, runlog
from playground.budget import budget, client_hash
from playground.forms import ConversationForm
from playground.live import LIVE, LiveRun
from playground.page import client, providers
from playground.providers import Choice, ProviderRefused, visitor_key
from playground.run import Run
from playground.store import Store

ERROR_STATUS = {"timeout": 504, "rate_limited": 429}
NOT_SAVED = "This run could not be saved to the history (the database failed); it is shown once."
NOT_SAVED_HTML = Markup('<p class="banner banner-warn">{}</p>').format(
    NOT_SAVED)
log = logging.getLogger("playground")


def begin(store: Store, run: Run, owner: str, choice: Choice) -> LiveRun | None:
    """Write the run as running; a database failure is logged and the run goes on unsaved."""
    try:
        return LIVE.begin(store, run, owner, secrets=(choice.api_key or "",))
    except SQLAlchemyError:
        log.exception("could not write a run as it started")
        return None


def keep(store: Store, live: LiveRun | None, run: Run, owner: str) -> str | None:
    """Finish the run's row (or write it whole if it has none); None if the database failed."""
    try:
        if live is None:
            return store.save(run, owner)  # it never started (the database was down then)
        return live.id if store.finish(live.id, run) else None
    except SQLAlchemyError:
        log.exception("could not save a run")
        return None
    finally:
        if live is not None:
            LIVE.end(live)


def status_of(run: Run) -> int:
    """The HTTP status a page answers a finished run with."""
    if run.error is None or run.state in ("stopped", "incomplete"):
        return 200
    return ERROR_STATUS.get(run.error.kind, 502)


class Refused(Exception):
    """The form cannot run as sent; the reasons are on its fields."""


def admit(form: ConversationForm) -> tuple[Choice, Callable[[], None], dict, picker.Check]:
    """Validate, choose the provider, check the catalogue (capabilities, the cost cap) and
    take a place in the budget, or raise why not. Returns the body to send and its check."""
    if not form.validate():
        raise Refused
    try:
        choice = providers().pick(form.provider.data, form.base_url.data, visitor_key(request))
    except ProviderRefused as exc:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
        raise Refused from None
    body, check = picker.prepare(form, choice.name)
    picker.gate(form, check)  # raises picker.CostRefused, or marks the form (then Refused)
    if form.model.errors:
        raise Refused
    return choice, budget().admit_run(), body, check


def log_run(run: Run, choice: Choice, status: int) -> None:
    """Write the run's log line, every key it could carry scrubbed."""
    secrets = tuple(k for k in (choice.api_key, client().api_key) if k)
    runlog.record(run, provider=choice.name, client=client_hash(), status=status,
                  secrets=secrets, content=bool(current_app.config["PLAYGROUND_LOG_CONTENT"]))

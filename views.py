"""The playground's pages: validate the form, make one call, render or stream the result."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
)

import runlog
from budget import OverBudget, budget, client_hash
from forms import PromptForm
from providers import Choice, ProviderRefused, Providers, visitor_key
from render import present
from upstream import ChatClient, Run

bp = Blueprint("playground", __name__)
ERROR_STATUS = {"timeout": 504, "rate_limited": 429}


def client() -> ChatClient:
    return current_app.extensions["chat_client"]


def providers() -> Providers:
    return current_app.extensions["providers"]


def prompt_form(**kwargs) -> PromptForm:
    """The form with this server's caps and provider choices."""
    config = current_app.config
    form = PromptForm(max_tokens_cap=config["PLAYGROUND_MAX_TOKENS_CAP"],
                      prompt_cap=config["PLAYGROUND_PROMPT_CAP"], **kwargs)
    form.provider.choices = providers().choices()
    return form


def render_playground(form: PromptForm | None = None, run: Run | None = None, *,
                      notice: str | None = None, formdata=None,
                      limit: OverBudget | None = None) -> str:
    """The whole page: the form (as typed) and, when there is one, the run's result."""
    if form is None:
        form = prompt_form(formdata=formdata or None,
                           data={"model": current_app.config["PLAYGROUND_DEFAULT_MODEL"]})
    chat = client()
    return render_template("index.html", form=form, view=present(run) if run else None,
                           notice=notice, demo=chat.demo, base_url=chat.base_url, limit=limit,
                           providers=providers())


def _status(run: Run) -> int:
    if run.error is None or run.state in ("stopped", "incomplete"):
        return 200
    return ERROR_STATUS.get(run.error.kind, 502)


def _choose(form: PromptForm) -> Choice:
    """Where the run goes; a refusal becomes an error on the form field it concerns."""
    try:
        return providers().pick(form.provider.data, form.base_url.data, visitor_key(request))
    except ProviderRefused as exc:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
        raise


def _log(run: Run, choice: Choice, status: int) -> None:
    secrets = tuple(k for k in (choice.api_key, client().api_key) if k)
    runlog.record(run, provider=choice.name, client=client_hash(), status=status,
                  secrets=secrets, content=bool(current_app.config["PLAYGROUND_LOG_CONTENT"]))


@bp.get("/")
def index():
    return render_playground()


@bp.post("/")
def run():
    form = prompt_form()
    try:
        if not form.validate():
            return render_playground(form), 400
        choice = _choose(form)
        release = budget().admit_run()
    except ProviderRefused:
        return render_playground(form), 400
    except OverBudget as exc:
        return render_playground(form, limit=exc), 429, {"Retry-After": str(exc.retry_after)}
    try:
        result = choice.client.complete(form.to_body(), api_key=choice.api_key)
    finally:
        release()
    headers = {}
    if result.error and result.error.retry_after and result.error.kind == "rate_limited":
        headers["Retry-After"] = str(int(result.error.retry_after + 0.999))
    _log(result, choice, _status(result))
    return render_playground(form, result), _status(result), headers


def _event(name: str, data) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@bp.post("/stream")
def stream():
    """Relay the reply as it is written; end with the same partial the no-JS page shows."""
    form = prompt_form()
    try:
        if not form.validate():
            # The page's script answers this by submitting the form normally to show the errors.
            return jsonify(errors=form.errors), 400
        choice = _choose(form)
        release = budget().admit_run()
    except ProviderRefused:
        return jsonify(errors=form.errors), 400
    except OverBudget as exc:
        # Not an event stream: the script falls back to a normal submit, which shows the card.
        return jsonify(error=exc.message), 429, {"Retry-After": str(exc.retry_after)}
    call = choice.client.stream({**form.to_body(), "stream_options": {"include_usage": True}},
                                api_key=choice.api_key)

    def generate():
        yield _event("start", {"model": call.run.request.get("model")})
        try:
            for kind, text in call:
                yield _event(kind, text)
        finally:
            call.close()
            release()
            _log(call.run, choice, 200)
        yield _event("result", {"html": render_template("_result.html", view=present(call.run)),
                                "state": call.run.state})

    response = Response(stream_with_context(generate()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(release)  # also when the body was never iterated
    return response


@bp.get("/models")
def models():
    """Model names for the form's suggestions (cached per process)."""
    return jsonify(models=client().models())


@bp.get("/healthz")
def healthz():
    return {"ok": True}

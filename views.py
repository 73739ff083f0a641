"""The playground's pages: validate the form, make one call, save it, show or stream it."""

from __future__ import annotations

import json
import logging

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy.exc import SQLAlchemyError

from forms import PromptForm, form_data
from owners import current_owner
from render import present
from runs import Store, current_store
from upstream import ChatClient, Run

bp = Blueprint("playground", __name__)
ERROR_STATUS = {"timeout": 504, "rate_limited": 429}
NOT_SAVED = "This run could not be saved to the history (the database failed); it is shown once."
log = logging.getLogger("playground")


def client() -> ChatClient:
    return current_app.extensions["chat_client"]


def render_playground(form: PromptForm | None = None, run: Run | None = None, *,
                      notice: str | None = None, formdata=None, record=None) -> str:
    """The whole page: the form (as typed) and, when there is one, the run's result.

    ``record`` is the saved run's row, for its page's share, export and delete actions.
    """
    if form is None:
        form = PromptForm(formdata=formdata or None,
                          data={"model": current_app.config["PLAYGROUND_DEFAULT_MODEL"]})
    chat = client()
    current_owner()  # settle the owner id with the form's page, before runs race to create it
    return render_template("index.html", form=form, view=present(run) if run else None,
                           notice=notice, demo=chat.demo, base_url=chat.base_url, record=record)


def save(store: Store, run: Run, owner: str) -> str | None:
    """Keep the run; a database failure is logged and must not lose the reply on screen."""
    try:
        return store.save(run, owner)
    except SQLAlchemyError:
        log.exception("could not save a run")
        return None


def _status(run: Run) -> int:
    if run.error is None or run.state in ("stopped", "incomplete"):
        return 200
    return ERROR_STATUS.get(run.error.kind, 502)


@bp.get("/")
def index():
    """The empty playground, or its form filled from a saved (?run=) or shared (?share=) run."""
    store, found = current_store(), None
    if request.args.get("run"):
        found = store.get(request.args["run"], current_owner())
    elif request.args.get("share"):
        found = store.get_shared(request.args["share"])
    if found is None:
        return render_playground()
    return render_playground(PromptForm(formdata=None, data=form_data(found[1].request)))


@bp.post("/")
def run():
    """Run once, save, and redirect to the run's own page, so a reload never re-sends it."""
    form = PromptForm()
    if not form.validate():
        return render_playground(form), 400
    result = client().complete(form.to_body())
    run_id = save(current_store(), result, current_owner())
    if run_id:
        return redirect(url_for("history.run_page", run_id=run_id), 303)
    headers = {}
    if result.error and result.error.retry_after and result.error.kind == "rate_limited":
        headers["Retry-After"] = str(int(result.error.retry_after + 0.999))
    return render_playground(form, result, notice=NOT_SAVED), _status(result), headers


def _event(name: str, data) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@bp.post("/stream")
def stream():
    """Relay the reply as it is written; end with the same partial the no-JS page shows."""
    form = PromptForm()
    if not form.validate():
        # The page's script answers this by submitting the form normally to show the errors.
        return jsonify(errors=form.errors), 400
    call = client().stream({**form.to_body(), "stream_options": {"include_usage": True}})
    # Both now, not in the generator: the session cookie is sent before the body starts.
    store, owner = current_store(), current_owner()

    def generate():
        yield _event("start", {"model": call.run.request.get("model")})
        run_id = None
        try:
            for kind, text in call:
                yield _event(kind, text)
        finally:
            # Also when the browser goes away: closing this generator lands here, and the
            # stopped run is kept before the connection is gone.
            call.close()
            run_id = save(store, call.run, owner)
        record = store.get(run_id, owner)[0] if run_id else None
        html = render_template("_result.html", view=present(call.run), record=record)
        yield _event("result", {
            "html": html, "state": call.run.state,
            "url": url_for("history.run_page", run_id=run_id) if run_id else None})

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/models")
def models():
    """Model names for the form's suggestions (cached per process)."""
    return jsonify(models=client().models())


@bp.get("/healthz")
def healthz():
    return {"ok": True}

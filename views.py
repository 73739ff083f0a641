"""The playground's pages: validate the form, make one call, render or stream the result."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify, render_template, stream_with_context

from forms import PromptForm
from render import present
from upstream import ChatClient, Run

bp = Blueprint("playground", __name__)
ERROR_STATUS = {"timeout": 504, "rate_limited": 429}


def client() -> ChatClient:
    return current_app.extensions["chat_client"]


def render_playground(form: PromptForm | None = None, run: Run | None = None, *,
                      notice: str | None = None, formdata=None) -> str:
    """The whole page: the form (as typed) and, when there is one, the run's result."""
    if form is None:
        form = PromptForm(formdata=formdata or None,
                          data={"model": current_app.config["PLAYGROUND_DEFAULT_MODEL"]})
    chat = client()
    return render_template("index.html", form=form, view=present(run) if run else None,
                           notice=notice, demo=chat.demo, base_url=chat.base_url)


def _status(run: Run) -> int:
    if run.error is None or run.state in ("stopped", "incomplete"):
        return 200
    return ERROR_STATUS.get(run.error.kind, 502)


@bp.get("/")
def index():
    return render_playground()


@bp.post("/")
def run():
    form = PromptForm()
    if not form.validate():
        return render_playground(form), 400
    result = client().complete(form.to_body())
    headers = {}
    if result.error and result.error.retry_after and result.error.kind == "rate_limited":
        headers["Retry-After"] = str(int(result.error.retry_after + 0.999))
    return render_playground(form, result), _status(result), headers


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

    def generate():
        yield _event("start", {"model": call.run.request.get("model")})
        try:
            for kind, text in call:
                yield _event(kind, text)
        finally:
            call.close()
        yield _event("result", {"html": render_template("_result.html", view=present(call.run)),
                                "state": call.run.state})

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/models")
def models():
    """Model names for the form's suggestions (cached per process)."""
    return jsonify(models=client().models())


@bp.get("/healthz")
def healthz():
    return {"ok": True}

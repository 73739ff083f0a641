"""History: the list of runs, sharing, export and deletion.

Every handler is scoped to ``current_owner()``: another owner's run is a 404, exactly like
an id that never existed, so ids reveal nothing.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from playground import search
from playground.comparisons import Comparisons
from playground.owners import current_owner
from playground.records import export_record
from playground.render import present
from playground.store import STATES, current_store

bp = Blueprint("history", __name__)
PRIVATE = {"Cache-Control": "private, no-store"}


def _own(run_id: str):
    found = current_store().get(run_id, current_owner())
    if found is None:
        abort(404)
    return found


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:120]


def _shown(row, found: tuple[search.Term, ...]) -> dict:
    """A row as the list shows it: its prompt's first line and, for a search, where it matched.

    Both are escaped text with <mark> only around matching words (search.highlight).
    """
    line = _first_line(row.prompt)
    shown = {"row": row, "prompt": search.highlight(line, found), "snippet": None}
    if found and search.first_match(line, found) is None:
        for where, text in (("Conversation", row.turns or ""), ("Reply", row.reply or "")):
            found_here = search.snippet(text, found)
            if found_here is not None:
                shown["snippet"], shown["where"] = found_here, where
                break
    return shown


@bp.get("/history")
def index():
    query = request.args.get("q", "").strip()[:200]
    model = request.args.get("model", "").strip()[:200]
    state = request.args.get("state", "")
    state = state if state in STATES else ""
    store, owner = current_store(), current_owner()
    limit = max(int(current_app.config.get("PLAYGROUND_HISTORY_COUNT_LIMIT") or 1000), 1)
    found = search.terms(query)
    listed = store.history(owner, query=query, model=model, state=state, limit=limit,
                           before=request.args.get("before"), after=request.args.get("after"))
    everything = store.matching(owner, limit=limit) if found or model or state \
        else listed.total
    filters = {"q": query or None, "model": model or None, "state": state or None}
    # A comparison is listed once, as its first lane's row: the template draws it whole.
    compared = Comparisons(store).of_rows(owner, [r.comparison_id for r in listed.rows
                                                  if r.comparison_id])
    return render_template("history.html", rows=[_shown(row, found) for row in listed.rows],
                           total=listed.total, everything=everything, limit=limit,
                           listed=listed, comparisons=compared,
                           filters=filters, query=query, model=model, state=state,
                           searching=bool(found), states=STATES,
                           models=store.models(owner),
                           spending=store.spending(owner)), 200, PRIVATE


@bp.post("/runs/<run_id>/delete")
def delete(run_id: str):
    if not current_store().delete(run_id, current_owner()):
        abort(404)
    flash("The run was deleted.")
    return redirect(url_for("history.index"), 303)


@bp.post("/history/delete")
def delete_all():
    if request.form.get("confirm") != "yes":
        flash("Nothing was deleted: tick the box to confirm deleting every run.")
        return redirect(url_for("history.index"), 303)
    Comparisons(current_store()).delete_all(current_owner())
    deleted = current_store().delete_all(current_owner())
    flash(f"Deleted {deleted} run{'s' if deleted != 1 else ''}.")
    return redirect(url_for("history.index"), 303)


@bp.post("/runs/<run_id>/share")
def share(run_id: str):
    if current_store().share(run_id, current_owner()) is None:
        abort(404)
    flash("Anyone with the link below can now read this run. Revoke it at any time.")
    return redirect(url_for("playground.run_page", run_id=run_id, _anchor="share"), 303)


@bp.post("/runs/<run_id>/revoke")
def revoke(run_id: str):
    if not current_store().revoke(run_id, current_owner()):
        abort(404)
    flash("The share link was revoked: it no longer opens this run.")
    return redirect(url_for("playground.run_page", run_id=run_id, _anchor="share"), 303)


@bp.get("/s/<token>")
def shared(token: str):
    """A read-only run for anyone with the link: prompt, reply, raw JSON, usage; nothing else."""
    found = current_store().get_shared(token)
    if found is None:
        abort(404)
    row, run = found
    return render_template("shared.html", view=present(run, shared=True), row=row, token=token,
                           shared=True), 200, {**PRIVATE, "X-Robots-Tag": "noindex"}


def _download(body, filename: str, mimetype: str) -> Response:
    """A private attachment: ``body`` is text, or an iterable streamed as it is produced."""
    return Response(body, mimetype=mimetype, headers={
        **PRIVATE, "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/runs/<run_id>.json")
def export_one(run_id: str):
    row, _run = _own(run_id)
    owner = current_owner()
    record = export_record(row, lambda messages: current_store().images.inflate(owner, messages))
    text = json.dumps(record, indent=2, ensure_ascii=False)
    return _download(text + "\n", f"run-{run_id}.json", "application/json")


@bp.get("/history.jsonl")
def export_all():
    """Every run of mine as JSON Lines: one evaluation test case per line."""
    lines = current_store().export_lines(current_owner())
    return _download(stream_with_context(lines), "history.jsonl", "application/x-ndjson")

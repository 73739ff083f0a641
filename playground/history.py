"""History: the list of runs, sharing, export and deletion.

Every handler is scoped to ``current_owner()``: another owner's run is a 404, exactly like
an id that never existed, so ids reveal nothing.
"""

from __future__ import annotations

import json
import math

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from playground.comparisons import Comparisons
from playground.owners import current_owner
from playground.records import export_record
from playground.render import present
from playground.store import PAGE_SIZE, STATES, current_store

bp = Blueprint("history", __name__)
PRIVATE = {"Cache-Control": "private, no-store"}
MAX_PAGE = 1_000_000  # 25 million runs: beyond any history


def _own(run_id: str):
    found = current_store().get(run_id, current_owner())
    if found is None:
        abort(404)
    return found


@bp.get("/history")
def index():
    query = request.args.get("q", "").strip()[:200]
    model = request.args.get("model", "").strip()[:200]
    state = request.args.get("state", "")
    state = state if state in STATES else ""
    # Bounded before it becomes an OFFSET: 10**20 overflows SQLite's and PostgreSQL's integers.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    store, owner = current_store(), current_owner()
    rows, total = store.history(owner, query=query, model=model, state=state, page=page)
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    if page > pages:  # past the end (an old link, a typed number): the last page
        page = pages
        rows, total = store.history(owner, query=query, model=model, state=state, page=page)
    # A comparison is listed once, as its first lane's row: the template draws it whole.
    compared = Comparisons(store).of_rows(owner, [r.comparison_id for r in rows
                                                  if r.comparison_id])
    return render_template("history.html", rows=rows, total=total, page=page, pages=pages,
                           comparisons=compared,
                           query=query, model=model, state=state, states=STATES,
                           models=store.models(owner), everything=store.count(owner)), \
        200, PRIVATE


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
    records = current_store().export(current_owner())
    lines = (json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return _download(stream_with_context(lines), "history.jsonl", "application/x-ndjson")

"""Compare: one conversation sent to 2 to 4 lanes at once, side by side, with a word diff.

``POST /compare`` validates, reserves the N lanes (lanes.py) and then either streams them
(the page's script asked for lane tokens) or sends them all at once and redirects to the
comparison's own page, which reloads without calling anyone. Every handler is scoped to
``current_owner()``; a shared comparison is read through its token and nothing else.
"""

from __future__ import annotations

import json
import re

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from playground import lanes, picker, workbench
from playground.budget import OverBudget
from playground.compare_form import MAX_LANES, MIN_LANES, CompareForm
from playground.comparisons import Comparisons
from playground.composer import blank_turn, first_problem, turn_views, variable_views
from playground.conversation import ROLES
from playground.diff import word_diff
from playground.forms import ConversationForm
from playground.owners import current_owner
from playground.page import empty_fields, images
from playground.records import export_record
from playground.render import present
from playground.reopen import form_data
from playground.run import Run
from playground.scoreboard import metrics, reply_text, total_cost
from playground.store import current_store

bp = Blueprint("compare", __name__)
PRIVATE = {"Cache-Control": "private, no-store"}
LANE_ACTION = re.compile(r"remove-lane-(\d)")


def comparisons() -> Comparisons:
    return Comparisons(current_store())


PLACEHOLDER_MODEL = "compare"  # the conversation form wants a model; each lane names its own


def compare_form(formdata: MultiDict, errors: dict | None = None) -> CompareForm:
    """The compare form from explicit fields: the lanes, and the conversation beside them."""
    config = current_app.config
    choices = [c for c in current_app.extensions["providers"].choices() if c[0] != "custom"]
    conversation = ConversationForm(
        MultiDict([*((k, v) for k, v in formdata.items(multi=True) if k != "model"),
                   ("model", PLACEHOLDER_MODEL)]),
        max_tokens_cap=config["PLAYGROUND_MAX_TOKENS_CAP"],
        prompt_cap=config["PLAYGROUND_PROMPT_CAP"], images=images(), extra_errors=errors)
    form = CompareForm(formdata, conversation=conversation,
                       max_tokens_cap=config["PLAYGROUND_MAX_TOKENS_CAP"],
                       provider_choices=choices)
    form.source = formdata
    return form


def starting_fields(run: Run | None = None) -> MultiDict:
    """A new comparison's fields: the demo's three speeds (or the default model), or a run's
    conversation with its model in the first lane ("Compare…" on a run page)."""
    default = current_app.config["PLAYGROUND_DEFAULT_MODEL"]
    demo = current_app.extensions["providers"].default.demo
    models = ["demo-fast", "demo", "demo-slow"] if demo else [default, ""]
    fields = empty_fields() if run is None else form_data(run)
    keep = [(k, v) for k, v in fields.items(multi=True)
            if k.startswith(("turns-", "variables-", "tools", "tool_choice"))]
    if run is not None:  # the run's model and overrides in the first lane
        models[0] = run.model
        keep += [(f"lanes-0-{name}", fields[name]) for name in (
            "provider", "temperature", "max_tokens", "top_p", "seed") if fields.get(name)]
    return MultiDict([*keep, *((f"lanes-{n}-model", m) for n, m in enumerate(models))])


def saved_fields(record) -> MultiDict:
    """A saved comparison's form, as it was posted."""
    data = json.loads(record.data)
    posted = data.get("posted") if isinstance(data, dict) else None
    return MultiDict([(k, v) for k, v in posted or [] if isinstance(k, str) and
                      isinstance(v, str)])


# -- pages ---------------------------------------------------------------------------------
def lane_views(found: list, shared: bool = False) -> list[dict]:
    return [{"number": number, "id": row.id, "run": run, "view": present(run, shared)}
            for number, (row, run) in enumerate(found)]


def diff_view(found: list, first, second) -> dict | None:
    """The diff of two lanes (their numbers as typed in the URL), or None when not asked."""
    numbers = []
    for value in (first, second):
        if not (isinstance(value, str) and value.isdigit() and int(value) < len(found)):
            return None
        numbers.append(int(value))
    a, b = (found[n][1] for n in numbers)
    return {"a": numbers[0], "b": numbers[1], "diff": word_diff(reply_text(a), reply_text(b))}


def render_compare(form: CompareForm, record=None, found=None, *, shared: bool = False,
                   limit: OverBudget | None = None, status: str | None = None,
                   focus: str | None = None, notice: str | None = None) -> str:
    found = found or []
    runs = [run for _row, run in found]
    conversation = form.conversation
    return render_template(
        "compare.html", form=form, record=record, lanes=lane_views(found, shared),
        turns=turn_views(conversation), variables=variable_views(conversation),
        focus=focus or (first_problem(conversation) if not record else None),
        blank_turn=blank_turn, roles=ROLES,
        metrics=metrics(runs) if runs else None, total_cost=total_cost(runs),
        diff=diff_view(found, request.args.get("a"), request.args.get("b")) if found else None,
        preflight=None if shared else picker.check_lanes(form.draft_lanes()),
        shared=shared, limit=limit, status=status, notice=notice, min_lanes=MIN_LANES,
        max_lanes=MAX_LANES,
        providers=current_app.extensions["providers"],
        demo=current_app.extensions["providers"].default.demo)


def own(comparison_id: str):
    record = comparisons().get(comparison_id, current_owner())
    if record is None:
        abort(404)
    return record


@bp.get("/compare")
def index():
    """A new comparison; from a run page ("Compare…"), its conversation and model first."""
    run = None
    if request.args.get("run"):
        found = current_store().get(request.args["run"], current_owner())
        run = found[1] if found else None
    return render_compare(compare_form(starting_fields(run))), 200, PRIVATE


def edited(formdata: MultiDict, action: str) -> tuple[MultiDict, str]:
    """The form with a lane added or removed (no JavaScript: the page posts its buttons)."""
    count = len({k.split("-")[1] for k in formdata if re.fullmatch(r"lanes-\d+-model", k)})
    fields = MultiDict([(k, v) for k, v in formdata.items(multi=True) if k != "action"])
    if action == "add-lane" and count < MAX_LANES:
        fields.add(f"lanes-{count}-model", "")
        return fields, f"Lane {count + 1} added."
    match = LANE_ACTION.fullmatch(action)
    if match and count > MIN_LANES and int(match[1]) < count:
        gone = int(match[1])
        kept = MultiDict()
        for key, value in fields.items(multi=True):
            parts = re.fullmatch(r"lanes-(\d+)-(.+)", key)
            if parts is None:
                kept.add(key, value)
            elif int(parts[1]) != gone:
                number = int(parts[1]) - (int(parts[1]) > gone)
                kept.add(f"lanes-{number}-{parts[2]}", value)
        return kept, f"Lane {gone + 1} removed."
    return fields, "Nothing to change."


def wants_tokens() -> bool:
    """The page's script asks for lane tokens to stream each lane itself."""
    return request.headers.get("X-Compare") == "stream"


@bp.post("/compare")
def run():
    """Reserve the lanes, then stream them (script) or send them all and show the result."""
    action = request.form.get("action", "run")
    if action == "add-lane" or LANE_ACTION.fullmatch(action):
        formdata, message = edited(request.form, action)
        return render_compare(compare_form(formdata), status=message), 200, PRIVATE
    # The conversation editor's own buttons (add, delete, move a turn, import…) work here as
    # on the playground: the form comes back changed, and nothing is sent.
    post = workbench.read(request.form, request.files, images())
    if post.action == "export":
        return Response(workbench.export(post.turns, images()), mimetype="application/json",
                        headers={**PRIVATE, "Content-Disposition":
                                 'attachment; filename="messages.json"'})
    if post.action != "run":
        done = workbench.edit(post, images())
        return render_compare(compare_form(done.formdata, done.errors), status=done.message,
                              focus=done.focus), 200, PRIVATE
    return start(compare_form(post.formdata, post.errors))


def start(form: CompareForm):
    try:
        reservation = lanes.reserve(form)
    except lanes.Refused:
        if wants_tokens():
            return jsonify(errors=form.errors), 400
        return render_compare(form), 400, PRIVATE
    except OverBudget as exc:
        # No Retry-After for a comparison refused for its cost: waiting won't help.
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        if wants_tokens():
            return jsonify(error=exc.message), 429, retry
        return render_compare(form, limit=exc), 429, retry
    url = url_for("compare.page", comparison_id=reservation.comparison_id)
    if wants_tokens():
        tokens = lanes.hand_out(reservation)
        return jsonify(id=reservation.comparison_id, url=url, lanes=[
            {"lane": number, "token": token, "model": run.model, "run": run_id}
            for number, (token, run, run_id) in enumerate(
                zip(tokens, reservation.runs, reservation.run_ids, strict=True))]), 200, PRIVATE
    lanes.run_all(reservation)
    return redirect(url, 303)


@bp.post("/compare/preflight")
def preflight():
    """The pre-flight panel for the compare form as posted (cost.js asks as lanes change)."""
    post = workbench.read(request.form, None, None)  # the turns as a run reads them; no upload
    form = compare_form(post.formdata, post.errors)
    html = render_template("_compare_preflight.html", preflight=picker.check_lanes(
        form.draft_lanes()))
    return jsonify(preflight=html, gates={}), 200, PRIVATE


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    """An expired or missing token on the compare form: the form back, as typed, to run again."""
    if request.endpoint != "compare.run":
        return render_template("csrf_error.html"), 400
    message = ("The form's security token was missing or expired (or the form came from "
               "another site). Your input is kept below: press Run all lanes again.")
    post = workbench.read(request.form, None, None)  # nothing kept from a post refused
    return render_compare(compare_form(post.formdata, post.errors), notice=message), 400


@bp.get("/compare/<comparison_id>")
def page(comparison_id: str):
    """The comparison as it was: its form, lanes, metrics and diff; nobody is called."""
    record = own(comparison_id)
    form = compare_form(saved_fields(record))
    return render_compare(form, record, comparisons().lanes(record)), 200, PRIVATE


@bp.get("/compare/<comparison_id>/results")
def results(comparison_id: str):
    """The results section alone, for a page whose lanes have just finished streaming."""
    record = own(comparison_id)
    found = comparisons().lanes(record)
    runs = [run for _row, run in found]
    html = render_template("_comparison.html", record=record, lanes=lane_views(found),
                           metrics=metrics(runs), total_cost=total_cost(runs), diff=None,
                           shared=False)
    return jsonify(html=html, running=any(run.state == "running" for run in runs)), 200, PRIVATE


@bp.get("/compare/<comparison_id>/diff")
def diff(comparison_id: str):
    """The diff of two lanes as a partial, for the page's script."""
    found = comparisons().lanes(own(comparison_id))
    view = diff_view(found, request.args.get("a"), request.args.get("b"))
    if view is None:
        abort(404)
    return render_template("_diff_result.html", diff=view, lanes=lane_views(found)), 200, \
        PRIVATE


@bp.post("/compare/<comparison_id>/rerun")
def rerun(comparison_id: str):
    """Send the same comparison again, as a new one."""
    formdata = saved_fields(own(comparison_id))
    formdata.add("csrf_token", request.form.get("csrf_token", ""))
    return start(compare_form(formdata))


@bp.post("/compare/<comparison_id>/share")
def share(comparison_id: str):
    if comparisons().share(comparison_id, current_owner()) is None:
        abort(404)
    flash("Anyone with the link below can now read this comparison. Revoke it at any time.")
    return redirect(url_for("compare.page", comparison_id=comparison_id, _anchor="share"), 303)


@bp.post("/compare/<comparison_id>/revoke")
def revoke(comparison_id: str):
    if not comparisons().revoke(comparison_id, current_owner()):
        abort(404)
    flash("The share link was revoked: it no longer opens this comparison.")
    return redirect(url_for("compare.page", comparison_id=comparison_id, _anchor="share"), 303)


@bp.post("/compare/<comparison_id>/delete")
def delete(comparison_id: str):
    if not comparisons().delete(comparison_id, current_owner()):
        abort(404)
    flash("The comparison and its lanes were deleted.")
    return redirect(url_for("history.index"), 303)


@bp.get("/compare/s/<token>")
def shared(token: str):
    """A read-only comparison for anyone with the link: its lanes, metrics and diff."""
    record = comparisons().get_shared(token)
    if record is None:
        abort(404)
    form = compare_form(saved_fields(record))
    return render_compare(form, record, comparisons().lanes(record), shared=True), 200, \
        {**PRIVATE, "X-Robots-Tag": "noindex"}


def _download(text: str, filename: str, mimetype: str) -> Response:
    return Response(text, mimetype=mimetype, headers={
        **PRIVATE, "Content-Disposition": f'attachment; filename="{filename}"'})


def exported(record, found: list) -> dict:
    """The comparison as JSON: what was asked, and each lane's run as an export record."""
    return {"id": record.id, "prompt": record.prompt, "models": json.loads(record.models),
            "form": json.loads(record.data), "lanes": [export_record(row) for row, _ in found]}


@bp.get("/compare/<comparison_id>.json")
def export_json(comparison_id: str):
    record = own(comparison_id)
    text = json.dumps(exported(record, comparisons().lanes(record)), indent=2,
                      ensure_ascii=False)
    return _download(text + "\n", f"comparison-{comparison_id}.json", "application/json")


@bp.get("/compare/<comparison_id>.jsonl")
def export_runs(comparison_id: str):
    """The comparison's lane runs as JSON Lines, one evaluation case per line."""
    found = comparisons().lanes(own(comparison_id))
    text = "".join(json.dumps(export_record(row), ensure_ascii=False) + "\n"
                   for row, _ in found)
    return _download(text, f"comparison-{comparison_id}.jsonl", "application/x-ndjson")


def render_lane(run_id: str, run: Run) -> str:
    """One finished lane's column, for the stream's last event."""
    lane = {"number": run.lane or 0, "id": run_id, "run": run, "view": present(run)}
    return render_template("_lane.html", lane=lane, shared=False)

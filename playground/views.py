"""The playground's pages: validate the form, make one call, save it, show or stream it."""

from __future__ import annotations

import logging

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
    stream_with_context,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError

from playground import compare, lanes, picker, workbench
from playground.budget import OverBudget, budget
from playground.conversation import continuation, reply_message, turns_from_messages
from playground.forms import ConversationForm
from playground.images import ImageMissing
from playground.owners import current_owner
from playground.page import (
    conversation_form,
    form_for,
    images,
    providers,
    render_playground,
)
from playground.providers import CUSTOM, ProviderRefused, visitor_key
from playground.relay import relay
from playground.render import DEFERRED_PANELS, code_view, panel_view, present
from playground.reopen import with_instructions
from playground.run import Run
from playground.snapshots import LiveSnapshots
from playground.steps import (
    NOT_SAVED,
    Refused,
    admit,
    begin,
    keep,
    log_run,
    status_of,
)
from playground.store import current_store

bp = Blueprint("playground", __name__)
PRIVATE = {"Cache-Control": "private, no-store"}
FORM_POSTS = ("playground.run", "playground.stream")  # the posts that carry the whole form
log = logging.getLogger("playground")


@bp.get("/")
def index():
    """The empty playground; or its form filled from a saved (?run=) or shared (?share=) run;
    or a run continued (?continue=<id>&choice=N): its turns, the reply, the next turn."""
    store, found = current_store(), None
    if request.args.get("continue"):
        return continue_run(request.args["continue"], request.args.get("choice", "0"))
    if request.args.get("run"):
        found = store.get(request.args["run"], current_owner())
    elif request.args.get("share"):
        found = store.get_shared(request.args["share"])
    if found is None:
        return render_playground()
    run = found[1]
    # Opened from the history, it is that run's conversation again: a run from it is its
    # sibling (same parent), as an edit-and-re-run is. A stranger's shared run starts afresh.
    parent = run.parent_id if request.args.get("run") else None
    return render_playground(form_for(run, parent_id=parent))


def continue_run(run_id: str, choice_text: str):
    """The form for the next turn: the run's turns, its reply, then an empty turn to write."""
    run = own_run(run_id)[1]
    choice = int(choice_text) if choice_text.isdigit() and len(choice_text) < 3 else 0
    reply = reply_message(run.response, choice) if run.state != "running" else None
    if reply is None:
        return render_playground(form_for(run, parent_id=run.parent_id),
                                 notice="This run has no reply to continue from."), 404
    messages = run.template if isinstance(run.template, list) else run.request.get("messages")
    turns = with_instructions(continuation(turns_from_messages(messages or []), reply))
    form = form_for(run, turns=turns, parent_id=run_id)
    following = len(turns) - 1
    while following > 0 and turns[following - 1]["role"] == "tool":
        following -= 1  # the first tool result box, when the reply called tools
    if turns[following]["role"] == "tool":
        status = "Continuing: type a result for each tool call, then press Run."
    else:
        status = "Continuing: write the next message, then press Run."
    return render_playground(form, status=status, focus=f"turns-{following}-content")


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    """An expired or missing token on the playground form: show the form back, as typed."""
    if request.endpoint not in FORM_POSTS:
        return render_template("csrf_error.html"), 400
    message = ("The form's security token was missing or expired (or the form came from "
               "another site). Your input is kept below: press Run again.")
    post = workbench.read(request.form, None, None)  # nothing kept from a post refused
    return render_playground(conversation_form(post.formdata), notice=message), 400


def own_run(run_id: str):
    """This visitor's run (its row and its Run); anyone else's is a 404, like no run at all."""
    found = current_store().get(run_id, current_owner())
    if found is None:
        abort(404)
    return found


@bp.get("/runs/<run_id>")
def run_page(run_id: str):
    """The run as it was: the form filled in, its thread and the result, rendered again now."""
    row, run = own_run(run_id)
    thread = current_store().thread(run.parent_id, current_owner())
    return render_playground(form_for(run, parent_id=run.parent_id), run, record=row,
                             thread=thread), 200, PRIVATE


@bp.get("/runs/<run_id>/follow")
def follow(run_id: str):
    """A run's state and result partial, for a page following a run that is still running."""
    row, run = own_run(run_id)
    html = render_template("_result.html", view=present(run), record=row)
    return jsonify(state=run.state, label=run.label, finished=run.state != "running",
                   html=html), 200, PRIVATE


@bp.get("/runs/<run_id>/panels/<name>")
def panel(run_id: str, name: str):
    """One inspect panel of a run, which a streamed result loads when it is first opened."""
    if name not in DEFERRED_PANELS:
        abort(404)
    row, run = own_run(run_id)
    return render_template(f"_{name}.html", view=panel_view(run, name), run=run,
                           record=row), 200, PRIVATE


@bp.app_errorhandler(SQLAlchemyError)
def database_down(error):
    """The history's database failed: say so (503); runs themselves still work."""
    log.error("the database failed: %s", type(error).__name__, exc_info=error)
    return render_template("error.html", code=503, title="History unavailable",
                           message="The database that keeps the history did not answer. "
                                   "Runs still work (they are shown once, not kept); try this "
                                   "page again in a moment."), 503


def _conversation(run: Run, form: ConversationForm) -> Run:
    """What a run keeps of its conversation besides the body: parent, variables, template."""
    run.parent_id, run.variables, run.template = form.parent(), form.values, form.template
    return run


def read_post() -> tuple[workbench.Post, ConversationForm | None]:
    """The form's post, read; a button other than Run is done here and its page returned."""
    post = workbench.read(request.form, request.files, images())
    if post.action == "run":
        return post, conversation_form(post.formdata, post.errors)
    if post.action == "export":
        text = workbench.export(post.turns, images())
        abort(Response(text, mimetype="application/json", headers={
            **PRIVATE, "Content-Disposition": 'attachment; filename="messages.json"'}))
    done = workbench.edit(post, images())
    page = render_playground(conversation_form(done.formdata, done.errors), status=done.message,
                             focus=done.focus)
    abort(Response(page, 200, PRIVATE))


@bp.post("/")
def run():
    """Run once, save, and redirect to the run's own page, so a reload never re-sends it.

    Any other button (add, delete, move a turn, import…) returns the form changed, and
    sends nothing anywhere; Get code shows the call the form would make, and sends nothing.
    """
    if request.form.get("action") == "code":
        return live_code()
    _post, form = read_post()
    try:
        choice, release, body, check = admit(form)
    except Refused:
        return render_playground(form), 400
    except OverBudget as exc:
        return render_playground(form, limit=exc), 429, _retry(exc)
    store, owner = current_store(), current_owner()
    try:
        live = begin(store, picker.stamp(_conversation(Run(
            request=body, endpoint=choice.client.endpoint, provider=choice.name,
            demo=choice.client.demo), form), check), owner, choice)
        result = choice.client.complete(body, api_key=choice.api_key)
    finally:
        release()
    result.provider = choice.name
    _conversation(result, form)
    picker.conclude(picker.stamp(result, check), choice.name)
    log_run(result, choice, status_of(result))
    run_id = keep(store, live, result, owner)
    if run_id:
        return redirect(url_for("playground.run_page", run_id=run_id), 303)
    return render_playground(form, result, notice=NOT_SAVED), status_of(result)


@bp.post("/runs/<run_id>/regenerate")
def regenerate(run_id: str):
    """Send a saved run's conversation again, as a new run with the same parent."""
    store, owner = current_store(), current_owner()
    old = own_run(run_id)[1]
    body = {k: v for k, v in old.request.items() if k not in ("stream", "stream_options")}
    try:
        body["messages"] = store.images.inflate(owner, body.get("messages"))
        base_url = old.endpoint.removesuffix("/chat/completions") \
            if old.provider == CUSTOM else None
        choice = providers().pick(old.provider, base_url, visitor_key(request))
        check = picker.check_body(body, choice.name)
        picker.gate(None, check)  # the operator's cost cap applies here too
        release = budget().admit_run()
    except (ImageMissing, ProviderRefused, OverBudget) as exc:
        why = ("An image of this run is no longer kept: open it in the playground and upload "
               "it again." if isinstance(exc, ImageMissing) else exc.message)
        flash(f"Not regenerated. {why}")
        return redirect(url_for("playground.run_page", run_id=run_id), 303)
    try:
        fresh = Run(request=body, endpoint=choice.client.endpoint, provider=choice.name,
                    demo=choice.client.demo, parent_id=old.parent_id, variables=old.variables,
                    template=old.template)
        live = begin(store, picker.stamp(fresh, check), owner, choice)
        result = choice.client.complete(body, api_key=choice.api_key)
    finally:
        release()
    result.provider = choice.name
    result.parent_id, result.variables, result.template = \
        old.parent_id, old.variables, old.template
    picker.conclude(picker.stamp(result, check), choice.name)
    log_run(result, choice, status_of(result))
    new_id = keep(store, live, result, owner)
    if new_id:
        return redirect(url_for("playground.run_page", run_id=new_id), 303)
    return render_playground(form_for(old, parent_id=old.parent_id), result,
                             notice=NOT_SAVED), status_of(result)


def _retry(limit: OverBudget) -> dict:
    """The Retry-After of a limit; none for a run refused for its cost (waiting won't help)."""
    return {"Retry-After": str(limit.retry_after)} if limit.retry_after else {}


@bp.post("/stream")
def stream():
    """Relay the reply as it is written; end with the same partial the no-JS page shows."""
    if request.form.get("lane"):  # a comparison's lane: reserved already, sent as it was
        return lanes.stream_lane(request.form["lane"], compare.render_lane)
    _post, form = read_post()
    try:
        choice, release, body, check = admit(form)
    except Refused:
        # The page's script answers this by submitting the form normally to show the errors.
        return jsonify(errors=form.control_errors()), 400
    except OverBudget as exc:
        # Not an event stream: the script falls back to a normal submit, which shows the card.
        return jsonify(error=exc.message), 429, _retry(exc)
    call = choice.client.stream({**body, "stream_options": {"include_usage": True}},
                                api_key=choice.api_key)
    call.run.provider = choice.name
    _conversation(call.run, form)
    picker.stamp(call.run, check)
    # Both now, not in the generator: the session cookie is sent before the body starts.
    store, owner = current_store(), current_owner()
    # Server-rendered markdown while it streams (None: off); rendered off this loop.
    snapshots = LiveSnapshots() if current_app.config["PLAYGROUND_LIVE_MARKDOWN"] else None
    events = relay(call, choice, release, store, owner, snapshots)
    response = Response(stream_with_context(events), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(release)  # also when the body was never iterated
    return response


@bp.post("/code")
def live_code():
    """Get code for the form as it is now: the body it would send, as code; nobody is called.

    Without JavaScript the "Get code" button posts the form (action=code) and the page comes
    back with the panel; the page's script asks here for the panel alone (and for the streamed
    call, which is what it sends) and shows it in place.
    """
    _post, form = read_post()
    script = request.headers.get("X-Get-Code") == "stream"
    try:
        if not form.validate():
            raise Refused
        choice = providers().pick(form.provider.data, form.base_url.data, visitor_key(request))
    except (Refused, ProviderRefused) as exc:
        if isinstance(exc, ProviderRefused):
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        if script:
            return jsonify(errors=form.errors), 400
        return render_playground(form), 400
    body = form.to_body()
    if script:
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    run = Run(request=body, endpoint=choice.client.endpoint, provider=choice.name,
              demo=choice.client.demo, stream=script)
    code = code_view(run)
    if script:
        return jsonify(html=render_template("_live_code.html", code=code)), 200, PRIVATE
    return render_playground(form, live_code=code), 200, PRIVATE


@bp.get("/healthz")
def healthz():
    return {"ok": True}

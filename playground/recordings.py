"""The flight recorder's routes: a run's timeline as SVG or JSON, and its replay data.

Each exists for the owner (``/runs/<id>/…``) and for anyone with a share link
(``/s/<token>/…``), scoped exactly like the pages they belong to. Replay data is stored data
only: reading it never calls the provider. Also the template globals the timeline and replay
partials use.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g

from playground import replay, timeline
from playground.owners import current_owner
from playground.store import current_store

bp = Blueprint("recordings", __name__)
PRIVATE = {"Cache-Control": "private, no-store"}


def _own(run_id: str):
    found = current_store().get(run_id, current_owner())
    if found is None:
        abort(404)
    return found[1]


def _shared(token: str):
    found = current_store().get_shared(token)
    if found is None:
        abort(404)
    return found[1]


@bp.app_template_global()
def timeline_of(run) -> timeline.Timeline:
    """The run's timeline, built once per request however many partials ask for it."""
    built = g.setdefault("timelines", {})
    if id(run) not in built:
        built[id(run)] = (run, timeline.of_run(run))  # the run is kept so its id stays its own
    return built[id(run)][1]


@bp.app_template_global()
def timeline_svg(line: timeline.Timeline, id_prefix: str):
    return timeline.svg(line, id_prefix)


@bp.app_template_global()
def timeline_summary(line: timeline.Timeline) -> str:
    return timeline.summary(line)


def _download(body: str, filename: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        **PRIVATE, "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff"})


def _svg(run, name: str) -> Response:
    line = timeline.of_run(run)
    return _download(str(timeline.svg(line, "timeline", standalone=True)),
                     f"{name}-timeline.svg", "image/svg+xml")


def _json(run, name: str) -> Response:
    return _download(timeline.of_run(run).to_json(), f"{name}-timeline.json", "application/json")


def _replay(run) -> Response:
    data = replay.build(run.events, getattr(run, "event_times", None), run.total_ms)
    return Response(replay.to_json(data), mimetype="application/json", headers=PRIVATE)


@bp.get("/runs/<run_id>/timeline.svg")
def own_svg(run_id: str):
    return _svg(_own(run_id), f"run-{run_id}")


@bp.get("/runs/<run_id>/timeline.json")
def own_json(run_id: str):
    return _json(_own(run_id), f"run-{run_id}")


@bp.get("/runs/<run_id>/replay.json")
def own_replay(run_id: str):
    """The stored stream as replay frames: events' times and server-rendered snapshots."""
    return _replay(_own(run_id))


@bp.get("/s/<token>/timeline.svg")
def shared_svg(token: str):
    return _svg(_shared(token), "shared-run")


@bp.get("/s/<token>/timeline.json")
def shared_json(token: str):
    return _json(_shared(token), "shared-run")


@bp.get("/s/<token>/replay.json")
def shared_replay(token: str):
    return _replay(_shared(token))

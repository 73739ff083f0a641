"""The live path's event stream: a reply relayed as it is written, ending on its result."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from flask import render_template, url_for

from playground import picker
from playground.live import LiveRun
from playground.providers import Choice
from playground.render import present
from playground.snapshots import LiveSnapshots
from playground.steps import NOT_SAVED_HTML, begin, keep, log_run
from playground.store import Saved, Store
from playground.upstream import Stream


def event(name: str, data) -> str:
    """One server-sent event: its name, and its data as JSON."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def relay(call: Stream, choice: Choice, release: Callable[[], None], store: Store, owner: str,
          snapshots: LiveSnapshots | None) -> Iterator[str]:
    """The call's deltas as events (with live snapshots, unless ``snapshots`` is None); the
    run begun once the first is on its way, kept when it ends; then the result partial."""
    yield event("start", {"model": call.run.request.get("model"),
                          "live": snapshots is not None})
    live: LiveRun | None | bool = False  # False: not written yet; None: the write failed
    try:
        for kind, text in call:
            events = event(kind, text)
            if snapshots is not None:
                if kind == "content":
                    snapshots.add(text)
                ready = snapshots.poll()
                if ready is not None:  # in the same write: one send per delta, not two
                    events += event("snapshot", ready)
            yield events
            if live is False:
                # Written once the first delta is on its way to the browser: the INSERT
                # never delays the first token (docs/storage.md has the measurement).
                live = begin(store, call.run, owner, choice)
            if live:
                if kind != "reasoning":
                    live.add(text)  # saved by the pulse, about once a second
                if live.halted:
                    break  # the server is shutting down and has saved this run: end it
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit | Exception):
            call.run.state = "shutdown"  # the server killed this request (GreenletExit)
        raise
    finally:
        # Also when the browser goes away: closing this generator lands here, and the
        # stopped run is kept before the connection is gone.
        call.close()
        release()
        if live and live.halted and call.run.state == "stopped":
            call.run.state = "shutdown"  # stopped by the server, not by the visitor
        picker.conclude(call.run, choice.name)
        log_run(call.run, choice, 200)
        run_id = keep(store, live or None, call.run, owner)
    record = Saved(run_id, call.run.started_at) if run_id else None
    thread = store.thread(call.run.parent_id, owner) if call.run.parent_id else None
    # Saved, the closed inspect panels load when opened; unsaved, there is nothing to load from.
    html = render_template("_result.html", view=present(call.run, deferred=record is not None),
                           record=record, thread=thread)
    yield event("result", {
        "html": html if run_id else str(NOT_SAVED_HTML) + html, "state": call.run.state,
        "label": call.run.label,
        "url": url_for("playground.run_page", run_id=run_id) if run_id else None})

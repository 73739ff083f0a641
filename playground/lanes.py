"""A comparison's lanes: reserved together, then sent concurrently or streamed one by one.

``reserve`` takes the N budget places (runs per minute/day and N in-flight slots) in one step
and writes the comparison with its lane runs, or refuses the whole comparison: nothing is
sent then. Without JavaScript, ``run_all`` sends the lanes concurrently (threads, which are
green threads under gunicorn's gevent workers) up to the compare deadline and saves the
lanes still going as "cut". With JavaScript, the page streams each lane through ``/stream``
with its lane token (``stream_lane``): the lane's place was taken already, so ``/stream``
takes none, and frees the lane's slot when the lane ends.

A slot is given back exactly once (``Comparisons.free`` flips a flag), by the lane that ends,
or, for a token never used, by a timer in the process that reserved it. In this process the
slot is released by the function ``admit_lanes`` returned; with Redis, the shared counter
is decremented wherever the lane ends. With in-memory budgets and several worker processes
(each counting its own slots, see budget.py), a lane streamed by another process leaves
its slot taken in the reserving process until the lane's deadline has passed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Response, current_app, jsonify, request, stream_with_context
from sqlalchemy.exc import SQLAlchemyError

from playground import picker, runlog
from playground.budget import budget, client_address, client_hash
from playground.compare_form import CompareForm, fields
from playground.comparisons import TOKEN_SECONDS, Comparisons
from playground.errors import UpstreamError
from playground.live import LIVE
from playground.owners import current_owner
from playground.page import providers
from playground.providers import CUSTOM, Choice, ProviderRefused, visitor_key
from playground.records import partial_response
from playground.relay import event
from playground.run import Run
from playground.store import Store, current_store

log = logging.getLogger("playground")
HELD: dict[tuple[str, int], Callable[[], None]] = {}  # this process's lane slots, by lane
_held_lock = threading.Lock()


class Refused(Exception):
    """The form cannot be compared as sent; the reasons are on its fields."""


@dataclass
class Reservation:
    """A comparison made: its id, its lanes' runs, providers and slot releases."""

    comparison_id: str
    run_ids: list[str]
    runs: list[Run]
    choices: list[Choice]
    releases: list[Callable[[], None]]
    owner: str
    tokens: list[str] = field(default_factory=list)


def comparisons(store: Store | None = None) -> Comparisons:
    return Comparisons(store or current_store())


def reserve(form: CompareForm) -> Reservation:
    """Validate, choose each lane's provider, take the N places and write the comparison.

    Raises Refused (reasons on the form) or OverBudget (nothing was taken or sent).
    """
    if not form.validate():
        raise Refused
    choices = []
    for lane in form.lanes.entries:
        try:
            if lane.form.provider.data == CUSTOM:
                raise ProviderRefused("provider", "A comparison's lanes use the providers "
                                                  "offered here, not a custom base URL.")
            choices.append(providers().pick(lane.form.provider.data, None,
                                            visitor_key(request)))
        except ProviderRefused as exc:
            lane.form.provider.errors = [*lane.form.provider.errors, exc.message]
            raise Refused from None
    # The operator's cost cap, on the sum of the lanes as they will be sent: before any
    # budget place is taken, so a refused comparison holds nothing and calls nobody.
    bodies = [form.lane_body(number) for number in range(len(choices))]
    checked = picker.check_lanes(
        [(choice.name, body) for choice, body in zip(choices, bodies, strict=True)])
    picker.gate_lanes(checked)
    releases = budget().admit_lanes(len(choices))
    runs = [Run(request=body, endpoint=choice.client.endpoint,
                provider=choice.name, demo=choice.client.demo, stream=True,
                variables=form.conversation.values, template=form.conversation.template)
            for choice, body in zip(choices, bodies, strict=True)]
    for run, lane_check in zip(runs, checked.checks, strict=True):
        picker.stamp(run, lane_check)  # each lane keeps the price it was estimated with
    owner = current_owner()
    try:
        comparison_id, run_ids = comparisons().create(owner, runs, prompt=form.summary(),
                                                      data=fields(form.source))
    except SQLAlchemyError:
        for release in releases:
            release()
        raise
    return Reservation(comparison_id, run_ids, runs, choices, releases, owner)


def hand_out(reservation: Reservation) -> list[str]:
    """Lane tokens for the page to stream with; each slot stays held until its lane ends."""
    store = current_store()
    client = client_address()
    tokens = comparisons(store).issue(reservation.comparison_id, reservation.run_ids,
                                      reservation.owner, client)
    with _held_lock:
        for number, release in enumerate(reservation.releases):
            HELD[(reservation.comparison_id, number)] = release
    slots = budget().slots
    deadline = float(current_app.config["UPSTREAM_DEADLINE"])
    timer = threading.Timer(TOKEN_SECONDS + 1, _expire, args=(
        store, slots, reservation.comparison_id, reservation.owner, deadline))
    timer.daemon = True
    timer.start()
    reservation.tokens = tokens
    return tokens


def _give_back(slots, comparison_id: str, lane: int, client: str | None) -> None:
    """Release a freed lane's slot: here if this process took it, else in shared storage."""
    with _held_lock:
        release = HELD.pop((comparison_id, lane), None)
    if release is not None:
        release()
    elif client and slots.shared:
        slots.release(client)


def _expire(store: Store, slots, comparison_id: str, owner: str, deadline: float,
            now: float | None = None) -> None:
    """Free the lanes whose token was never used, and end their runs: nothing was sent."""
    try:
        for lane, run_id, client in Comparisons(store).expire(comparison_id, now):
            _give_back(slots, comparison_id, lane, client)
            found = store.get(run_id, owner)
            if found is not None:
                run = found[1]
                run.state, run.total_ms = "stopped", 0.0
                run.notes.append("This lane was never sent: the page that made the comparison "
                                 "did not open its stream in time.")
                store.finish(run_id, run)
    except SQLAlchemyError:
        log.exception("could not expire the unused lanes of a comparison")
    # With in-memory budgets, a lane streamed by another worker process is not released
    # here when it ends; its slot is given back once no lane can still be running.
    later = threading.Timer(deadline, _drop_held, args=(comparison_id,))
    later.daemon = True
    later.start()


def _drop_held(comparison_id: str) -> None:
    with _held_lock:
        left = [key for key in HELD if key[0] == comparison_id]
        releases = [HELD.pop(key) for key in left]
    for release in releases:
        release()


# -- without JavaScript: every lane at once, up to the deadline ------------------------------
class _Lane:
    """One lane sent by a worker thread; the first of "done" and "cut" decides who saves it."""

    def __init__(self, store: Store, owner: str, run_id: str, run: Run, choice: Choice,
                 release: Callable[[], None]) -> None:
        self.store, self.owner, self.run_id, self.run = store, owner, run_id, run
        self.choice, self.release = choice, release
        self.app = current_app._get_current_object()  # for the audit, on the lane's thread
        self.lock = threading.Lock()
        self.done = self.cut = False
        self.parts: list[str] = []
        self.result: Run | None = None
        self.started = time.monotonic()

    def send(self) -> None:
        body = {k: v for k, v in self.run.request.items() if k not in ("stream", "stream_options")}
        call = self.choice.client.stream({**body, "stream_options": {"include_usage": True}},
                                         api_key=self.choice.api_key)
        self.stream = call
        live = LIVE.adopt(self.store, self.run_id, (self.choice.api_key or "",))
        try:
            for kind, text in call:
                if kind != "reasoning":
                    self.parts.append(text)
                    live.add(text)
                if self.cut or live.halted:
                    break
        except Exception:  # a worker must always end its lane, whatever went wrong
            log.exception("a comparison lane failed")
            call.run.error = call.run.error or UpstreamError("server", "The lane failed.")
            call.run.state = "error"
        finally:
            call.close()
            self.release()
            LIVE.end(live)
            _stamp(call.run, self.run)
            with self.app.app_context():
                _conclude(call.run)
            with self.lock:
                if not self.cut:
                    self.done, self.result = True, call.run
                    _save(self.store, self.run_id, call.run)

    def cut_now(self, seconds: float) -> Run:
        """Save the lane as cut by the deadline with its text so far (unless it just ended)."""
        with self.lock:
            if self.done:
                return self.result
            self.cut = True
            run = Run(request=self.run.request, endpoint=self.run.endpoint, demo=self.run.demo,
                      stream=True, state="cut", provider=self.run.provider,
                      comparison_id=self.run.comparison_id, lane=self.run.lane,
                      started_at=self.run.started_at, price=self.run.price,
                      estimate=self.run.estimate)
            text = "".join(self.parts)
            run.response = partial_response(text) if text else None
            stream = getattr(self, "stream", None)
            run.ttft_ms = stream.run.ttft_ms if stream else None
            run.total_ms = (time.monotonic() - self.started) * 1000
            run.notes.append(f"Cut at the comparison's {seconds:g} s limit: the page was "
                             "answered with the reply as far as it had got.")
            _save(self.store, self.run_id, _conclude(run))
            self.result = run
            return run


def _stamp(run: Run, lane: Run) -> None:
    run.provider, run.comparison_id, run.lane = lane.provider, lane.comparison_id, lane.lane
    run.started_at, run.price, run.estimate = lane.started_at, lane.price, lane.estimate


def _conclude(run: Run) -> Run:
    """The lane's audit, as a single run gets one; a failing catalogue never loses the lane."""
    try:
        return picker.conclude(run, run.provider)
    except Exception:
        log.exception("could not audit a comparison lane")
        return run


def _save(store: Store, run_id: str, run: Run) -> None:
    try:
        store.finish(run_id, run)
    except SQLAlchemyError:
        log.exception("could not save a comparison lane")


def run_all(reservation: Reservation) -> list[Run]:
    """Send every lane at once; at the deadline, answer with what arrived (the rest is cut)."""
    seconds = float(current_app.config["PLAYGROUND_COMPARE_DEADLINE"])
    store = current_store()
    lanes = [_Lane(store, reservation.owner, run_id, run, choice, release)
             for run_id, run, choice, release in zip(
                 reservation.run_ids, reservation.runs, reservation.choices,
                 reservation.releases, strict=True)]
    threads = [threading.Thread(target=lane.send, daemon=True, name=f"lane-{number}")
               for number, lane in enumerate(lanes)]
    end = time.monotonic() + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(end - time.monotonic(), 0))
    results = [lane.result if lane.done else lane.cut_now(seconds) for lane in lanes]
    for run, choice in zip(results, reservation.choices, strict=True):
        _log(run, choice)
    return results


def _log(run: Run, choice: Choice) -> None:
    secrets = tuple(k for k in (choice.api_key, providers().default.api_key) if k)
    runlog.record(run, provider=choice.name, client=client_hash(), status=200,
                  secrets=secrets, content=bool(current_app.config["PLAYGROUND_LOG_CONTENT"]))


# -- with JavaScript: one lane per /stream request, with its token ---------------------------
def stream_lane(token: str, render_lane: Callable[[str, Run], str]) -> Response:
    """Stream one reserved lane to the page; its place and slot were taken already."""
    store, owner = current_store(), current_owner()
    lane = comparisons(store).claim(token, owner)
    if lane is None:
        return jsonify(error="This lane cannot be streamed: its token was used, has expired "
                             "or belongs to someone else. Reload the comparison."), 403
    slots = budget().slots

    def free() -> None:
        try:
            client = Comparisons(store).free(lane.comparison_id, lane.lane)
        except SQLAlchemyError:
            log.exception("could not free a lane's slot")
            client = None
        if client is not None:
            _give_back(slots, lane.comparison_id, lane.lane, client)

    found = store.get(lane.run_id, owner)
    if found is None:
        free()
        return jsonify(error="This lane's run is gone."), 404
    saved = found[1]
    try:
        choice = providers().pick(saved.provider, None, visitor_key(request))
    except ProviderRefused as exc:
        free()
        saved.state, saved.error = "error", UpstreamError("bad_request", exc.message)
        _save(store, lane.run_id, saved)
        return jsonify(error=exc.message), 400
    body = {k: v for k, v in saved.request.items() if k not in ("stream", "stream_options")}
    call = choice.client.stream({**body, "stream_options": {"include_usage": True}},
                                api_key=choice.api_key)
    _stamp(call.run, saved)
    live = LIVE.adopt(store, lane.run_id, (choice.api_key or "",))

    ended = threading.Event()

    def end() -> None:
        """Close the call, free the slot and save the lane: once, however the request ends."""
        if ended.is_set():
            return
        ended.set()
        call.close()
        free()
        LIVE.end(live)
        if live.halted and call.run.state == "stopped":
            call.run.state = "shutdown"  # stopped by the server, not by the visitor
        _log(call.run, choice)
        _save(store, lane.run_id, _conclude(call.run))

    def generate():
        yield event("start", {"model": call.run.request.get("model"), "lane": lane.lane})
        try:
            for kind, text in call:
                yield event(kind, text)
                if kind != "reasoning":
                    live.add(text)
                if live.halted:
                    break
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit | Exception):
                call.run.state = "shutdown"  # the server killed this request (GreenletExit)
            raise
        finally:
            end()
        yield event("result", {"html": render_lane(lane.run_id, call.run),
                                "state": call.run.state, "lane": lane.lane})

    response = Response(stream_with_context(generate()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(end)  # also when the body was never iterated
    return response

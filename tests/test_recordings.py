"""Integration: the flight recorder through the app: arrival times kept, the timeline panel,
its SVG and JSON downloads and the replay data, for the owner and for a share link."""

from __future__ import annotations

import json

import sqlalchemy as sa

from playground.store import runs
from tests.helpers import Page, csrf_token, opened, stream, submit
from tests.test_stream import Page_from


def streamed(client, model: str = "fake/markdown") -> tuple[str, list]:
    _response, events = stream(client, model=model)
    got = list(events)
    return got[-1][1]["url"], got


def saved(app, run_id: str) -> dict:
    with app.extensions["runs"].engine.begin() as conn:
        return json.loads(conn.execute(sa.select(runs.c.data).where(runs.c.id == run_id))
                          .scalar_one())


def test_a_stream_keeps_one_arrival_time_per_event(app, client, upstream):
    url, _ = streamed(client)
    data = saved(app, url.rsplit("/", 1)[1])
    times = data["event_times"]
    assert len(times) == len(data["events"]) > 5
    assert times == sorted(times) and times[0] > 0
    assert times[-1] <= data["total_ms"]
    assert 0 < data["headers_ms"] <= times[0]


def test_a_plain_run_keeps_when_its_headers_arrived(app, client, upstream):
    page = submit(client, model="fake/ok")
    run_id = page.response.request.path.rsplit("/", 1)[1]
    data = saved(app, run_id)
    assert data["event_times"] == [] and 0 < data["headers_ms"] <= data["total_ms"]
    panel = page.soup.select_one(".timeline-panel")
    assert "not streamed" in panel.summary.get_text()
    labels = [t.get_text() for t in panel.select("svg rect title")]
    assert labels == ["Waiting for the response headers", "Receiving the body"]  # one bar
    assert page.soup.select_one(".replay-bar") is None  # nothing streamed to replay


def test_run_page_shows_the_timeline_with_its_summary_and_downloads(client, upstream):
    url, _ = streamed(client)
    page = Page(client.get(url))
    panel = page.soup.select_one("details.timeline-panel")
    svg = panel.select_one("svg.timeline[role=img]")
    assert svg.select_one("title").get_text() == "Timeline of the stream"
    summary = page.text(".timeline-summary")
    assert "chunks carrying" in summary and "First byte after" in summary
    assert svg.select_one("desc").get_text() == summary  # the same facts for screen readers
    links = {a.get_text(): a["href"] for a in panel.select(".downloads a")}
    svg_file = client.get(links["Download the timeline (SVG)"])
    assert svg_file.mimetype == "image/svg+xml" and b"<script" not in svg_file.data
    assert svg_file.headers["Content-Disposition"].startswith("attachment")
    assert svg_file.data.startswith(b"<svg") and b"<style>" in svg_file.data  # stands alone
    timeline = client.get(links["Download its data (JSON)"]).get_json()
    assert timeline["timed"] and timeline["stream"] and timeline["chunks"] > 5


def test_replay_data_plays_the_reply_and_calls_nobody(client, upstream):
    url, events = streamed(client)
    calls = len(upstream.received)
    page = Page(client.get(url))
    bar = page.soup.select_one(".replay-bar[data-js-only][hidden]")  # needs JavaScript
    assert bar["data-replay-url"] == url + "/replay.json"
    data = client.get(bar["data-replay-url"]).get_json()
    assert len(upstream.received) == calls  # stored data only: the provider is not called
    pieces, html = [], ""
    for frame in data["frames"]:
        if "keep" in frame:
            pieces = pieces[:frame["keep"]] + frame["add"]
            html = "".join(pieces) + frame["tail"]
    assert html.strip() == str(page.soup.select_one(".reply").decode_contents()).strip()
    text = "".join(d for name, d in events if name == "content")
    assert data["frames"][-1]["chars"] == len(text)


def test_a_share_link_has_its_own_timeline_and_replay(client, upstream, app):
    url, _ = streamed(client)
    run_id = url.rsplit("/", 1)[1]
    client.post(f"/runs/{run_id}/share", data={"csrf_token": csrf_token(client)})
    token = app.extensions["runs"].get(run_id, _owner_of(app, run_id))[0].share_token
    stranger = app.test_client()
    page = Page(stranger.get(f"/s/{token}"))
    bar = page.soup.select_one(".replay-bar")
    assert bar["data-replay-url"] == f"/s/{token}/replay.json"
    assert stranger.get(bar["data-replay-url"]).get_json()["timed"] is True
    links = [a["href"] for a in page.soup.select(".timeline-panel .downloads a")]
    assert links == [f"/s/{token}/timeline.svg", f"/s/{token}/timeline.json"]
    assert all(stranger.get(link).status_code == 200 for link in links)
    assert run_id not in page.html  # the owner's run id is not given away
    for path in ("timeline.svg", "timeline.json", "replay.json"):  # the owner's routes: theirs
        assert stranger.get(f"/runs/{run_id}/{path}").status_code == 404
        assert stranger.get(f"/s/not-a-token/{path}").status_code == 404


def _owner_of(app, run_id: str) -> str:
    with app.extensions["runs"].engine.begin() as conn:
        return conn.execute(sa.select(runs.c.owner).where(runs.c.id == run_id)).scalar_one()


def test_a_run_saved_before_the_recorder_loads_with_no_timing_recorded(app, client, upstream):
    url, _ = streamed(client)
    run_id = url.rsplit("/", 1)[1]
    data = saved(app, run_id)
    del data["event_times"], data["headers_ms"]  # the shape of a row from before this change
    with app.extensions["runs"].engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(data=json.dumps(data)))
    page = Page(client.get(url))
    assert page.status == 200 and page.soup.select_one(".reply h1")
    assert "no timing recorded" in page.text(".timeline-panel summary")
    assert "No timing recorded" in page.text(".timeline-panel svg")
    assert page.soup.select_one(".replay-bar") is None
    assert client.get(url + "/replay.json").get_json() == {"timed": False, "duration_ms": None,
                                                           "frames": []}
    assert client.get(url + "/timeline.json").get_json()["timed"] is False


def test_the_streamed_result_carries_the_timeline_loaded_when_opened(client, upstream):
    url, events = streamed(client)
    result = Page_from(events[-1][1]["html"])
    assert result.soup.select_one(".replay-bar[data-replay-url]")
    summary = result.text(".timeline-panel > summary")
    assert summary == Page(client.get(url)).text(".timeline-panel > summary")
    assert "chunks" in summary and "first content" in summary
    assert result.soup.select_one(".timeline-panel svg") is None  # drawn when opened
    assert opened(client, result, "timeline").soup.select_one(".timeline-panel svg.timeline")

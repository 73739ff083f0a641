"""Unit: the flight recorder's phases, gaps, numbers, SVG and summary, from hostile data too."""

from __future__ import annotations

import json
import math

import pytest
from bs4 import BeautifulSoup

from playground import timeline
from playground.run import Run
from playground.timeline_svg import FONT, MAX_DRAWN


def chunk(**delta) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": delta}]})


def usage(tokens: int, **delta) -> str:
    choices = [{"index": 0, "delta": delta}] if delta else []
    return json.dumps({"choices": choices, "usage": {"completion_tokens": tokens}})


ROLE, DONE = chunk(role="assistant"), "[DONE]"
THINK, SAY = chunk(reasoning_content="hmm "), chunk(content="Hello")
CALL = chunk(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": '{"a": 1}'}}])
REASONING_FIELD = chunk(reasoning="other providers' field")


def build(events, times, **extra) -> timeline.Timeline:
    return timeline.build(events, times, **{"total_ms": 2000, "status": 200, **extra})


def phases(t) -> list[tuple[str, float, float]]:
    return [(p.kind, p.start_ms, p.end_ms) for p in t.phases]


PHASE_CASES = {
    "reasoning, content, usage": (
        [ROLE, THINK, THINK, SAY, SAY, usage(5), DONE], [100, 110, 200, 300, 350, 360, 361],
        [("waiting", 0, 100), ("other", 100, 110), ("reasoning", 110, 300),
         ("content", 300, 360), ("usage", 360, 361)]),
    "content then tool-call arguments": (
        [SAY, CALL, CALL, DONE], [50, 60, 70, 80],
        [("waiting", 0, 50), ("content", 50, 60), ("tool_calls", 60, 80)]),
    "the reasoning field counts as reasoning": (
        [REASONING_FIELD, SAY], [10, 20],
        [("waiting", 0, 10), ("reasoning", 10, 20), ("content", 20, 20)]),
    "content and reasoning interleaved": (
        [THINK, SAY, THINK, SAY], [10, 20, 30, 40],
        [("waiting", 0, 10), ("reasoning", 10, 20), ("content", 20, 30),
         ("reasoning", 30, 40), ("content", 40, 40)]),
    "an error event": (
        [SAY, "event: error\n{\"error\": {\"message\": \"boom\"}}"], [10, 30],
        [("waiting", 0, 10), ("content", 10, 30), ("error", 30, 30)]),
}


@pytest.mark.parametrize(("events", "times", "want"), PHASE_CASES.values(),
                         ids=PHASE_CASES.keys())
def test_phases_follow_what_each_chunk_carried(events, times, want):
    assert phases(build(events, times)) == want


def test_numbers_of_a_stream():
    t = build([ROLE, THINK, SAY, SAY, usage(7), DONE], [400, 410, 900, 1000, 1500, 1501])
    assert (t.first_byte_ms, t.first_reasoning_ms, t.first_content_ms) == (400, 410, 900)
    assert t.first_tool_ms is None
    assert t.chunks == 5 and t.chars == len("hmm Hello") + len("Hello")
    assert t.tokens == 7
    assert t.chunks_per_s == pytest.approx(5 / 1.101)  # 5 intervals in 1,101 ms
    assert t.longest_gap.ms == 500 and [g.ms for g in t.stalls] == []
    words = timeline.summary(t)
    for said in ("First byte after 400 ms", "first reasoning token at 410 ms",
                 "first content token at 900 ms", "4.5 chunks per second",
                 "Longest gap between chunks 500 ms; no stall over 500 ms", "Total time 2.00 s"):
        assert said in words


STALL_CASES = {
    "no stall at exactly 500 ms": ([0, 500, 1000], 0, 500),
    "one stall": ([0, 100, 700, 750], 1, 600),
    "two stalls, the longest counted": ([0, 501, 600, 2600], 2, 2000),
}


@pytest.mark.parametrize(("times", "stalls", "longest"), STALL_CASES.values(),
                         ids=STALL_CASES.keys())
def test_gaps_over_500_ms_are_stalls(times, stalls, longest):
    t = build([SAY] * len(times), times, total_ms=3000)
    assert len(t.stalls) == stalls and t.longest_gap.ms == longest
    soup = svg_soup(t)
    assert len(soup.find_all("rect", class_="tl-stall")) == stalls + (stalls > 0)  # + legend


def test_points_count_characters_and_chunks_over_time():
    t = build([SAY, THINK, DONE], [10, 20, 30])
    assert [(p.ms, p.chars, p.chunks) for p in t.points] == [(10, 5, 1), (20, 9, 2), (30, 9, 2)]


def test_tokens_are_drawn_only_where_the_provider_reported_them():
    only_at_end = build([SAY, SAY, usage(9)], [10, 20, 30])
    per_chunk = build([usage(1, content="a"), usage(2, content="b"), usage(3, content="c")],
                      [10, 20, 30])
    assert [p.tokens for p in only_at_end.points] == [None, None, 9]
    assert svg_soup(only_at_end).find("polyline", class_="tl-tokens") is None
    assert svg_soup(per_chunk).find("polyline", class_="tl-tokens") is not None


NO_TIMING = {
    "an old run: no times at all": None,
    "an empty list": [],
    "nothing usable": [float("nan"), -1, "soon"],
}


@pytest.mark.parametrize("times", NO_TIMING.values(), ids=NO_TIMING.keys())
def test_runs_without_arrival_times_say_no_timing_was_recorded(times):
    t = build([ROLE, SAY, DONE], times, ttft_ms=300, total_ms=900)
    assert not t.timed and t.phases == () and t.points == () and t.first_byte_ms is None
    words = timeline.summary(t)
    assert "No timing recorded" in words and "Total time 900 ms" in words
    assert "first byte" not in words.lower()
    assert svg_soup(t).find("text").text == "No timing recorded"
    assert json.loads(t.to_json())["timed"] is False


def test_an_old_run_object_without_event_times_loads():
    run = Run(request={"model": "m"}, endpoint="x", stream=True, events=[SAY, DONE],
              total_ms=100.0, ttft_ms=50.0)
    assert not timeline.of_run(run).timed
    run.event_times = [40.0, 60.0]  # what the recorder will add to Run
    assert timeline.of_run(run).first_content_ms == 40.0


SINGLE_BAR = {
    "headers then body": (
        {"headers_ms": 300.0}, [("headers", 0, 300), ("body", 300, 1200)], None),
    "headers not timed": (
        {}, [("response", 0, 1200)], "The response headers' arrival was not timed."),
    "headers after the total are not believed": (
        {"headers_ms": 5000.0}, [("response", 0, 1200)], "not timed"),
}


@pytest.mark.parametrize(("extra", "want", "note"), SINGLE_BAR.values(), ids=SINGLE_BAR.keys())
def test_a_non_streamed_run_is_a_single_bar(extra, want, note):
    t = timeline.build([], None, stream=False, total_ms=1200, status=200, **extra)
    assert t.timed and phases(t) == want and t.points == ()
    assert timeline.summary(t).startswith("Not streamed.")
    assert note is None or any(note in n for n in t.notes)
    soup = svg_soup(t)
    assert soup.find("polyline") is None
    assert len(soup.select("rect.tl-phase")) == len(want)


AXES = {  # total time of a non-streamed run -> the axis as read under the timeline
    "a local run of 1.2 ms": (1.2, ["0.0 ms", "0.5 ms", "1.0 ms"]),
    "4 ms": (4, ["0 ms", "1 ms", "2 ms", "3 ms", "4 ms"]),
    "0.4 ms, shown up to the axis' 1 ms floor": (
        0.4, ["0.0 ms", "0.2 ms", "0.4 ms", "0.6 ms", "0.8 ms", "1.0 ms"]),
    "30 ms": (30, ["0 ms", "10 ms", "20 ms", "30 ms"]),
    "1.2 s": (1200, ["0 ms", "500 ms", "1 s"]),
    "a minute": (61_000, ["0 ms", "20 s", "40 s", "60 s"]),
}


@pytest.mark.parametrize(("total", "ticks"), AXES.values(), ids=AXES.keys())
def test_the_time_axis_reads_distinct_ticks_at_any_scale(total, ticks):
    t = timeline.build([], None, stream=False, total_ms=total, status=200)
    texts = svg_soup(t).select("text.tl-label")
    assert [text.get_text() for text in texts[:len(ticks)]] == ticks
    legend = texts[len(ticks):]  # the legend's labels follow the axis, a full line below it
    assert legend and float(legend[0]["y"]) - FONT >= float(texts[0]["y"]) + 4


@pytest.mark.parametrize(("ms", "said"), [(None, "n/a"), (0.35, "0.3 ms"), (1.24, "1.2 ms"),
                                          (9.94, "9.9 ms"), (9.96, "10 ms"), (412.4, "412 ms"),
                                          (2310, "2.31 s")])
def test_durations_keep_a_decimal_below_ten_milliseconds(ms, said):
    assert timeline.duration(ms) == said


def test_a_failed_request_says_its_status():
    t = timeline.build([], None, stream=True, total_ms=80, status=429)
    assert "HTTP 429" in timeline.summary(t) and phases(t) == [("response", 0, 80)]


BAD_TIMES = {
    "NaN": ([10, float("nan"), 30], [10, None, 30], "not a usable number"),
    "infinity": ([10, float("inf"), 30], [10, None, 30], "not a usable number"),
    "negative": ([-5, 20, 30], [None, 20, 30], "not a usable number"),
    "a bool": ([10, True, 30], [10, None, 30], "not a usable number"),
    "a string": ([10, "20", 30], [10, None, 30], "not a usable number"),
    "going backwards": ([10, 40, 20, 50], [10, 40, None, 50], "went backwards"),
    "too few": ([10], [10, None, None], "1 arrival times for 3 events"),
    "too many": ([10, 20, 30, 40], [10, 20, 30], "4 arrival times for 3 events"),
}


@pytest.mark.parametrize(("times", "drawn", "note"), BAD_TIMES.values(), ids=BAD_TIMES.keys())
def test_unusable_times_are_dropped_and_said_so_never_invented(times, drawn, note):
    events = [SAY] * len(drawn)
    t = build(events, times)
    assert [p.ms for p in t.points] == [ms for ms in drawn if ms is not None]
    assert any(note in n for n in t.notes), t.notes
    assert note in timeline.summary(t)
    data = json.loads(t.to_json())  # allow_nan=False: a NaN would raise here
    assert all(math.isfinite(ms) for ms, *_ in data["points"])


HOSTILE_EVENTS = {
    "not JSON": ["{not json", "<b>", ""],
    "JSON but not an object": ["[1, 2]", "null", "42"],
    "wrong shapes": [json.dumps({"choices": "x"}), json.dumps({"choices": [None, 5]}),
                     json.dumps({"choices": [{"delta": {"content": 5, "tool_calls": "x"}}]}),
                     json.dumps({"usage": {"completion_tokens": -3}})],
    "markup in the text": [chunk(content="</svg><script>alert(1)</script>"),
                           chunk(tool_calls=[{"function": {"name": "</title><script>",
                                                           "arguments": "<img onerror=x>"}}]),
                           "event: </desc><script>alert(1)</script>\n{}"],
    "huge": [chunk(content="x" * (timeline.EVENT_PARSE_LIMIT + 1))],
    "not strings": [None, 5, {"choices": []}],
}


@pytest.mark.parametrize("events", HOSTILE_EVENTS.values(), ids=HOSTILE_EVENTS.keys())
def test_hostile_events_never_break_the_timeline(events):
    t = build(events, [10 * (i + 1) for i in range(len(events))])
    assert t.timed and t.chunks == len(events)
    assert_safe_svg(str(timeline.svg(t, "lane-1")))
    assert_safe_svg(str(timeline.svg(t, "lane-1", standalone=True)), standalone=True)
    json.loads(t.to_json())


def test_what_could_not_be_read_is_counted_in_the_notes():
    t = build(["{bad", "[1]", chunk(content="x" * (timeline.EVENT_PARSE_LIMIT + 1))],
              [1, 2, 3])
    assert "2 events were not a JSON chunk." in t.notes
    assert any("over 1,000,000 characters and not read" in n for n in t.notes)


def svg_soup(t, prefix: str = "tl") -> BeautifulSoup:
    return BeautifulSoup(str(timeline.svg(t, prefix)), "html.parser")


def assert_safe_svg(svg: str, standalone: bool = False) -> None:
    soup = BeautifulSoup(svg, "html.parser")
    names = {tag.name for tag in soup.find_all(True)}
    allowed = {"svg", "title", "desc", "rect", "line", "polyline", "text"}
    assert names <= allowed | ({"style"} if standalone else set()), names
    for tag in soup.find_all(True):
        assert not any(a.lower().startswith("on") or a in {"style", "href"} for a in tag.attrs)
    assert len(soup.find_all("svg")) == 1


def test_the_svg_is_labelled_sized_by_its_viewbox_and_themed_by_classes():
    t = build([ROLE, THINK, SAY, usage(3), DONE], [100, 200, 900, 950, 951])
    soup = svg_soup(t, 'lane"2<x>')
    svg = soup.find("svg")
    assert svg["role"] == "img" and svg["viewbox"].startswith("0 0 360 ")
    assert "width" not in svg.attrs and "height" not in svg.attrs
    title, desc = soup.find("title"), soup.find("desc")
    assert svg["aria-labelledby"] == title["id"] == "lane2x-title"
    assert svg["aria-describedby"] == desc["id"] and desc.text == timeline.summary(t)
    kinds = [r["class"][1] for r in soup.select("rect.tl-phase")]
    assert kinds == ["tl-waiting", "tl-other", "tl-reasoning", "tl-content", "tl-usage"]
    assert soup.find("polyline", class_="tl-chars") and soup.find("polyline", class_="tl-chunks")
    assert not any(t.has_attr("style") for t in soup.find_all(True))
    legend = [t.text for t in soup.find_all("text")]
    assert "Reasoning" in legend and "Characters (up to 9)" in legend


def test_a_standalone_download_carries_its_own_colours():
    t = build([SAY, SAY], [10, 20])
    svg = str(timeline.svg(t, standalone=True))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "<style>" in svg
    assert "<style>" not in str(timeline.svg(t))  # the page's CSP allows no inline style


def test_a_huge_stream_draws_a_bounded_svg():
    events = [THINK if i % 2 else SAY for i in range(20_000)]  # switches phase every chunk
    t = build(events, [i * 1.5 for i in range(20_000)], total_ms=30_001)
    soup = svg_soup(t)
    assert len(soup.select("rect.tl-phase")) <= MAX_DRAWN
    for line in soup.find_all("polyline"):
        assert len(line["points"].split()) <= MAX_DRAWN + 1
    assert len(str(timeline.svg(t))) < 150_000
    data = json.loads(t.to_json())
    assert data["truncated"] and len(data["phases"]) == timeline.JSON_LIMIT


def test_too_many_phases_show_which_one_dominates_each_stretch():
    # 3 reasoning chunks to 1 content chunk for the first half, then the other way round.
    events = [(THINK if i % 4 else SAY) if i < 8_000 else (SAY if i % 4 else THINK)
              for i in range(16_000)]
    t = build(events, [float(i) for i in range(16_000)], total_ms=16_000)
    assert len(t.phases) > MAX_DRAWN
    bands = [(float(r["x"]), float(r["width"]), r["class"][1])
             for r in svg_soup(t).select("rect.tl-phase")]
    assert [kind for *_, kind in bands] == ["tl-reasoning", "tl-content"]
    (left, width, _), (middle, rest, _) = bands
    assert left == 6 and middle == pytest.approx(180, abs=1) and middle + rest == 354


def test_the_json_form_has_the_numbers_and_the_phases_with_labels():
    data = json.loads(build([THINK, SAY], [10, 20]).to_json())
    assert data["first_reasoning_ms"] == 10 and data["first_content_ms"] == 20
    assert data["phases"][0] == {"kind": "waiting", "start_ms": 0.0, "end_ms": 10.0,
                                 "chunks": 0, "chars": 0, "label": "Waiting for the first byte"}
    assert data["point_fields"] == ["ms", "chars", "chunks", "tokens"]
    assert data["points"] == [[10, 4, 1, None], [20, 9, 2, None]]
    assert data["end_ms"] == 2000 and data["truncated"] is False

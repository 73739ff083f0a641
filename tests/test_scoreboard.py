"""Unit: the metrics row marks the best lane per metric, never a missing value, never tokens."""

from __future__ import annotations

import pytest

from playground.run import Run
from playground.scoreboard import metrics, reply_text, total_cost


def lane(ttft=None, total=None, prompt=None, completion=None, cost=None, reason="stop",
         text="hi", reasoning=None) -> Run:
    usage = {k: v for k, v in {"prompt_tokens": prompt, "completion_tokens": completion,
                               "cost": cost}.items() if v is not None}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return Run(request={"model": "m"}, endpoint="x", stream=True, ttft_ms=ttft, total_ms=total,
               response={"choices": [{"index": 0, "finish_reason": reason,
                                      "message": {"role": "assistant", "content": text}}],
                         "usage": usage or None})


def _stopped(run: Run) -> Run:
    run.state = "stopped"
    return run


def row(rows, label):
    return next(r for r in rows if r.label == label)


def best(rows, label) -> list[bool]:
    return [cell.best for cell in row(rows, label).cells]


CASES = {
    "lowest first token and total, highest speed": (
        [lane(100, 1100, 5, 100), lane(50, 2050, 5, 100), lane(80, 580, 5, 100)],
        {"Time to first token": [False, True, False], "Total time": [False, False, True],
         "Tokens per second": [False, False, True]}),
    "a tie marks both": (
        [lane(50, 500), lane(50, 900)], {"Time to first token": [True, True]}),
    "a lane that did not complete never wins": (
        [_stopped(lane(10, 100)), lane(70, 900), lane(90, 800)],
        {"Time to first token": [False, True, False], "Total time": [False, False, True]}),
    "n/a never wins": (
        [lane(None, None), lane(70, 900)],
        {"Time to first token": [False, False], "Total time": [False, False]}),
    "lowest cost": (
        [lane(cost=0.002), lane(cost=0.001), lane()], {"Cost": [False, True, False]}),
    "token counts are not ranked": (
        [lane(1, 2, 10, 20, reasoning=3), lane(1, 2, 99, 5, reasoning=9)],
        {"Prompt tokens": [False, False], "Completion tokens": [False, False],
         "Reasoning tokens": [False, False], "Finish reason": [False, False]}),
}


@pytest.mark.parametrize("runs, expected", CASES.values(), ids=CASES.keys())
def test_the_best_value_is_marked(runs, expected):
    rows = metrics(runs)
    for label, marks in expected.items():
        assert best(rows, label) == marks


def test_cells_say_n_a_for_what_was_not_reported_and_show_the_rest():
    rows = metrics([lane(120.4, 1234.5, 7, 40, 0.0015, "length", reasoning=12), lane()])
    assert [c.text for c in row(rows, "Time to first token").cells] == ["120 ms", "n/a"]
    assert [c.text for c in row(rows, "Total time").cells] == ["1,234 ms", "n/a"]
    assert row(rows, "Reasoning tokens").cells[0].text == "12"
    assert row(rows, "Finish reason").cells[0].text == "length"
    assert row(rows, "Cost").cells[0].text == "$0.001500"
    assert row(rows, "Time to first token").ranked == "lowest"
    assert row(rows, "Tokens per second").ranked == "highest"
    assert row(rows, "Prompt tokens").ranked is None


def test_total_cost_adds_what_was_reported():
    assert total_cost([lane(cost=0.25), lane(cost=0.5), lane()]) == 0.75
    assert total_cost([lane(), lane()]) is None


@pytest.mark.parametrize("response, text", [
    ({"choices": [{"message": {"content": "plain"}}]}, "plain"),
    ({"choices": [{"message": {"content": [{"type": "text", "text": "a"},
                                           {"type": "text", "text": "b"}]}}]}, "ab"),
    ({"choices": []}, ""), (None, ""), ({"choices": ["junk"]}, ""),
])
def test_reply_text_reads_any_shape(response, text):
    run = Run(request={}, endpoint="x", response=response)
    assert reply_text(run) == text

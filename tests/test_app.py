"""Integration: the app against the fake upstream over real sockets."""

from __future__ import annotations


def test_success_shows_reply_json_and_usage(run_form, upstream):
    page = run_form(model="fake/ok", prompt="Hello")
    assert page.status == 200
    assert "Hello! How can I help you today?" in page.text(".reply")
    assert '"gen-1744545600-ExampleId123"' in page.text(".jt")
    stats = page.text(".usage")
    assert "Prompt tokens 5" in stats and "Completion tokens 12" in stats
    assert "Total tokens 17" in stats
    assert page.value("prompt") == "Hello"

"""One structured log line per run: what operators need, never content or keys by default."""

from __future__ import annotations

import json
import logging

from tests.helpers import SENTINEL_KEY, csrf_token, submit


def run_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "playground.runs"]


def test_one_json_line_per_run_without_content(client, upstream, caplog):
    caplog.set_level(logging.INFO, logger="playground.runs")
    submit(client, model="fake/ok", prompt="my private prompt")
    (line,) = run_lines(caplog)
    assert line["model"] == "fake/ok" and line["provider"] == "default"
    assert line["status"] == 200 and line["state"] == "complete"
    assert line["total_tokens"] == 17 and isinstance(line["latency_ms"], int)
    assert len(line["client"]) == 12 and "127.0.0.1" not in json.dumps(line)
    assert "time" in line and "my private prompt" not in caplog.text
    assert "Hello! How can I help" not in caplog.text


def test_a_stream_logs_one_line_too(client, upstream, caplog):
    caplog.set_level(logging.INFO, logger="playground.runs")
    client.post("/stream", data={"csrf_token": csrf_token(client), "model": "fake/401",
                                 "prompt": "x"}).get_data()
    (line,) = run_lines(caplog)
    assert line["stream"] is True and line["error"] == "auth" and line["upstream_status"] == 401


def test_refused_forms_are_not_runs(client, upstream, caplog):
    caplog.set_level(logging.INFO, logger="playground.runs")
    submit(client, temperature="nan")
    assert run_lines(caplog) == []


def test_content_is_logged_only_when_the_operator_asks(upstream, make_app, caplog):
    caplog.set_level(logging.INFO, logger="playground.runs")
    app = make_app(PLAYGROUND_LOG_CONTENT=True)
    submit(app.test_client(), model="fake/echo-key", prompt="my prompt")
    (line,) = run_lines(caplog)
    assert line["messages"][0]["content"] == "my prompt"
    assert line["reply"] == ["your key is [redacted]"] and SENTINEL_KEY not in caplog.text

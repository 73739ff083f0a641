"""One structured log line per run, from one place.

Time, model, provider, outcome, latency, tokens and a keyed hash of the client address. The
prompt and the reply are left out unless the operator sets ``PLAYGROUND_LOG_CONTENT``; keys
never appear (the line is scrubbed of every key the run could have used, as a last guard).
"""

from __future__ import annotations

import json
import logging
import time

from playground.errors import scrub
from playground.run import Run

log = logging.getLogger("playground.runs")


def record(run: Run, *, provider: str, client: str, status: int, secrets: tuple[str, ...],
           content: bool = False) -> dict:
    """Log the run as one JSON line and return the fields logged."""
    usage = run.usage
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started_at)),
        "model": run.request.get("model"),
        "provider": provider,
        "stream": run.stream,
        "state": run.state,
        "status": status,
        "upstream_status": run.status,
        "error": run.error.kind if run.error else None,
        "latency_ms": round(run.total_ms) if run.total_ms is not None else None,
        "ttft_ms": round(run.ttft_ms) if run.ttft_ms is not None else None,
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.total,
        "client": client,
    }
    if content:
        entry["messages"] = run.request.get("messages")
        response = run.response if isinstance(run.response, dict) else {}
        entry["reply"] = [(c.get("message") or {}).get("content")
                          for c in response.get("choices") or [] if isinstance(c, dict)]
    line = scrub(json.dumps(entry, ensure_ascii=False, default=str), secrets)
    log.info(line)
    return entry

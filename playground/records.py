"""A stored run as people read it: its prompt and reply columns, its export record.

Pure: these read a ``Run`` (or its row) and never touch the database, so the store, the
history and the exports agree on what "the prompt" of a conversation is.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import orjson

from playground import images
from playground.run import Run


def prompt_of(request: dict) -> str:
    """The last user turn's text (its text parts; "(image)" when it has only images)."""
    messages = request.get("messages") if isinstance(request, dict) else None
    users = [m.get("content") for m in messages if isinstance(m, dict)
             and m.get("role") == "user"] if isinstance(messages, list) else []
    if not users:
        return ""
    last = users[-1]
    if isinstance(last, list):
        texts = [p["text"] for p in last if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(texts) or ("(image)" if last else "")
    return last if isinstance(last, str) else ""


def turns_of(request) -> str:
    """The text of every turn of a request's conversation, one turn per paragraph.

    A turn's content is a string, or a list of parts of which only the text parts count: an
    image part (a data: URL or a stored reference) is never text. Search finds this besides
    the reply; the ``prompt`` column keeps only the last user turn.
    """
    messages = request.get("messages") if isinstance(request, dict) else None
    texts = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(part["text"] for part in content if isinstance(part, dict)
                         and part.get("type") == "text" and isinstance(part.get("text"), str))
    return "\n\n".join(text for text in texts if text)


def reply_of(response) -> str:
    """The text of every choice (or its refusal), for the list and for search."""
    choices = response.get("choices") if isinstance(response, dict) else None
    parts = []
    for choice in choices if isinstance(choices, list) else []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            text = message.get("content") or message.get("refusal")
            if isinstance(text, str):
                parts.append(text)
    return "\n\n".join(parts)


# A run saved since the audit and the cost source exist has this key (``Run.to_dict`` writes
# every field): only its export carries them, so a run kept before exports as it always did.
AUDITED = "audit"


def stored(text: str):
    """A run's stored JSON, read by orjson (a third of the standard library's time); what
    orjson refuses, the NaN or Infinity older releases kept or a lone surrogate, by the
    standard library. An integer past 64 bits reads as a float there: the export's only
    approximation, of a number no provider sends in earnest."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def export_record(row, inflate=None) -> dict:
    """One run as an evaluation test case: request, response, usage, metrics, audit.

    ``inflate(messages)`` makes stored image references data: URLs again: exports carry the
    images themselves (a reference whose image is gone stays a reference). The metrics say
    whether the cost was billed or estimated (``cost_source``); ``audit`` is what was asked
    next to what came back (audit.Line dicts, or null when the run ended before any).
    """
    data = stored(row.data)
    run = Run.from_dict(data)
    usage = run.usage
    # Only a run whose messages refer to stored images has any to inflate (most have none).
    if inflate is not None and isinstance(run.request, dict) and images.REF_PREFIX in row.data:
        try:
            run.request = {**run.request, "messages": inflate(run.request.get("messages"))}
            run.template = inflate(run.template) if run.template else run.template
        except images.ImageMissing:
            pass
    metrics = {"latency_ms": run.total_ms, "ttft_ms": run.ttft_ms,
               "tokens_per_s": run.rate(usage), "cost_usd": usage.cost_usd}
    if AUDITED in data:  # saved since runs carry their audit: older exports read the same
        metrics["cost_source"] = usage.cost_source  # "billed", "estimated" or None
    metrics.update(status=run.status, attempts=run.attempts, stream=run.stream)
    record = {
        "id": row.id,
        "created_at": datetime.fromtimestamp(row.created_at, UTC).isoformat(),
        "model": row.model,
        "state": row.state,
        "request": run.request,
        "response": run.response,
        "output": row.reply,
        "error": run.error.to_dict() if run.error else None,
        "usage": usage.to_dict(),
        "metrics": metrics,
        "headers": run.headers,
        "events": run.events or None,
    }
    if run.parent_id:  # a conversation continued: only then, so older exports read the same
        record["parent_id"] = run.parent_id
    if run.variables:
        record.update(variables=run.variables, template=run.template)
    if AUDITED in data:
        record["audit"] = run.audit
    return record


# The fallback for what orjson will not write: an integer past 64 bits, text with a lone
# surrogate. ASCII, so any such text is escaped as JSON allows; compact, like orjson.
_LINE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _finite(value):
    """``value`` with every NaN or infinity made None, as orjson writes them (null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def json_line(record: dict) -> bytes:
    """A record as one line of JSON Lines: compact UTF-8 JSON and its newline (orjson: a
    tenth of the standard library's time on these records; NaN and infinities become null)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return _LINE(_finite(record)).encode() + b"\n"


def partial_response(text: str) -> dict:
    """The reply so far in the shape of a response, as the stream assembler would build it."""
    return {"id": None, "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": None}],
        "usage": None}

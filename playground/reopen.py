"""A saved run as the form's posted fields: for Continue, "Open in playground" and its page.

``form_data`` is the inverse of ``ConversationForm.to_body``: the turns (the template, when the
run used variables, and their values), every parameter, tools and tool_choice, the provider.
"""

from __future__ import annotations

import json

from werkzeug.datastructures import MultiDict

from playground.conversation import (
    empty_turn,
    tool_choice_field,
    tool_names,
    turns_from_messages,
)
from playground.editor import write_turns
from playground.forms import RESERVED_EXTRA, ConversationForm
from playground.run import Run


def with_instructions(turns: list[dict]) -> list[dict]:
    """The turns with the (empty, unsent) system box a new conversation starts with, when
    they begin with no system or developer turn."""
    if turns and turns[0].get("role") in ("system", "developer"):
        return turns
    return [empty_turn("system"), *turns]


def form_data(run: Run, base_url: str | None = None, *, turns: list[dict] | None = None,
              parent_id: str | None = None) -> MultiDict:
    """The posted fields that would send this run again: the inverse of ``to_body``.

    The turns are the run's template when it had variables (and their values come back),
    else the messages it sent; ``turns`` replaces them (Continue appends to them).
    """
    body = dict(run.request) if isinstance(run.request, dict) else {}
    messages = run.template if isinstance(run.template, list) else body.get("messages")
    body.pop("messages", None)
    if turns is None:
        turns = turns_from_messages(messages if isinstance(messages, list) else [])
    turns = with_instructions(turns)
    pairs: list[tuple[str, str]] = [("model", str(body.pop("model", "") or ""))]
    pairs += write_turns(turns)
    for name in ConversationForm.NUMBERS:
        if isinstance(body.get(name), int | float) and not isinstance(body[name], bool):
            pairs.append((name, str(body.pop(name))))
    stop = body.pop("stop", None)
    if isinstance(stop, list):
        pairs.append(("stop", "\n".join(str(s) for s in stop)))
    elif isinstance(stop, str):
        pairs.append(("stop", stop))
    if body.get("response_format") == {"type": "json_object"}:
        pairs.append(("json_mode", "y"))
        body.pop("response_format")
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        text = json.dumps(tools, indent=2, ensure_ascii=False)
        if tool_names(text):  # tools the box accepts; any other shape stays in extra JSON
            pairs.append(("tools", text))
            body.pop("tools")
    if "tool_choice" in body and tool_choice_field(body["tool_choice"]):
        pairs.append(("tool_choice", tool_choice_field(body.pop("tool_choice"))))
    extra = {k: v for k, v in body.items() if k not in RESERVED_EXTRA}
    if extra:
        pairs.append(("extra", json.dumps(extra, ensure_ascii=False)))
    for name, value in (run.variables or {}).items() if isinstance(run.variables, dict) else ():
        pairs.append((f"variables-{name}", str(value)))
    if run.provider:
        pairs.append(("provider", run.provider))
    if base_url:
        pairs.append(("base_url", base_url))
    if parent_id:
        pairs.append(("parent_id", parent_id))
    return MultiDict(pairs)

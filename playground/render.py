"""Turn a run into safe HTML pieces: its replies, Get code, and its JSON as a tree.

Model output is untrusted: replies are rendered by ``markdown.py`` (markdown-it-py, Pygments,
nh3), and every other ``Markup`` this module returns is that sanitizer's output or text it
escaped itself.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache

from markupsafe import Markup, escape
from pygments import highlight
from pygments.lexers import get_lexer_by_name

from playground import codegen, images, transcript
from playground.markdown import FORMATTER, LEXERS, markdown_html, sanitize

TREE_LIMIT = 2_000_000  # characters of JSON drawn as a foldable tree; beyond, plain text
# Characters of Get code coloured by Pygments; beyond (a very long prompt), escaped plain text.
CODE_HIGHLIGHT_LIMIT = 100_000
CODE_BLOCK_CACHED = 2_000  # characters of a code block kept highlighted (256 blocks at most)
# The inspect panels a streamed result sends closed and empty: each is fetched when it is first
# opened (static/panels.js, GET /runs/<id>/panels/<name>). Get code alone was 38 KB of a short
# reply's 66 KB result, and most runs never open it (bench/README.md, "CPU per stream").
DEFERRED_PANELS = ("events", "code", "timeline")


def highlight_code(code: str, lang: str) -> Markup:
    """Colour code through the replies' Pygments lexers and sanitizer; its text is unchanged.

    Get code's programs differ from run to run only in a few blocks (the body), so each block
    between blank lines is coloured on its own and the common ones come from a cache.
    """
    if len(code) > CODE_HIGHLIGHT_LIMIT or lang not in LEXERS:
        return escape(code)
    return Markup("\n\n").join(
        _code_block(block, lang) if len(block) <= CODE_BLOCK_CACHED else
        _code_block.__wrapped__(block, lang) for block in code.split("\n\n"))


@cache
def _code_lexer(lang: str):
    return get_lexer_by_name(lang, stripnl=False, ensurenl=False)


@lru_cache(maxsize=256)
def _code_block(block: str, lang: str) -> Markup:
    # No stripping or added line ends: the page's text must be the code, byte for byte.
    html = highlight(block, _code_lexer(lang), FORMATTER)
    if html.endswith("\n") and not block.endswith("\n"):
        html = html[:-1]  # the formatter ends every line, the last one too
    return sanitize(html)


def shown_request(request):
    """The request as pages show it: each image's megabytes of base64 abbreviated."""
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        return request
    return {**request, "messages": images.abbreviate(request["messages"])}


def code_view(run, shared: bool = False) -> dict | None:
    """Get code for a run: the five snippets of the body it sent, highlighted, and a note."""
    if not isinstance(run.request, dict):
        return None
    base = codegen.base_for(run.endpoint, provider=run.provider, demo=run.demo, shared=shared)
    request = shown_request(run.request)
    note = base.note
    if request != run.request:
        note = ((note + " ") if note else "") + ("Images are abbreviated here; the run's "
                                                 "Export JSON carries them whole.")
    return {"note": note, "snippets": [
        {"key": s.key, "label": s.label, "filename": s.filename, "code": s.code,
         "html": highlight_code(s.code, s.lang)}
        for s in codegen.snippets(request, base.url, run.stream)]}


def pretty_json(value) -> str:
    """Indented JSON text, as shown and downloaded."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def json_tree(value) -> Markup:
    """A foldable HTML tree (nested ``<details>``), which works without JavaScript."""
    text = pretty_json(value)
    if len(text) > TREE_LIMIT:
        return Markup('<p class="notice">Too large to draw as a tree; plain text below.</p>'
                      '<pre class="json">{}</pre>').format(text)
    out: list[str] = []
    _tree(value, None, out, last=True)
    # Every piece in ``out`` was escaped by _tree/_scalar.
    return Markup('<div class="jt">{}</div>').format(Markup("".join(out)))  # noqa: S704


def _scalar(value) -> str:
    kind = ("null" if value is None else "bool" if isinstance(value, bool)
            else "num" if isinstance(value, int | float) else "str")
    return f'<span class="jt-{kind}">{escape(json.dumps(value, ensure_ascii=False))}</span>'


def _tree(value, key, out: list[str], last: bool) -> None:
    label = f'<span class="jt-key">{escape(json.dumps(key, ensure_ascii=False))}</span>: ' \
        if key is not None else ""
    comma = "" if last else ","
    if isinstance(value, dict | list) and value:
        is_dict = isinstance(value, dict)
        opener, closer = ("{", "}") if is_dict else ("[", "]")
        count = f"{len(value)} {'keys' if is_dict else 'items'}"
        out.append(f'<details open><summary>{label}{opener}<span class="jt-count">{count}'
                   f'</span></summary><div class="jt-body">')
        items = list(value.items()) if is_dict else list(enumerate(value))
        for position, (child_key, child) in enumerate(items):
            _tree(child, child_key if is_dict else None, out, position == len(items) - 1)
        out.append(f'</div>{closer}{comma}</details>')
    else:
        shown = ("{}" if isinstance(value, dict) else "[]" if isinstance(value, list)
                 else None)
        body = f'<span class="jt-punct">{shown}</span>' if shown else _scalar(value)
        out.append(f'<div class="jt-row">{label}{body}{comma}</div>')


def _text(content) -> str | None:
    """Message content as text: a string, or the text parts of a content list."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return json.dumps(content, ensure_ascii=False)


def _tool_call(call) -> dict:
    function = call.get("function") if isinstance(call, dict) else None
    function = function if isinstance(function, dict) else {}
    arguments = function.get("arguments")
    try:
        shown = pretty_json(json.loads(arguments)) if isinstance(arguments, str) else \
            pretty_json(arguments)
        valid = True
    except ValueError:
        shown, valid = str(arguments), False
    return {"id": call.get("id") if isinstance(call, dict) else None,
            "name": function.get("name") or "(unnamed)", "arguments": shown, "valid": valid}


def choice_views(response) -> list[dict]:
    """One view per choice: rendered content, raw text, refusal, reasoning, tool calls."""
    choices = response.get("choices") if isinstance(response, dict) else None
    views = []
    for choice in choices if isinstance(choices, list) else []:
        choice = choice if isinstance(choice, dict) else {}
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = _text(message.get("content"))
        reasoning = _text(message.get("reasoning_content") or message.get("reasoning"))
        calls = message.get("tool_calls") if isinstance(message.get("tool_calls"), list) else []
        views.append({
            "index": choice.get("index"),
            "content": content,
            "html": markdown_html(content) if content else None,
            "refusal": _text(message.get("refusal")),
            "reasoning": reasoning,
            "tool_calls": [_tool_call(call) for call in calls],
            "finish_reason": choice.get("finish_reason"),
        })
    return views


def present(run, shared: bool = False, deferred: bool = False) -> dict:
    """Everything ``_result.html`` shows for a run, computed once (``shared``: for a stranger).

    ``deferred``: those of the ``DEFERRED_PANELS`` the run has are left out, each drawn only
    as its closed ``<details>`` with its summary, and loaded when it is first opened
    (``panel_view``); ``view["deferred"]`` names them.
    """
    response = run.response if isinstance(run.response, dict) else None
    answered = response.get("model") if response else None
    messages = run.request.get("messages") if isinstance(run.request, dict) else None
    return {
        "run": run,
        "choices": choice_views(response),
        "usage": run.usage,
        "answered_model": answered if answered and answered != run.request.get("model")
        else None,
        "request_json": pretty_json(shown_request(run.request)),
        "conversation": transcript.view(messages, markdown_html),
        "hidden_turns": transcript.hidden(messages),
        "response_json": pretty_json(run.response) if run.response is not None else None,
        "response_tree": json_tree(run.response) if run.response is not None else None,
        "events_text": None if deferred else _events_text(run),
        "code": None if deferred else code_view(run, shared),
        "deferred": _panels_of(run) if deferred else frozenset(),
    }


def panel_view(run, name: str) -> dict:
    """What one of the ``DEFERRED_PANELS`` shows, and nothing else (``name`` is one of them)."""
    return {"run": run, "deferred": frozenset(),
            "events_text": _events_text(run) if name == "events" else None,
            "code": code_view(run) if name == "code" else None}


def _panels_of(run) -> frozenset[str]:
    """The ``DEFERRED_PANELS`` a run has: its raw events if it streamed, Get code if its request
    is a body (as ``code_view`` requires), and its timeline always."""
    return frozenset(name for name, has in (("events", bool(run.events)),
                                            ("code", isinstance(run.request, dict)),
                                            ("timeline", True)) if has)


def _events_text(run) -> str | None:
    return "\n\n".join(f"data: {e}" for e in run.events) if run.events else None

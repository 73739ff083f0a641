"""Was each parameter honoured? What was asked, next to what came back.

A pure function of the request sent and the run (plus, when known, the parameters the model's
document lists and the names the catalogue gives the model). Each line is OK, a warning or
"can't tell", never a guess: where the response cannot show whether a parameter was honoured
(no usage, a cut-short stream, no reply at all), the line says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from playground import schema as json_schema
from playground.run import Run

OK, WARNING, UNKNOWN = "ok", "warning", "unknown"
LABELS = {OK: "OK", WARNING: "Warning", UNKNOWN: "Can't tell"}
# A dated or versioned name of the model asked for: gpt-4o → gpt-4o-2024-08-06.
VERSION_SUFFIX = re.compile(r"[-@:_.]?(\d{4}-?\d{2}-?\d{2}|\d{4}|\d{6,8}|latest|v?\d+(\.\d+)*)\Z",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    """One audit line: a parameter, what was asked, what came back, and the verdict."""

    parameter: str
    asked: str
    got: str
    status: str  # OK, WARNING or UNKNOWN
    details: tuple[str, ...] = ()  # e.g. schema violations with their JSON paths

    @property
    def label(self) -> str:
        return LABELS[self.status]

    def to_dict(self) -> dict:
        return {"parameter": self.parameter, "asked": self.asked, "got": self.got,
                "status": self.status, "details": list(self.details)}

    @classmethod
    def from_dict(cls, data: dict) -> Line:
        status = data.get("status") if data.get("status") in LABELS else UNKNOWN
        return cls(str(data.get("parameter", "")), str(data.get("asked", "")),
                   str(data.get("got", "")), status,
                   tuple(str(d) for d in data.get("details") or ()))


def _show(value, limit: int = 80) -> str:
    return json_schema.short(value, limit)


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Reply:
    """What a run brought back, read tolerantly once."""

    def __init__(self, run: Run) -> None:
        response = run.response if isinstance(run.response, dict) else {}
        choices = response.get("choices")
        self.choices = [c for c in choices if isinstance(c, dict)] \
            if isinstance(choices, list) else []
        self.messages = [c.get("message") if isinstance(c.get("message"), dict) else {}
                         for c in self.choices]
        self.texts = [m.get("content") if isinstance(m.get("content"), str) else ""
                      for m in self.messages]
        self.finish = [c.get("finish_reason") for c in self.choices]
        self.model = response.get("model") if isinstance(response.get("model"), str) else None
        self.fingerprint = response.get("system_fingerprint") \
            if isinstance(response.get("system_fingerprint"), str) else None
        self.usage = run.usage
        self.has_usage = isinstance(response.get("usage"), dict) and any(
            v is not None for v in (self.usage.prompt, self.usage.completion, self.usage.total))
        self.complete = run.state == "complete" and bool(self.choices)
        self.events = run.events if isinstance(run.events, list) else []
        self.refused = any(isinstance(m.get("refusal"), str) and m["refusal"]
                           for m in self.messages)

    @property
    def nothing(self) -> bool:
        return not self.choices

    def tool_calls(self) -> list[dict]:
        calls = []
        for message in self.messages:
            for call in message.get("tool_calls") or [] \
                    if isinstance(message.get("tool_calls"), list) else []:
                if isinstance(call, dict):
                    calls.append(call)
        return calls

    def logprobs(self) -> list | None:
        """The token logprob entries that came back (body or stream chunks); None: none did."""
        entries, seen = [], False
        for choice in self.choices:
            block = choice.get("logprobs")
            if isinstance(block, dict) and isinstance(block.get("content"), list):
                seen = True
                entries += block["content"]
        # The stream assembler keeps text, not logprobs: read them from the raw chunks.
        for event in self.events[:20_000] if not seen else []:
            data = event.get("data") if isinstance(event, dict) else event
            if not isinstance(data, str) or '"logprobs"' not in data:
                continue
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            for choice in chunk.get("choices") or [] if isinstance(chunk, dict) else []:
                block = choice.get("logprobs") if isinstance(choice, dict) else None
                if isinstance(block, dict) and isinstance(block.get("content"), list):
                    seen = True
                    entries += block["content"]
        return entries if seen else None


NO_REPLY = "no reply came back"


def _max_tokens(request: dict, reply: _Reply) -> list[Line]:
    lines = []
    for name in ("max_tokens", "max_completion_tokens"):
        limit = _int(request.get(name))
        if limit is None:
            continue
        asked = f"{limit:,}"
        completion = reply.usage.completion
        budget = limit * max(1, len(reply.choices))  # usage sums every choice
        if reply.nothing:
            lines.append(Line(name, asked, NO_REPLY, UNKNOWN))
        elif completion is not None and completion > budget:
            lines.append(Line(name, asked, f"{completion:,} completion tokens: more than asked",
                              WARNING))
        elif "length" in reply.finish:
            used = f"{completion:,} tokens, " if completion is not None else ""
            lines.append(Line(name, asked, f"{used}cut at the limit (finish_reason: length): "
                              "the reply stops early because of this setting", OK))
        elif completion is not None:
            lines.append(Line(name, asked, f"{completion:,} of {budget:,} tokens used", OK))
        else:
            lines.append(Line(name, asked, "no usage reported, and the reply was not cut",
                              UNKNOWN))
    if not lines and "length" in reply.finish:
        lines.append(Line("max_tokens", "not set", "cut by the model's own output limit "
                          "(finish_reason: length)", WARNING))
    return lines


def _n(request: dict, reply: _Reply) -> list[Line]:
    n = _int(request.get("n"))
    if n is None:
        return []
    got = len(reply.choices)
    if reply.nothing or not reply.complete and got < n:
        return [Line("n", str(n), f"{_choices(got)} before the run ended" if got else NO_REPLY,
                     UNKNOWN)]
    return [Line("n", str(n), _choices(got), OK if got == n else WARNING)]


def _choices(count: int) -> str:
    return f"{count} choice{'' if count == 1 else 's'}"


def _stop(request: dict, reply: _Reply) -> list[Line]:
    stop = request.get("stop")
    sequences = [stop] if isinstance(stop, str) else \
        [s for s in stop if isinstance(s, str)] if isinstance(stop, list) else []
    lines = []
    for sequence in sequences[:8]:
        asked = _show(sequence, 40)
        if reply.nothing or not any(reply.texts):
            lines.append(Line("stop", asked, NO_REPLY if reply.nothing else "no text came back",
                              UNKNOWN))
        elif sequence and any(sequence in text for text in reply.texts):
            lines.append(Line("stop", asked, "appears in the reply: not honoured", WARNING))
        elif not reply.complete:
            lines.append(Line("stop", asked, "not in the part that arrived (the run was cut "
                              "short)", UNKNOWN))
        else:
            lines.append(Line("stop", asked, "not in the reply", OK))
    return lines


def _response_format(request: dict, reply: _Reply) -> list[Line]:
    fmt = request.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("json_object", "json_schema"):
        return []
    spec = fmt.get("json_schema") if isinstance(fmt.get("json_schema"), dict) else {}
    asked = "JSON" if kind == "json_object" else \
        f"JSON schema {_show(spec.get('name') or 'unnamed', 40)}"
    text = reply.texts[0] if reply.texts else ""
    if reply.nothing or reply.refused or not text.strip():
        why = NO_REPLY if reply.nothing else "the model refused" if reply.refused \
            else "no text came back"
        return [Line("response_format", asked, why, UNKNOWN)]
    if not reply.complete:
        return [Line("response_format", asked, "the reply was cut short", UNKNOWN)]
    if kind == "json_object":
        result = json_schema.validate(text, {})
    else:
        result = json_schema.validate(text, spec.get("schema", {}))
    if result.status == "valid":
        return [Line("response_format", asked, "valid JSON" if kind == "json_object"
                     else "valid against the schema", OK)]
    if result.status == "invalid":
        details = tuple(f"{v.path}: {v.message}" for v in result.violations)
        more = (f"… and {result.more} more",) if result.more else ()
        count = len(result.violations) + result.more
        return [Line("response_format", asked, f"valid JSON, but {count} violation"
                     f"{'s' if count != 1 else ''} of the schema", WARNING, details + more)]
    if result.status == "not_json":
        fenced = text.lstrip().startswith("```")
        return [Line("response_format", asked, "not valid JSON" + (
            " (wrapped in a code fence)" if fenced else ""), WARNING, result.notes)]
    if result.status == "bad_schema":
        return [Line("response_format", asked, "the schema has problems, so the reply was not "
                     "checked against it", UNKNOWN, result.notes)]
    return [Line("response_format", asked, "the check against the schema could not finish",
                 UNKNOWN, result.notes)]


def _seed(request: dict, reply: _Reply) -> list[Line]:
    seed = _int(request.get("seed"))
    if seed is None:
        return []
    if reply.fingerprint:
        return [Line("seed", str(seed), f"system_fingerprint {_show(reply.fingerprint, 60)}: "
                     "reruns with the same seed and fingerprint should match", OK)]
    return [Line("seed", str(seed), "no system_fingerprint came back, so whether reruns "
                 "will match can't be told", UNKNOWN)]


def _logprobs(request: dict, reply: _Reply) -> list[Line]:
    if request.get("logprobs") is not True:
        return []
    top = _int(request.get("top_logprobs"))
    asked = "true" + (f", top_logprobs {top}" if top is not None else "")
    if reply.nothing:
        return [Line("logprobs", asked, NO_REPLY, UNKNOWN)]
    entries = reply.logprobs()
    if entries is None:
        verdict = WARNING if reply.complete else UNKNOWN
        return [Line("logprobs", asked, "no logprobs came back", verdict)]
    if top is None or top == 0:
        return [Line("logprobs", asked, f"logprobs for {len(entries):,} tokens", OK)]
    widths = {len(e["top_logprobs"]) for e in entries
              if isinstance(e, dict) and isinstance(e.get("top_logprobs"), list)}
    if not widths:
        return [Line("logprobs", asked, "logprobs came back, without top_logprobs", WARNING)]
    if max(widths) > top or max(widths) == 0:
        return [Line("logprobs", asked, f"{max(widths)} alternatives per token", WARNING)]
    return [Line("logprobs", asked, f"logprobs for {len(entries):,} tokens, up to "
                 f"{max(widths)} alternatives each", OK)]


def _tools(request: dict, reply: _Reply) -> list[Line]:
    tools = request.get("tools")
    if not isinstance(tools, list) or not tools:
        return []
    choice = request.get("tool_choice", "auto")
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) \
        and isinstance(choice.get("function"), dict) else None
    asked = f"{len(tools)} tool{'s' if len(tools) != 1 else ''}, tool_choice " + (
        _show(named, 40) if named else _show(choice, 40))
    if reply.nothing:
        return [Line("tools", asked, NO_REPLY, UNKNOWN)]
    called = [str((c.get("function") or {}).get("name") or "?") for c in reply.tool_calls()
              if isinstance(c.get("function") or {}, dict)]
    got = f"called {', '.join(_show(n, 40) for n in called[:5])}" if called else "no tool called"
    if choice == "none":
        return [Line("tools", asked, got, WARNING if called else OK)]
    if choice == "required" or named:
        if not called:
            return [Line("tools", asked, got, WARNING if reply.complete else UNKNOWN)]
        if named and named not in called:
            return [Line("tools", asked, got + f", not {_show(named, 40)}", WARNING)]
        return [Line("tools", asked, got, OK)]
    return [Line("tools", asked, got + ("" if called else " (the model may choose not to)"), OK)]


def _include_usage(request: dict, reply: _Reply, run: Run) -> list[Line]:
    options = request.get("stream_options")
    if not (isinstance(options, dict) and options.get("include_usage") is True) \
            or not run.stream:
        return []
    asked = "include_usage: true"
    if reply.has_usage:
        return [Line("stream_options", asked, "usage arrived", OK)]
    if run.state != "complete":
        return [Line("stream_options", asked, "no usage before the stream ended early",
                     UNKNOWN)]
    return [Line("stream_options", asked, "no usage arrived", WARNING)]


def _same_model(asked: str, answered: str, names: tuple[str, ...]) -> bool:
    answered_l = answered.lower()
    candidates = {n.lower() for n in (asked, *names) if n}
    for name in list(candidates):
        candidates.add(name.split("/")[-1])
    if answered_l in candidates or answered_l.split("/")[-1] in candidates:
        return True
    tail = answered_l.split("/")[-1]
    return any(tail.startswith(name) and VERSION_SUFFIX.fullmatch(tail[len(name):])
               for name in candidates if name)


def _model(request: dict, reply: _Reply, names: tuple[str, ...]) -> list[Line]:
    asked = request.get("model")
    if not isinstance(asked, str) or not asked:
        return []
    if reply.model is None:
        return [Line("model", asked[:100], NO_REPLY if reply.nothing
                     else "the response does not name its model", UNKNOWN)]
    same = _same_model(asked, reply.model, names)
    got = reply.model[:100] + ("" if same else ": a different model answered")
    return [Line("model", asked[:100], got, OK if same else WARNING)]


def _listed(request: dict, accepted: frozenset[str] | None) -> list[Line]:
    if accepted is None:
        return []
    missing = sorted(str(k) for k in request if k not in accepted)
    if not missing:
        return [Line("parameters", f"{len(request)} sent", "all listed in the model's "
                     "description", OK)]
    return [Line(name, _show(request[name], 40), "not listed in the model's description: it "
                 "may be ignored or rejected", WARNING) for name in missing[:20]]


def audit(request: dict, run: Run, accepted: frozenset[str] | None = None,
          names: tuple[str, ...] = ()) -> list[Line]:
    """The audit of one run: a line per parameter whose effect the response can show.

    ``accepted`` is the parameter set from the model's document (None: unknown, no lines);
    ``names`` are the catalogue's id and aliases for the model asked for.
    """
    request = request if isinstance(request, dict) else {}
    reply = _Reply(run)
    return [*_model(request, reply, names), *_max_tokens(request, reply), *_n(request, reply),
            *_stop(request, reply), *_response_format(request, reply), *_seed(request, reply),
            *_logprobs(request, reply), *_tools(request, reply),
            *_include_usage(request, reply, run), *_listed(request, accepted)]

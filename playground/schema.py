"""JSON-schema checks for structured output: the schema itself, then the reply against it.

The schema is visitor input and the reply is model output, so both are treated as hostile:
- no remote ``$ref`` is ever retrieved (an empty registry that refuses to fetch: otherwise
  a schema could make the server request http://169.254.169.254/…);
- the schema's size and depth, the reply's size and depth, and the work done validating
  (keyword steps and a wall-clock budget) are bounded;
- ``pattern`` and ``patternProperties`` run on the ``regex`` module with a timeout, so
  ``(a+)+$`` cannot hang a worker; a pattern that times out is "can't tell", never a guess;
- ``uniqueItems`` is checked in linear time, and at most MAX_VIOLATIONS are reported.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jsonschema
import referencing
import referencing.exceptions
import regex
from jsonschema.exceptions import ValidationError

SCHEMA_MAX_BYTES = 64_000
SCHEMA_MAX_DEPTH = 32
REPLY_MAX_BYTES = 1_000_000
REPLY_MAX_DEPTH = 64
PATTERN_MAX_LENGTH = 1_000
MAX_VIOLATIONS = 20
MAX_COUNTED = 1_000  # past this many violations, "more" stops counting
MAX_STEPS = 50_000  # keyword evaluations per validation
# CPU work blocks a gevent worker, so the whole check has a wall-clock ceiling, and regular
# expressions a smaller allowance of their own: the regex module notices its timeout late
# (a 0.02 s timeout can take 0.1-0.3 s), and a pattern that timed out once is not run again.
TIME_BUDGET = 1.0
PATTERN_TIMEOUT = 0.02
REGEX_BUDGET = 0.3
MESSAGE_MAX = 240
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _refuse(uri: str):
    """Never fetch: a remote $ref in visitor input would be a request to anywhere."""
    raise referencing.exceptions.NoSuchResource(ref=uri)


REGISTRY = referencing.Registry(retrieve=_refuse)


@dataclass(frozen=True)
class Violation:
    """One way the reply breaks the schema, at a JSON path such as ``$.items[2].name``."""

    path: str
    message: str
    keyword: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "message": self.message, "keyword": self.keyword}


@dataclass(frozen=True)
class Validation:
    """The verdict on a reply: valid, invalid (with violations), not JSON, or unchecked."""

    status: str  # "valid" | "invalid" | "not_json" | "bad_schema" | "unchecked"
    violations: tuple[Violation, ...] = ()
    more: int = 0  # violations found beyond those listed
    notes: tuple[str, ...] = ()  # why it is not JSON, what is wrong with the schema, …

    @property
    def label(self) -> str:
        return {"valid": "valid", "invalid": "does not match the schema",
                "not_json": "not valid JSON", "bad_schema": "the schema has problems",
                "unchecked": "could not be checked"}[self.status]

    def to_dict(self) -> dict:
        return {"status": self.status, "violations": [v.to_dict() for v in self.violations],
                "more": self.more, "notes": list(self.notes)}


def short(value, limit: int = 60) -> str:
    """A value as it appears in a message: JSON, cut to ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def json_path(parts: Iterable) -> str:
    """``$.a[0]["odd key"]`` for a path given as keys and indexes."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += f"[{short(str(part), 40)}]"
    return out


def _depth(value, limit: int) -> bool:
    """True when ``value`` nests no deeper than ``limit`` (iterative: no recursion to blow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _walk(value, path=()):
    """Every (path, key, value) of a bounded tree, without recursion."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                yield where, key, child
                stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, i)) for i, child in enumerate(item))


def _load(source, limit: int, what: str) -> tuple[object, str | None]:
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8", "replace")
    if not isinstance(source, str):
        return source, None
    if len(source.encode("utf-8", "replace")) > limit:
        return None, f"{what} is larger than {limit // 1000:,} KB."
    try:
        return json.loads(source), None
    except RecursionError:
        return None, f"{what} is nested too deeply to read."
    except ValueError as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        where = f" (line {exc.lineno}, column {exc.colno})" \
            if isinstance(exc, json.JSONDecodeError) else ""
        return None, f"{what} is not valid JSON: {message}{where}."


def _validator_class(schema: dict):
    uri = str(schema.get("$schema", ""))
    for marker, cls in (("draft-04", jsonschema.Draft4Validator),
                        ("draft-06", jsonschema.Draft6Validator),
                        ("draft-07", jsonschema.Draft7Validator),
                        ("2019-09", jsonschema.Draft201909Validator)):
        if marker in uri:
            return cls
    return jsonschema.Draft202012Validator


def check_schema(source) -> tuple[dict | None, tuple[str, ...]]:
    """Read a schema (JSON text or an object) and list what is wrong with it, clearly.

    Returns the schema and its problems; a schema with problems is not used.
    """
    schema, error = _load(source, SCHEMA_MAX_BYTES, "The schema")
    if error:
        return None, (error,)
    if not isinstance(schema, dict):
        return None, ("The schema must be a JSON object, like {\"type\": \"object\", …}.",)
    if not isinstance(source, (str, bytes, bytearray)) and not _depth(schema, SCHEMA_MAX_DEPTH):
        return None, (f"The schema is nested deeper than {SCHEMA_MAX_DEPTH} levels.",)
    try:
        size = len(json.dumps(schema).encode())
    except (TypeError, ValueError, RecursionError):
        return None, ("The schema is not plain JSON.",)
    if size > SCHEMA_MAX_BYTES:
        return None, (f"The schema is larger than {SCHEMA_MAX_BYTES // 1000:,} KB.",)
    if not _depth(schema, SCHEMA_MAX_DEPTH):
        return None, (f"The schema is nested deeper than {SCHEMA_MAX_DEPTH} levels.",)
    problems: list[str] = []
    keys = set()
    for where, key, value in _walk(schema):
        keys.add(key)
        at = json_path((*where, key))
        if key in ("$ref", "$dynamicRef", "$recursiveRef") and isinstance(value, str) \
                and not value.startswith("#"):
            problems.append(f"{at}: {short(value)} points outside this schema; only local "
                            "references such as \"#/$defs/item\" are followed, nothing is "
                            "fetched.")
        patterns = [value] if key == "pattern" and isinstance(value, str) else \
            list(value) if key == "patternProperties" and isinstance(value, dict) else []
        for pattern in patterns:
            problems.extend(f"{at}: {p}" for p in _pattern_problems(pattern))
    if "unevaluatedProperties" in keys and "patternProperties" in keys:
        problems.append("unevaluatedProperties together with patternProperties is not "
                        "supported here: use additionalProperties instead.")
    cls = _validator_class(schema)
    meta = cls(cls.META_SCHEMA, registry=REGISTRY)
    for count, error in enumerate(meta.iter_errors(schema)):
        if count >= 5:
            problems.append("… and more problems.")
            break
        problems.append(f"{json_path(error.absolute_path)}: {_cut(error.message)}")
    return (schema if not problems else None), tuple(problems)


def _pattern_problems(pattern: str) -> list[str]:
    if len(pattern) > PATTERN_MAX_LENGTH:
        return [f"the pattern is longer than {PATTERN_MAX_LENGTH:,} characters."]
    try:
        regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        return [f"{short(pattern)} is not a valid regular expression ({_cut(str(exc), 80)})."]
    return []


def _cut(text: str, limit: int = MESSAGE_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Exhausted(Exception):
    """The validation used up its step or time budget."""


class _Budget:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock, self.steps = clock, 0
        self.deadline = clock() + TIME_BUDGET
        self.regex_spent = 0.0
        self.timeouts: set[str] = set()  # the patterns that could not be decided

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS or self.clock() > self.deadline:
            raise _Exhausted

    def search(self, pattern: str, text: str) -> bool:
        """Does ``pattern`` match? Undecided (too slow) counts as a match and is noted, so
        it never becomes a violation: can't tell, never a guess."""
        label = short(pattern, 40)
        if label in self.timeouts or self.regex_spent >= REGEX_BUDGET:
            self.timeouts.add(label)
            return True
        started = self.clock()
        try:
            return regex.search(pattern, text, timeout=PATTERN_TIMEOUT) is not None
        except TimeoutError:
            self.timeouts.add(label)
            return True
        except (regex.error, ValueError, OverflowError, RecursionError):
            return True  # check_schema refuses such patterns; never a violation by accident
        finally:
            self.regex_spent += self.clock() - started


def _keywords_for(budget: _Budget) -> dict:
    """The keywords that touch regular expressions or could go quadratic, made safe."""

    def pattern(validator, patrn, instance, schema):
        if validator.is_type(instance, "string") and isinstance(patrn, str) \
                and not budget.search(patrn, instance):
            yield ValidationError(f"{short(instance)} does not match the pattern {short(patrn)}")

    def pattern_properties(validator, patterns, instance, schema):
        if not validator.is_type(instance, "object"):
            return
        for patrn, subschema in patterns.items():
            for key, value in instance.items():
                if budget.search(patrn, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=patrn)

    def additional_properties(validator, additional, instance, schema):
        if not validator.is_type(instance, "object"):
            return
        known = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        extras = [k for k in instance if k not in known
                  and not any(budget.search(p, k) for p in patterns)]
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif not additional and extras:
            names = ", ".join(short(k, 40) for k in extras[:5])
            yield ValidationError(f"unexpected propert{'y' if len(extras) == 1 else 'ies'}: "
                                  f"{names}{' …' if len(extras) > 5 else ''}")

    def unique_items(validator, unique, instance, schema):
        if unique and validator.is_type(instance, "array"):
            seen = set()
            for index, item in enumerate(instance):
                key = json.dumps(_canonical(item), sort_keys=True)
                if key in seen:
                    yield ValidationError(f"item {index} repeats an earlier item: {short(item)}")
                    return
                seen.add(key)

    def type_(validator, types, instance, schema):
        wanted = types if isinstance(types, list) else [types]
        if not any(validator.is_type(instance, t) for t in wanted if isinstance(t, str)):
            names = " or ".join(TYPE_NAMES.get(t, str(t)) for t in wanted)
            yield ValidationError(f"should be {names}, not {_type_name(instance)} "
                                  f"({short(instance, 40)})")

    def required(validator, names, instance, schema):
        if validator.is_type(instance, "object"):
            for name in names:
                if name not in instance:
                    yield ValidationError(f"the required property {short(name, 60)} is missing")

    def enum(validator, allowed, instance, schema):
        if not any(_canonical(instance) == _canonical(item) for item in allowed):
            yield ValidationError(f"{short(instance, 40)} is not one of the allowed values "
                                  f"{short(allowed, 80)}")

    def const(validator, expected, instance, schema):
        if _canonical(instance) != _canonical(expected):
            yield ValidationError(f"should be exactly {short(expected, 60)}, "
                                  f"not {short(instance, 40)}")

    return {"pattern": pattern, "patternProperties": pattern_properties,
            "additionalProperties": additional_properties, "uniqueItems": unique_items,
            "type": type_, "required": required, "enum": enum, "const": const}


TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
              "object": "an object", "array": "an array", "boolean": "true or false",
              "null": "null"}


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), "a value")


def _canonical(value):
    """JSON-schema equality as a key: 1 == 1.0, but true != 1."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return [type(value).__name__, value]
    if isinstance(value, (int, float)):
        return ["number", int(value) if float(value).is_integer() else value]
    if isinstance(value, list):
        return ["array", [_canonical(v) for v in value]]
    if isinstance(value, dict):
        return ["object", {k: _canonical(v) for k, v in value.items()}]
    return ["other", repr(value)]


def _counted(function, budget: _Budget):
    def keyword(validator, value, instance, schema):
        budget.step()
        return function(validator, value, instance, schema) or ()
    return keyword


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=("email", "ipv4", "ipv6", "date", "uuid"))

    @checker.checks("regex", raises=(regex.error,))
    def is_regex(instance) -> bool:
        return not isinstance(instance, str) or len(instance) <= PATTERN_MAX_LENGTH \
            and regex.compile(instance) is not None

    return checker


def validate(reply, schema, *, clock: Callable[[], float] = time.monotonic) -> Validation:
    """Check a reply (JSON text, or already parsed when not a str) against a schema."""
    schema, problems = check_schema(schema)
    if schema is None:
        return Validation("bad_schema", notes=problems)
    instance, error = _load(reply, REPLY_MAX_BYTES, "The reply")
    if error:
        return Validation("not_json", notes=(error,))
    if not _depth(instance, REPLY_MAX_DEPTH):
        return Validation("unchecked", notes=(f"The reply nests deeper than {REPLY_MAX_DEPTH} "
                                              "levels, too deep to check.",))
    budget = _Budget(clock)
    base = _validator_class(schema)
    keywords = {**base.VALIDATORS, **_keywords_for(budget)}
    cls = jsonschema.validators.extend(
        base, {name: _counted(fn, budget) for name, fn in keywords.items()})
    validator = cls(schema, registry=REGISTRY, format_checker=_format_checker())
    violations: list[Violation] = []
    count, notes = 0, []
    try:
        for error in validator.iter_errors(instance):
            count += 1
            if len(violations) < MAX_VIOLATIONS:
                violations.append(_violation(error))
            if count >= MAX_COUNTED:
                notes.append(f"Counting stopped at {MAX_COUNTED:,} violations.")
                break
    except _Exhausted:
        notes.append("The check stopped early: the schema is too costly to check in full.")
    except RecursionError:
        notes.append("The check stopped: the schema refers to itself without end.")
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions._RefResolutionError) as e:
        return Validation("bad_schema", notes=(f"A reference cannot be resolved: {_cut(str(e))}. "
                                               "Only references inside the schema work.",))
    if budget.timeouts:
        notes.append("Can't tell whether some strings match: the pattern "
                     f"{', '.join(sorted(budget.timeouts)[:3])} took too long to check.")
    if violations:
        return Validation("invalid", tuple(violations), count - len(violations), tuple(notes))
    return Validation("unchecked" if notes else "valid", notes=tuple(notes))


def _violation(error: ValidationError) -> Violation:
    """A violation at its JSON path; for anyOf/oneOf, the closest branch's reason is added."""
    message = error.message
    if error.validator in ("anyOf", "oneOf") and isinstance(error.validator_value, list):
        count = len(error.validator_value)
        message = (f"matches none of the {count} allowed shapes ({error.validator})"
                   if error.context or error.validator == "anyOf" else
                   f"matches more than one of the {count} shapes, but oneOf allows exactly one")
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            message += f"; closest: {json_path(best.absolute_path)} {best.message}"
    return Violation(json_path(error.absolute_path), _cut(message), str(error.validator))


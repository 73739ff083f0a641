"""Unit: what a person reads about their JSON schema and about a reply checked against it —
including schemas written to attack the server."""

from __future__ import annotations

import json

import pytest

from playground import schema
from playground.schema import Violation, check_schema, json_path, validate

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 0},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "role": {"enum": ["admin", "user"]},
        "address": {"type": "object", "properties": {"zip": {"type": "string",
                                                             "pattern": "^[0-9]{5}$"}},
                    "required": ["zip"]},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


# -- the schema itself -----------------------------------------------------------------------
@pytest.mark.parametrize(("source", "message"), [
    ('{"type": "object",,}', "The schema is not valid JSON: Expecting property name enclosed "
                             "in double quotes (line 1, column 19)."),
    ("[1, 2]", 'The schema must be a JSON object, like {"type": "object", …}.'),
    ('"just text"', 'The schema must be a JSON object, like {"type": "object", …}.'),
    ('{"type": "objekt"}', "$.type: 'objekt' is not valid under any of the given schemas"),
    ('{"properties": {"age": {"type": 5}}}',
     "$.properties.age.type: 5 is not valid under any of the given schemas"),
    ('{"required": "name"}', "$.required: 'name' is not of type 'array'"),
    ('{"properties": {"zip": {"pattern": "[0-9"}}}',
     '$.properties.zip.pattern: "[0-9" is not a valid regular expression'),
    ('{"$ref": "https://example.com/person.json"}',
     '$["$ref"]: "https://example.com/person.json" points outside this schema; only local '
     'references such as "#/$defs/item" are followed, nothing is fetched.'),
])
def test_schema_problems_are_stated_with_where_they_are(source, message):
    parsed, problems = check_schema(source)
    assert parsed is None
    assert any(problem.startswith(message) for problem in problems), problems


@pytest.mark.parametrize("source", [
    PERSON, json.dumps(PERSON), {}, {"type": "string", "maxLength": 3},
    {"$defs": {"item": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/item"}},
    {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"x": {}},
     "properties": {"a": {"$ref": "#/definitions/x"}}},
])
def test_good_schemas_have_no_problems(source):
    parsed, problems = check_schema(source)
    assert problems == () and isinstance(parsed, dict)


# -- the reply against the schema ------------------------------------------------------------
@pytest.mark.parametrize(("reply", "expected"), [
    ({"name": "Ada", "age": 36}, []),
    ({"name": "Ada"}, [("$", "the required property \"age\" is missing")]),
    ({"name": 7, "age": 36}, [("$.name", "should be a string, not an integer (7)")]),
    ({"name": "Ada", "age": -1}, [("$.age", "-1 is less than the minimum of 0")]),
    ({"name": "Ada", "age": 1.5}, [("$.age", "should be an integer, not a number (1.5)")]),
    ({"name": "Ada", "age": True}, [("$.age", "should be an integer, not a boolean (true)")]),
    ({"name": "", "age": 1}, [("$.name", "'' should be non-empty")]),
    ({"name": "Ada", "age": 1, "role": "root"},
     [("$.role", '"root" is not one of the allowed values ["admin", "user"]')]),
    ({"name": "Ada", "age": 1, "tags": ["a", "b", "a"]},
     [("$.tags", 'item 2 repeats an earlier item: "a"')]),
    ({"name": "Ada", "age": 1, "tags": ["a", 2]},
     [("$.tags[1]", "should be a string, not an integer (2)")]),
    ({"name": "Ada", "age": 1, "address": {"zip": "ABCDE"}},
     [("$.address.zip", '"ABCDE" does not match the pattern "^[0-9]{5}$"')]),
    ({"name": "Ada", "age": 1, "address": {}},
     [("$.address", 'the required property "zip" is missing')]),
    ({"name": "Ada", "age": 1, "email": "not-an-email"},
     [("$.email", "'not-an-email' is not a 'email'")]),
    ({"name": "Ada", "age": 1, "nickname": "A"}, [("$", 'unexpected property: "nickname"')]),
])
def test_each_violation_is_listed_at_its_json_path(reply, expected):
    result = validate(json.dumps(reply), PERSON)
    assert [(v.path, v.message) for v in result.violations] == expected
    assert result.status == ("invalid" if expected else "valid")


def test_several_violations_are_all_listed():
    result = validate('{"name": 1, "age": "x", "extra": true}', PERSON)
    assert result.status == "invalid" and result.label == "does not match the schema"
    assert [v.path for v in result.violations] == ["$.name", "$.age", "$"]
    assert [v.keyword for v in result.violations] == ["type", "type", "additionalProperties"]


@pytest.mark.parametrize(("reply", "note"), [
    ("Sure! Here is the JSON: {", "The reply is not valid JSON: Expecting value (line 1, "
                                  "column 1)."),
    ('```json\n{"name": "Ada"}\n```', "The reply is not valid JSON"),
    ('{"name": "Ada", "age": 3', "The reply is not valid JSON: Expecting ',' delimiter"),
    ("", "The reply is not valid JSON"),
])
def test_a_reply_that_is_not_json_says_so(reply, note):
    result = validate(reply, PERSON)
    assert result.status == "not_json" and result.label == "not valid JSON"
    assert result.notes[0].startswith(note)


def test_anyof_names_the_closest_branch():
    result = validate('{"kind": "circle", "r": "big"}', {"anyOf": [
        {"type": "object", "properties": {"r": {"type": "number"}}, "required": ["r"]},
        {"type": "string"}]})
    (violation,) = result.violations
    assert violation.path == "$"
    assert violation.message.startswith("matches none of the 2 allowed shapes (anyOf)")


def test_odd_keys_are_quoted_in_the_path():
    assert json_path(["items", 0, "first name", "a.b", "ok_1"]) == \
        '$.items[0]["first name"]["a.b"].ok_1'


def test_violations_are_bounded_and_counted():
    reply = json.dumps(list(range(5000)))
    result = validate(reply, {"type": "array", "items": {"type": "string"}})
    assert len(result.violations) == schema.MAX_VIOLATIONS
    assert result.more == schema.MAX_COUNTED - schema.MAX_VIOLATIONS
    assert any("Counting stopped" in note for note in result.notes)


def test_long_values_are_cut_in_messages():
    result = validate(json.dumps({"name": 5, "age": "x" * 100_000}), PERSON)
    assert all(len(v.message) <= schema.MESSAGE_MAX for v in result.violations)
    assert result.violations[1] == Violation(
        "$.age", 'should be an integer, not a string ("' + "x" * 38 + "…)", "type")


# -- hostile schemas and replies -----------------------------------------------------------------
def nested(depth: int) -> dict:
    node: dict = {"type": "string"}
    for _ in range(depth):
        node = {"type": "object", "properties": {"x": node}}
    return node


def chain(links: int) -> dict:
    """Each $defs entry refers twice to the next: linear to write, exponential to evaluate."""
    defs = {f"a{i}": {"anyOf": [{"$ref": f"#/$defs/a{i + 1}"},
                                {"$ref": f"#/$defs/a{i + 1}", "minimum": 0}]}
            for i in range(links)}
    defs[f"a{links}"] = {"type": "string"}
    return {"$defs": defs, "$ref": "#/$defs/a0"}


@pytest.mark.parametrize(("hostile", "status", "note"), [
    # remote references would be a request from the server to anywhere (SSRF)
    ({"$ref": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
     "bad_schema", "points outside this schema"),
    ({"properties": {"a": {"$dynamicRef": "http://169.254.169.254/"}}},
     "bad_schema", "points outside this schema"),
    ({"$id": "http://169.254.169.254/", "items": {"$ref": "latest/meta-data"}},
     "bad_schema", "points outside this schema"),
    ({"$defs": {}, "$ref": "#/$defs/nowhere"}, "bad_schema", "A reference cannot be resolved"),
    # size and depth
    (nested(40), "bad_schema", "The schema is nested deeper than 32 levels."),
    ({"enum": list(range(100_000))}, "bad_schema", "The schema is larger than 64 KB."),
    ({"pattern": "a" * 2000}, "bad_schema", "the pattern is longer than 1,000 characters"),
    # work: references in a loop, and exponential branching
    ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
     "unchecked", "The check stopped: the schema refers to itself without end."),
    (chain(30), "unchecked", "The check stopped early: the schema is too costly"),
    ({"unevaluatedProperties": False, "patternProperties": {"^x": {}}},
     "bad_schema", "unevaluatedProperties together with patternProperties"),
])
def test_hostile_schemas_are_refused_or_stopped(hostile, status, note):
    result = validate("1", hostile)
    assert result.status == status
    assert any(note in n for n in result.notes), result.notes


def test_catastrophic_patterns_cannot_hang_the_server():
    # (a+)+$ backtracks exponentially on Python's re; the regex module answers it at once
    result = validate(json.dumps("a" * 40 + "!"), {"type": "string", "pattern": "(a+)+$"})
    assert result.status == "invalid"
    # (a|aa)+$ defeats even the regex module: the timeout turns it into "can't tell"
    result = validate(json.dumps("a" * 5000 + "!"), {"pattern": "^(a|aa)+$"})
    assert result.status == "unchecked"
    assert "^(a|aa)+$" in result.notes[0] and "took too long" in result.notes[0]
    # the same pattern, through patternProperties and additionalProperties
    result = validate(json.dumps({"a" * 5000 + "!": 1}),
                      {"patternProperties": {"^(a|aa)+$": {}}, "additionalProperties": False})
    assert result.status == "unchecked"


def test_a_timed_out_pattern_never_hides_real_violations():
    result = validate(json.dumps({"s": "a" * 5000 + "!", "n": "x"}), {"properties": {
        "s": {"pattern": "^(a|aa)+$"}, "n": {"type": "integer"}}})
    assert result.status == "invalid"
    assert [v.path for v in result.violations] == ["$.n"]
    assert any("took too long" in note for note in result.notes)


def test_huge_enums_and_arrays_stay_linear():
    enum = {"enum": [f"v{i}" for i in range(5000)]}
    assert validate('"v4999"', enum).status == "valid"
    assert validate('"nope"', enum).status == "invalid"
    unique = {"type": "array", "uniqueItems": True}
    assert validate(json.dumps([{"i": i} for i in range(20_000)]), unique).status == "valid"
    assert validate("[1, 1.0]", unique).status == "invalid"  # equal as JSON numbers
    assert validate("[1, true]", unique).status == "valid"  # but true is not 1


@pytest.mark.parametrize(("reply", "note"), [
    ("[" * 100_000 + "]" * 100_000, "The reply is nested too deeply to read."),
    ("[" * 70 + "]" * 70, "The reply nests deeper than 64 levels, too deep to check."),
    ('"' + "x" * 1_000_001 + '"', "The reply is larger than 1,000 KB."),
])
def test_hostile_replies_are_bounded(reply, note):
    result = validate(reply, {})
    assert result.status in ("unchecked", "not_json")
    assert result.notes == (note,)


def test_results_can_be_stored():
    result = validate('{"name": 1, "age": 2}', PERSON)
    assert json.loads(json.dumps(result.to_dict())) == {
        "status": "invalid", "more": 0, "notes": [],
        "violations": [{"path": "$.name", "message": "should be a string, not an integer (1)",
                        "keyword": "type"}]}

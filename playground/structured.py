"""Structured output in the form: a JSON-schema editor for ``response_format``.

``StructuredFields`` is mixed into the playground form: a switch, the schema's name, ``strict``
and the schema text, checked with ``schema.check_schema`` (size, depth, no remote ``$ref``,
safe patterns) so each problem is a message on the field. ``apply`` writes
``response_format: {"type": "json_schema", …}`` into the body; ``fields_of`` is its inverse.
"""

from __future__ import annotations

import json
import re

from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from playground.schema import SCHEMA_MAX_BYTES, check_schema

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # what OpenAI accepts as a json_schema name
EXAMPLE = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city asked about"},
        "temperature_c": {"type": "number"},
        "conditions": {"type": "string", "enum": ["sunny", "cloudy", "rain", "snow"]},
    },
    "required": ["city", "temperature_c", "conditions"],
    "additionalProperties": False,
}
EXAMPLE_TEXT = json.dumps(EXAMPLE, indent=2)


class StructuredFields:
    """The schema editor's fields and checks (a mixin for a FlaskForm)."""

    use_schema = BooleanField("Answer with JSON matching a schema")
    schema_name = StringField("Schema name", default="answer",
                              validators=[Optional(), Length(max=64)])
    schema_strict = BooleanField("strict", default=True)
    schema = TextAreaField("JSON schema", validators=[Optional(),
                                                      Length(max=SCHEMA_MAX_BYTES)])

    def validate_schema_name(self, field) -> None:
        if self.use_schema.data and not NAME.fullmatch((field.data or "").strip() or "answer"):
            raise ValidationError("Letters, digits, _ and - only, up to 64.")

    def validate_schema(self, field) -> None:
        if not self.use_schema.data or field.errors:
            return
        if not (field.data or "").strip():
            raise ValidationError("Write the schema, or untick “Answer with JSON matching a "
                                  "schema”.")
        if getattr(self, "json_mode", None) is not None and self.json_mode.data:
            raise ValidationError("Choose JSON mode or a schema, not both.")
        _schema, problems = check_schema(field.data)
        if problems:
            raise ValidationError(" ".join(problems[:5]))

    def schema_open(self) -> bool:
        return bool(self.use_schema.data or self.schema.errors or self.schema_name.errors)

    def apply_schema(self, body: dict) -> dict:
        """``body`` with the schema's ``response_format``, when the switch is on."""
        if self.use_schema.data and (self.schema.data or "").strip():
            schema, _problems = check_schema(self.schema.data)
            if schema is not None:
                body["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": (self.schema_name.data or "").strip() or "answer",
                    "strict": bool(self.schema_strict.data), "schema": schema}}
        return body


def fields_of(body: dict) -> dict:
    """The editor's fields for a body's ``response_format`` (and it taken out of ``body``)."""
    fmt = body.get("response_format")
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    if not (isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(spec, dict)
            and isinstance(spec.get("schema"), dict)):
        return {}
    body.pop("response_format")
    return {"use_schema": True, "schema_name": str(spec.get("name") or "answer")[:64],
            "schema_strict": spec.get("strict") is not False,
            "schema": json.dumps(spec["schema"], indent=2, ensure_ascii=False)}

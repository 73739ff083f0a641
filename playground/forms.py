"""The prompt form: every field typed and bounded before any network call."""

from __future__ import annotations

import json
import math
import re

from flask import has_request_context, request
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from markupsafe import Markup, escape
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from playground.structured import StructuredFields, fields_of

PROMPT_LIMIT = 100_000  # characters; about 25k tokens, far beyond a playground prompt
MAX_TOKENS_LIMIT = 1_000_000
MAX_STOPS = 4
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
RESERVED_EXTRA = {"model", "messages", "stream", "stream_options"}
TOKEN_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
# json.loads recurses once per level, so a few thousand "[" exhaust the stack; no request
# body needs more than a handful of levels.
MAX_DEPTH = 64
JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # a string, or a bracket outside one


def finite(form, field) -> None:
    """Reject NaN and infinities, which NumberRange lets through."""
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError("Enter a finite number.")


def not_huge(form, field) -> None:
    """Stop a whole number beyond any range here: NumberRange cannot compare it with NaN."""
    if isinstance(field.data, int) and abs(field.data) > 2**64:
        raise StopValidation("This number is too large.")


def printable(form, field) -> None:
    if field.data and CONTROL_CHARS.search(field.data):
        raise ValidationError("Model names cannot contain control or invisible characters.")


class PromptForm(StructuredFields, FlaskForm):
    """A model, messages and the optional sampling parameters of one run."""

    class Meta:
        def wrap_formdata(self, form, formdata):
            """Read the posted text fields only.

            Flask-WTF would also take a file part in place of a field (a FileStorage, which
            the validators cannot measure) and a JSON body (numbers, lists, anything).
            """
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata  # the caller chose the data
            posted = has_request_context() and request.method in SUBMIT_METHODS
            return request.form if posted and request.form else None

    model = StringField("Model", validators=[DataRequired("Enter a model name."),
                                             Length(max=200), printable])
    system = TextAreaField("System prompt", validators=[Optional(), Length(max=PROMPT_LIMIT)])
    prompt = TextAreaField("Prompt", validators=[DataRequired("Write a prompt to send."),
                                                 Length(max=PROMPT_LIMIT)])
    temperature = FloatField("Temperature", validators=[Optional(), finite,
                                                        NumberRange(0, 2)])
    max_tokens = IntegerField("Max tokens", validators=[Optional(), not_huge,
                                                        NumberRange(1, MAX_TOKENS_LIMIT)])
    top_p = FloatField("Top p", validators=[Optional(), finite, NumberRange(0, 1)])
    n = IntegerField("Choices (n)", validators=[Optional(), not_huge, NumberRange(1, 8)])
    seed = IntegerField("Seed", validators=[Optional(), not_huge,
                                            NumberRange(-(2**63), 2**63 - 1)])
    presence_penalty = FloatField("Presence penalty", validators=[Optional(), finite,
                                                                  NumberRange(-2, 2)])
    frequency_penalty = FloatField("Frequency penalty", validators=[Optional(), finite,
                                                                    NumberRange(-2, 2)])
    stop = TextAreaField("Stop sequences", description="One per line, up to four.",
                         validators=[Optional(), Length(max=1000)])
    json_mode = BooleanField("JSON response format")
    extra = TextAreaField("Extra JSON", description="Merged into the request body.",
                          validators=[Optional(), Length(max=20_000)])

    provider = SelectField("Provider", choices=[], validate_choice=False)
    base_url = StringField("Base URL", validators=[Optional(), Length(max=2000)],
                           description="Any OpenAI-compatible API, e.g. https://host/v1.")

    NUMBERS = ("temperature", "max_tokens", "top_p", "n", "seed", "presence_penalty",
               "frequency_penalty")

    def __init__(self, *args, max_tokens_cap: int | None = None,
                 prompt_cap: int = PROMPT_LIMIT, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_tokens_cap, self.prompt_cap = max_tokens_cap, prompt_cap

    def validate_prompt(self, field) -> None:
        """The server's cap counts the system prompt and the prompt together."""
        size = len(field.data or "") + len(self.system.data or "")
        if size > self.prompt_cap:
            raise ValidationError(f"This server accepts at most {self.prompt_cap:,} characters "
                                  f"of prompt (system prompt included); this is {size:,}.")

    def validate_max_tokens(self, field) -> None:
        if self.max_tokens_cap and field.data is not None and field.data > self.max_tokens_cap:
            raise ValidationError(f"This server allows at most {self.max_tokens_cap:,}.")

    def validate_stop(self, field) -> None:
        if len(self.stop_sequences()) > MAX_STOPS:
            raise ValidationError(f"At most {MAX_STOPS} stop sequences.")

    def validate_extra(self, field) -> None:
        if not (field.data or "").strip() or field.errors:
            return  # empty, or already too long to be worth parsing
        if too_deep(field.data):
            raise ValidationError(f"Extra JSON may be nested at most {MAX_DEPTH} levels deep.")
        try:
            value = json.loads(field.data, parse_constant=_reject_constant,
                               parse_float=_finite_float)
        except NotFinite as exc:
            raise ValidationError(f"Numbers must be finite; {exc} is too large to send as "
                                  "JSON.") from None
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise ValidationError('Extra JSON must be an object, like {"top_k": 40}.')
        try:  # JSON escapes can spell lone surrogates, which no page or provider can encode
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Extra JSON contains characters that are not valid "
                                  "Unicode.") from None
        reserved = sorted(RESERVED_EXTRA & value.keys())
        if reserved:
            raise ValidationError(f"Set {', '.join(reserved)} with the form, not extra JSON.")
        for key in TOKEN_KEYS:
            if self.max_tokens_cap and key in value and not (  # bool is an int: refuse it
                    type(value[key]) is int and 0 < value[key] <= self.max_tokens_cap):
                raise ValidationError(f"{key} must be a whole number up to "
                                      f"{self.max_tokens_cap:,} on this server.")

    def parameters_open(self) -> bool:
        """Whether the parameters section should start unfolded: something there is set."""
        names = (*self.NUMBERS, "stop", "extra", "json_mode")
        return any(getattr(self, name).raw_data not in (None, [], [""]) or
                   getattr(self, name).errors for name in names)

    def stop_sequences(self) -> list[str]:
        return [line for line in (self.stop.data or "").splitlines() if line]

    def to_body(self) -> dict:
        """The request body: model, messages and only the parameters the user set."""
        messages = []
        if (self.system.data or "").strip():
            messages.append({"role": "system", "content": self.system.data})
        messages.append({"role": "user", "content": self.prompt.data})
        body: dict = {"model": self.model.data.strip(), "messages": messages}
        for name in self.NUMBERS:
            value = getattr(self, name).data
            if value is not None:
                body[name] = value
        if self.stop_sequences():
            body["stop"] = self.stop_sequences()
        if self.json_mode.data:
            body["response_format"] = {"type": "json_object"}
        self.apply_schema(body)
        if (self.extra.data or "").strip():
            body.update(json.loads(self.extra.data))
        if self.max_tokens_cap and not any(key in body for key in TOKEN_KEYS):
            body["max_tokens"] = self.max_tokens_cap  # the server's cap bounds every reply
        return body


def too_deep(text: str) -> bool:
    """Whether JSON text nests deeper than MAX_DEPTH, found without parsing (or recursing)."""
    depth = 0
    for match in JSON_NESTING.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


class NotFinite(ValueError):
    """A JSON number too large for a float (1e309): Python reads it as infinity."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotFinite(text[:40])
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def form_data(body: dict, provider: str | None = None, base_url: str | None = None) -> dict:
    """The form fields that would send this request body: the inverse of ``to_body``."""
    body = dict(body) if isinstance(body, dict) else {}
    messages = body.pop("messages", None)
    messages = messages if isinstance(messages, list) else []
    data: dict = {"model": str(body.pop("model", "") or "")}
    for message in messages:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            role = "system" if message.get("role") == "system" else "prompt"
            data[role] = message["content"]
    for name in PromptForm.NUMBERS:
        if isinstance(body.get(name), int | float) and not isinstance(body[name], bool):
            data[name] = body.pop(name)
    stop = body.pop("stop", None)
    if isinstance(stop, list):
        data["stop"] = "\n".join(str(s) for s in stop)
    elif isinstance(stop, str):
        data["stop"] = stop
    if body.get("response_format") == {"type": "json_object"}:
        data["json_mode"] = True
        body.pop("response_format")
    data.update(fields_of(body))
    extra = {k: v for k, v in body.items() if k not in RESERVED_EXTRA}
    if extra:
        data["extra"] = json.dumps(extra, ensure_ascii=False)
    if provider:
        data["provider"] = provider
    if base_url:
        data["base_url"] = base_url
    return data


def field_attributes(field, **extra) -> Markup:
    """The HTML attributes of a field's control: what WTForms' widgets write, built directly.

    WTForms renders each attribute through ``Markup.format``; for the playground's form that
    was about a millisecond of every page, most of the cost of rendering it.
    """
    flags, widget = field.flags, field.widget
    attrs: dict = {"class": "input", "id": field.id, "name": field.name,
                   "required": bool(getattr(flags, "required", False)),
                   "maxlength": getattr(flags, "maxlength", None),
                   "min": getattr(flags, "min", None), "max": getattr(flags, "max", None)}
    if field.type not in ("TextAreaField", "SelectField"):
        attrs.update(type=widget.input_type, step=getattr(widget, "step", None),
                     value=field._value())
    attrs.update(extra)
    parts = [name if value is True else f'{name}="{escape(value)}"'
             for name, value in attrs.items() if value is not None and value is not False]
    return Markup(" ".join(parts))  # noqa: S704 - names are ours, every value escaped

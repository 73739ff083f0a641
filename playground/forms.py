"""The conversation form: every field typed and bounded before any network call.

A conversation is a ``FieldList`` of turns (``turns-<i>-role``, ``-content``, …, see
editor.py for how they are posted), plus the parameters, tools, ``tool_choice`` and the
values of ``{{variables}}``. ``to_body`` builds the request through conversation.py and
variables.py (uploaded images become ``data:`` URLs from the store); ``reopen.form_data`` is
its inverse, for Continue, "Open in playground" and a run's own page.
"""

from __future__ import annotations

import json
import math
import re

from flask import has_request_context, request
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS, _Auto
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from playground.checks import Problems, check_size, check_turns, check_variables
from playground.conversation import (
    IMPORT_LIMIT,
    ROLES,
    TOOL_CHOICES,
    ToolsRefused,
    message_from_turn,
    parse_tools,
    tool_choice_body,
    tool_names,
)
from playground.images import REF, URL_LIMIT
from playground.structured import StructuredFields
from playground.variables import MAX_VARIABLES, fill, fill_text, is_template, names_in, texts_of

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


def select_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as a SelectField's choices."""
    return [SelectChoice(value, label) for value, label in pairs]


ROLE_CHOICES = list(ROLES)  # drawn by _turn.html; the form only checks the value
TOOL_CALL_ID_LIMIT = 200
TOOL_CALLS_LIMIT = 50_000
TOOLS_LIMIT = 100_000
ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # a run's public id (parent_id)
TURN_CONTROL = re.compile(r"turns-(\d{1,6})-(\w+)\Z")


class ImageForm(Form):
    """One image of a user turn, carried as a hidden pair: an upload's ref or an https URL."""

    ref = HiddenField()
    url = HiddenField()


class TurnForm(Form):
    """One message of the conversation. A plain Form: the whole form's CSRF token covers it."""

    role = SelectField("Role", choices=ROLE_CHOICES, default="user")
    content = TextAreaField("Content", validators=[Length(max=PROMPT_LIMIT)])
    tool_call_id = StringField("Tool call id", validators=[Length(max=TOOL_CALL_ID_LIMIT)])
    tool_calls = TextAreaField("Tool calls (JSON)", validators=[Length(max=TOOL_CALLS_LIMIT)])
    new_url = StringField("Image URL", validators=[Length(max=URL_LIMIT)])
    images = FieldList(FormField(ImageForm))


class ConversationForm(StructuredFields, FlaskForm):
    """A model, a conversation (its turns, tools and variables) and the optional parameters."""

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
    turns = FieldList(FormField(TurnForm))
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
    tools = TextAreaField("Tools (JSON)", validators=[Optional(), Length(max=TOOLS_LIMIT)])
    tool_choice = SelectField("Tool choice", choices=[], validate_choice=False)
    import_text = TextAreaField("Messages as JSON",
                                validators=[Optional(), Length(max=IMPORT_LIMIT)])
    parent_id = HiddenField()
    action = HiddenField()  # the pressed button's value: "run", or an editing action

    provider = SelectField("Provider", choices=[], validate_choice=False)
    base_url = StringField("Base URL", validators=[Optional(), Length(max=2000)],
                           description="Any OpenAI-compatible API, e.g. https://host/v1.")

    NUMBERS = ("temperature", "max_tokens", "top_p", "n", "seed", "presence_penalty",
               "frequency_penalty")

    def __init__(self, formdata=_Auto, *, max_tokens_cap: int | None = None,
                 prompt_cap: int = PROMPT_LIMIT, images=None,
                 extra_errors: dict | None = None, **kwargs) -> None:
        """``images`` answers ``info(refs)`` and ``get(ref)`` for this visitor's uploads;
        ``extra_errors`` are messages found before the form (an upload refused, say)."""
        super().__init__(formdata, **kwargs)
        self.posted = self.meta.wrap_formdata(self, formdata) or MultiDict()
        self.max_tokens_cap, self.prompt_cap, self.images = max_tokens_cap, prompt_cap, images
        self.extra_errors: dict[str, list[str]] = {k: list(v) for k, v in
                                                   (extra_errors or {}).items()}
        self.turn_errors: list[str] = []  # about the conversation as a whole
        self.variable_names = names_in(self.turn_dicts())[:MAX_VARIABLES + 1]
        self.variable_values = {name: self._posted_text(f"variables-{name}")
                                for name in self.variable_names}
        names = tool_names(self.tools.data or "")
        chosen = self.tool_choice.data or ""
        self.tool_choice.choices = [SelectChoice("", "Default (not sent)"), SelectChoice("auto"),
                                    SelectChoice("none"), SelectChoice("required"),
                                    *(SelectChoice(f"function:{name}", f"Only {name}")
                                      for name in names)]
        if chosen and chosen not in {choice.value for choice in self.tool_choice.choices}:
            self.tool_choice.choices.append(  # kept, and refused
                SelectChoice(chosen, chosen.removeprefix("function:")))

    def _posted_text(self, name: str) -> str:
        value = self.posted.get(name, "") if self.posted else ""
        return value if isinstance(value, str) else ""

    # -- reading the turns -------------------------------------------------------------
    def turn_dicts(self) -> list[dict]:
        """The turns as plain dicts (conversation.py's shape)."""
        return [{"role": entry.role.data or "", "content": entry.content.data or "",
                 "tool_call_id": (entry.tool_call_id.data or "").strip(),
                 "tool_calls": entry.tool_calls.data or "",
                 "images": [{"ref": (image.ref.data or "").strip(),
                             "url": (image.url.data or "").strip()}
                            for image in entry.images
                            if (image.ref.data or "").strip() or (image.url.data or "").strip()]}
                for entry in self.turns]

    def image_infos(self) -> dict:
        """What the store knows of each uploaded image the turns carry (ref -> ImageInfo)."""
        refs = [image["ref"] for turn in self.turn_dicts() for image in turn["images"]
                if REF.fullmatch(image["ref"])]
        return self.images.info(refs) if self.images is not None and refs else {}

    # -- validation --------------------------------------------------------------------
    def validate(self, extra_validators=None) -> bool:
        """Every field, then the conversation as a whole: nothing is sent unless all pass."""
        valid = super().validate(extra_validators)
        problems = Problems(fields=self.extra_errors)
        check_turns(self.turn_dicts(), self.image_infos(), problems)
        if not problems.overall:
            check_variables(self.variable_names, self.variable_values, problems)
            values = {name: value or f"{{{{{name}}}}}"
                      for name, value in self.variable_values.items()}
            check_size([(index, len(turn["tool_calls"]) + sum(
                len(fill_text(text, values) if is_template(message) else text)
                for text in texts_of(message))) for index, turn, message in self._sent(False)],
                self.prompt_cap, problems)
        self.turn_errors = problems.overall
        return valid and not problems

    def validate_max_tokens(self, field) -> None:
        if self.max_tokens_cap and field.data is not None and field.data > self.max_tokens_cap:
            raise ValidationError(f"This server allows at most {self.max_tokens_cap:,}.")

    def validate_stop(self, field) -> None:
        if len(self.stop_sequences()) > MAX_STOPS:
            raise ValidationError(f"At most {MAX_STOPS} stop sequences.")

    def validate_tools(self, field) -> None:
        if field.errors or not (field.data or "").strip():
            return
        if too_deep(field.data):
            raise ValidationError(f"The tools may be nested at most {MAX_DEPTH} levels deep.")
        try:
            parse_tools(field.data)
        except ToolsRefused as exc:
            raise ValidationError(str(exc)) from None

    def validate_tool_choice(self, field) -> None:
        value = field.data or ""
        if not value:
            return
        names = tool_names(self.tools.data or "")
        if not names:
            raise ValidationError("Add tools first: a tool choice needs them.")
        if value not in TOOL_CHOICES and value.removeprefix("function:") not in names:
            raise ValidationError("Choose auto, none, required or one of the tools above.")

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

    def messages_for(self, field_id: str) -> list[str]:
        """Every message about one control, by its id (``model``, ``turns-3-content``…)."""
        found = list(self.extra_errors.get(field_id, []))
        match = TURN_CONTROL.match(field_id)
        if match and int(match.group(1)) < len(self.turns.entries):
            entry = self.turns.entries[int(match.group(1))].form
            if match.group(2) in entry._fields:
                found[:0] = entry[match.group(2)].errors
        elif field_id in self._fields:
            found[:0] = self[field_id].errors
        return found

    def control_errors(self) -> dict[str, list[str]]:
        """Every message, keyed by its control's id (``turns-3-content``); ``turns`` for the
        conversation as a whole."""
        found = {name: list(errors) for name, errors in self.errors.items()
                 if name != "turns" and isinstance(errors, list)}
        for index, entry in enumerate(self.turns.entries):
            for name, errors in entry.form.errors.items():
                if name != "images" and isinstance(errors, list):
                    found.setdefault(f"turns-{index}-{name}", []).extend(errors)
        for key, errors in self.extra_errors.items():
            found.setdefault(key, []).extend(errors)
        if self.turn_errors:
            found["turns"] = list(self.turn_errors)
        return found

    # -- what the page shows -----------------------------------------------------------
    def parameters_open(self) -> bool:
        """Whether the parameters section should start unfolded: something there is set."""
        names = (*self.NUMBERS, "stop", "extra", "json_mode", "use_schema", "schema")
        return any(getattr(self, name).raw_data not in (None, [], [""]) or
                   getattr(self, name).errors for name in names)

    def tools_open(self) -> bool:
        return bool((self.tools.data or "").strip() or self.tools.errors or
                    self.tool_choice.errors or "tools" in self.extra_errors)

    def stop_sequences(self) -> list[str]:
        return [line for line in (self.stop.data or "").splitlines() if line]

    # -- the request -------------------------------------------------------------------
    def _sent(self, images: bool = True) -> list[tuple[int, dict, dict]]:
        """Each turn that is sent: its index, the turn and its message (a template).

        ``images=False`` leaves the image parts' URLs out (no upload is read).
        """
        sent = []
        for index, turn in enumerate(self.turn_dicts()):
            if turn["role"] in ("system", "developer") and not turn["content"].strip():
                continue  # an empty instruction box is not sent
            if turn["role"] != "user":
                turn = {**turn, "images": []}  # only user turns carry images
            urls = [self._image_url(image) if images else "" for image in turn["images"]]
            sent.append((index, turn, message_from_turn(turn, urls)))
        return sent

    def _image_url(self, image: dict) -> str:
        if not image["ref"]:
            return image["url"]
        found = self.images.get(image["ref"]) if self.images is not None else None
        return found.data_url() if found is not None else ""

    def template_messages(self) -> list[dict]:
        """The messages before substitution (what a saved run keeps as its template)."""
        return [message for _, _, message in self._sent()]

    def to_body(self) -> dict:
        """The request body: model, messages and only the parameters the user set."""
        template = self.template_messages()
        values = {name: self.variable_values[name] for name in self.variable_names}
        messages = fill(template, values) if values else template
        self.template, self.values = (template, values) if values else (None, {})
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
        if (self.tools.data or "").strip():
            body["tools"] = parse_tools(self.tools.data)
        if tool_choice_body(self.tool_choice.data or ""):
            body["tool_choice"] = tool_choice_body(self.tool_choice.data)
        if (self.extra.data or "").strip():
            body.update(json.loads(self.extra.data))
        if self.max_tokens_cap and not any(key in body for key in TOKEN_KEYS):
            body["max_tokens"] = self.max_tokens_cap  # the server's cap bounds every reply
        return body

    def parent(self) -> str | None:
        """The run this one continues, when the hidden field holds a run id."""
        value = (self.parent_id.data or "").strip()
        return value if ID.fullmatch(value) else None


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

"""The compare form: one conversation, and 2 to 4 lanes that each send it to a model.

Each lane has its model, its provider (where several are configured) and its own overrides;
a shared seed, when ticked, is sent by every lane. Every value is typed and bounded here, as
the playground's form bounds its own, before anything is reserved or sent.

The conversation is the playground's own editor (``ConversationForm``: turns, images,
variables, tools), posted with the lanes in one form; ``conversation`` is the one seam to it:
the part of the body every lane sends.
"""

from __future__ import annotations

import json

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from playground.forms import (
    MAX_TOKENS_LIMIT,
    ConversationForm,
    finite,
    not_huge,
    printable,
    select_choices,
    too_deep,
)
from playground.records import prompt_of

MIN_LANES, MAX_LANES = 2, 4
EFFORTS = [SelectChoice("", "Not sent"), SelectChoice("low"), SelectChoice("medium"),
           SelectChoice("high")]
RESERVED_LANE = {"model", "messages", "stream", "stream_options", "seed"}
CONVERSATION = ("messages", "tools", "tool_choice")  # what every lane sends alike
NOT_KEPT = {"csrf_token", "action", "user_key"}  # never saved with a comparison


class LaneForm(Form):
    """One lane: where the conversation goes, and how it is sampled there."""

    model = StringField("Model", validators=[DataRequired("Enter a model name."),
                                             Length(max=200), printable])
    provider = SelectField("Provider", choices=[], validate_choice=False)
    temperature = FloatField("Temperature", validators=[Optional(), finite, NumberRange(0, 2)])
    max_tokens = IntegerField("Max tokens", validators=[Optional(), not_huge,
                                                        NumberRange(1, MAX_TOKENS_LIMIT)])
    top_p = FloatField("Top p", validators=[Optional(), finite, NumberRange(0, 1)])
    seed = IntegerField("Seed", validators=[Optional(), not_huge,
                                            NumberRange(-(2**63), 2**63 - 1)])
    reasoning_effort = SelectField("Reasoning effort", choices=EFFORTS, default="")
    extra = TextAreaField("Extra JSON", validators=[Optional(), Length(max=20_000)])

    NUMBERS = ("temperature", "max_tokens", "top_p", "seed")

    def validate_extra(self, field) -> None:
        """The playground's own checks (depth, finite numbers, an object), and no lane keys."""
        if not (field.data or "").strip() or field.errors:
            return
        probe = ConversationForm(None, meta={"csrf": False})
        probe.extra.data = field.data
        try:
            probe.validate_extra(probe.extra)
        except ValidationError as exc:
            if "with the form" not in str(exc):
                raise
        reserved = sorted(RESERVED_LANE & json.loads(field.data).keys())
        if reserved:
            raise ValidationError(f"Set {', '.join(reserved)} with the form, not extra JSON.")


class CompareForm(FlaskForm):
    """The lanes and the shared seed; the conversation is its own form, posted alongside."""

    lanes = FieldList(FormField(LaneForm), min_entries=MIN_LANES, max_entries=MAX_LANES + 1)
    same_seed = BooleanField("Same seed in every lane")
    seed = IntegerField("Shared seed", validators=[Optional(), not_huge,
                                                   NumberRange(-(2**63), 2**63 - 1)])

    def __init__(self, *args, conversation: ConversationForm, max_tokens_cap: int | None = None,
                 provider_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conversation, self.max_tokens_cap = conversation, max_tokens_cap
        for lane in self.lanes:
            lane.provider.choices = select_choices(provider_choices)

    def validate(self, extra_validators=None) -> bool:
        """The lanes and the conversation: nothing is reserved unless both pass."""
        lanes_ok = super().validate(extra_validators)
        return self.conversation.validate() and lanes_ok

    def validate_seed(self, field) -> None:
        if self.same_seed.data and field.data is None:
            raise ValidationError("Enter the seed every lane should send.")

    def validate_lanes(self, field) -> None:
        if not MIN_LANES <= len(field.entries) <= MAX_LANES:
            raise ValidationError(f"Compare {MIN_LANES} to {MAX_LANES} lanes.")
        for lane in field.entries:
            cap, tokens = self.max_tokens_cap, lane.form.max_tokens
            if cap and tokens.data is not None and tokens.data > cap:
                tokens.errors = [*tokens.errors, f"This server allows at most {cap:,}."]
                raise ValidationError("A lane asks for more tokens than this server allows.")

    def shared_body(self) -> dict:
        """What every lane sends alike (messages, tools): the seam to the conversation editor."""
        if not hasattr(self, "_shared"):
            body = self.conversation.to_body()  # variables filled in, images as data: URLs
            self._shared = {key: body[key] for key in CONVERSATION if key in body}
        return self._shared

    def lane_body(self, number: int, shared: dict | None = None, draft: bool = False) -> dict:
        """The request body of one lane: the conversation, its model and its overrides (a
        ``draft`` leaves out extra JSON nested too deep to parse, which validation refuses)."""
        lane = self.lanes.entries[number].form
        shared = self.shared_body() if shared is None else shared
        body: dict = {"model": (lane.model.data or "").strip(), **shared}
        for name in LaneForm.NUMBERS:
            value = getattr(lane, name).data
            if value is not None:
                body[name] = value
        if self.same_seed.data and self.seed.data is not None:
            body["seed"] = self.seed.data
        if lane.reasoning_effort.data:
            body["reasoning_effort"] = lane.reasoning_effort.data
        if (lane.extra.data or "").strip() and not (draft and too_deep(lane.extra.data)):
            body.update(json.loads(lane.extra.data))
        if self.max_tokens_cap and not any(
                key in body for key in ("max_tokens", "max_completion_tokens")):
            body["max_tokens"] = self.max_tokens_cap
        return body

    def draft_lanes(self) -> list[tuple[str | None, dict]]:
        """Each lane's ``(provider, body)`` as the form would send it now, even half-filled,
        for the pre-flight only: a part that does not parse yet is left out, never raised."""
        try:
            shared = {} if too_deep(self.conversation.extra.data or "") else self.shared_body()
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
            shared = {}
        drafts = []
        for number, entry in enumerate(self.lanes.entries[:MAX_LANES]):
            try:
                body = self.lane_body(number, shared, draft=True)
            except (ValueError, TypeError, AttributeError):  # extra JSON half-typed, say
                body = {"model": (entry.form.model.data or "").strip(), **shared}
            drafts.append((entry.form.provider.data or None, body))
        return drafts

    def summary(self) -> str:
        """What the history shows as the comparison's prompt: its last user turn."""
        return prompt_of({"messages": self.shared_body().get("messages") or []})


def fields(formdata) -> dict:
    """What a comparison keeps of its form, to show it and Re-run it: the fields as posted."""
    return {"posted": [[key, value] for key, value in formdata.items(multi=True)
                       if isinstance(value, str) and key not in NOT_KEPT]}

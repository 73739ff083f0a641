"""The compare form: one conversation, and 2 to 4 lanes that each send it to a model.

Each lane has its model, its provider (where several are configured) and its own overrides;
a shared seed, when ticked, is sent by every lane. Every value is typed and bounded here, as
the playground's form bounds its own, before anything is reserved or sent.

``conversation`` is the one seam to the conversation editor: it reads the conversation part
of the form (today the system prompt and the prompt) into the messages every lane sends.
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
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from playground.forms import (
    MAX_TOKENS_LIMIT,
    PROMPT_LIMIT,
    PromptForm,
    finite,
    not_huge,
    printable,
)

MIN_LANES, MAX_LANES = 2, 4
EFFORTS = [("", "Not sent"), ("low", "low"), ("medium", "medium"), ("high", "high")]
RESERVED_LANE = {"model", "messages", "stream", "stream_options", "seed"}


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
        probe = PromptForm(formdata=None, meta={"csrf": False})
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
    """The conversation, the lanes and the shared seed."""

    system = TextAreaField("System prompt", validators=[Optional(), Length(max=PROMPT_LIMIT)])
    prompt = TextAreaField("Prompt", validators=[DataRequired("Write a prompt to send."),
                                                 Length(max=PROMPT_LIMIT)])
    # One more entry than allowed is read, so a post of too many lanes is refused, not cut.
    lanes = FieldList(FormField(LaneForm), min_entries=MIN_LANES, max_entries=MAX_LANES + 1)
    same_seed = BooleanField("Same seed in every lane")
    seed = IntegerField("Shared seed", validators=[Optional(), not_huge,
                                                   NumberRange(-(2**63), 2**63 - 1)])

    def __init__(self, *args, max_tokens_cap: int | None = None,
                 prompt_cap: int = PROMPT_LIMIT, provider_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_tokens_cap, self.prompt_cap = max_tokens_cap, prompt_cap
        for lane in self.lanes:
            lane.provider.choices = list(provider_choices)

    def validate_prompt(self, field) -> None:
        size = len(field.data or "") + len(self.system.data or "")
        if size > self.prompt_cap:
            raise ValidationError(f"This server accepts at most {self.prompt_cap:,} characters "
                                  f"of prompt (system prompt included); this is {size:,}.")

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

    def conversation(self) -> list[dict]:
        """The messages every lane sends: the seam to the conversation editor."""
        messages = []
        if (self.system.data or "").strip():
            messages.append({"role": "system", "content": self.system.data})
        messages.append({"role": "user", "content": self.prompt.data})
        return messages

    def lane_body(self, number: int) -> dict:
        """The request body of one lane: the conversation, its model and its overrides."""
        lane = self.lanes.entries[number].form
        body: dict = {"model": lane.model.data.strip(), "messages": self.conversation()}
        for name in LaneForm.NUMBERS:
            value = getattr(lane, name).data
            if value is not None:
                body[name] = value
        if self.same_seed.data and self.seed.data is not None:
            body["seed"] = self.seed.data
        if lane.reasoning_effort.data:
            body["reasoning_effort"] = lane.reasoning_effort.data
        if (lane.extra.data or "").strip():
            body.update(json.loads(lane.extra.data))
        if self.max_tokens_cap and not any(
                key in body for key in ("max_tokens", "max_completion_tokens")):
            body["max_tokens"] = self.max_tokens_cap
        return body

    def summary(self) -> str:
        """What the history shows as the comparison's prompt."""
        return self.prompt.data or ""


def form_data(data: dict) -> dict:
    """The fields of a saved comparison's form (``data`` as ``fields`` saved it), for Re-run."""
    return data if isinstance(data, dict) else {}


def fields(form: CompareForm) -> dict:
    """What a comparison keeps of its form, to fill it in again."""
    return {"system": form.system.data, "prompt": form.prompt.data,
            "same_seed": bool(form.same_seed.data), "seed": form.seed.data,
            "lanes": [{name: getattr(lane.form, name).data for name in (
                "model", "provider", "temperature", "max_tokens", "top_p", "seed",
                "reasoning_effort", "extra")} for lane in form.lanes.entries]}

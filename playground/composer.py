"""What the form's page shows: each control's attributes, the turns, the variables panel.

The turns are drawn from plain views (``TurnView``) rather than WTForms widgets, so the same
macro draws a posted turn and the ``<template>`` a script clones (index ``__index__``), and
every message is tied to its control by id (``turns-3-content-errors``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape

from playground.conversation import ROLES, tool_labels

TURN_FIELDS = ("role", "content", "tool_call_id", "tool_calls", "new_url", "upload")
CONTENT_HINTS = {
    "system": "Instructions for the whole conversation. Empty: not sent.",
    "developer": "Instructions from you, the developer. Empty: not sent.",
    "user": "What the user says. {{name}} is a variable.",
    "assistant": "A reply, as if the model wrote it: edit it to steer the next one.",
    "tool": "What the tool returned (a mock result is fine).",
}


def field_attributes(field, **extra) -> Markup:
    """The HTML attributes of a field's control: what WTForms' widgets write, built directly.

    WTForms renders each attribute through ``Markup.format``; for the playground's form that
    was about a millisecond of every page, most of the cost of rendering it. A field with a
    message is marked invalid and described by that message.
    """
    flags, widget = field.flags, field.widget
    attrs: dict = {"class": "input", "id": field.id, "name": field.name,
                   "required": bool(getattr(flags, "required", False)),
                   "maxlength": getattr(flags, "maxlength", None),
                   "min": getattr(flags, "min", None), "max": getattr(flags, "max", None)}
    if field.type not in ("TextAreaField", "SelectField"):
        attrs.update(type=widget.input_type, step=getattr(widget, "step", None),
                     value=field._value())
    if field.errors:
        attrs.update({"aria-invalid": "true", "aria-describedby": f"{field.id}-errors"})
    attrs.update(extra)
    parts = [name if value is True else f'{name}="{escape(value)}"'
             for name, value in attrs.items() if value is not None and value is not False]
    return Markup(" ".join(parts))  # noqa: S704 - names are ours, every value escaped


@dataclass
class TurnView:
    """One turn as the page draws it."""

    index: int | str  # "__index__" in a template
    role: str
    content: str = ""
    tool_call_id: str = ""
    tool_calls: str = ""
    new_url: str = ""
    images: list = field(default_factory=list)  # {"ref", "url", "info"}
    errors: dict = field(default_factory=dict)  # field name -> messages
    call: dict | None = None  # for a tool result: the call's function name and arguments

    @property
    def number(self) -> int | str:
        return self.index + 1 if isinstance(self.index, int) else "__number__"

    def id(self, name: str) -> str:
        return f"turns-{self.index}-{name}"

    def describedby(self, name: str, *also: str) -> str:
        """The ids that describe a control: its hints, then its messages when it has any."""
        ids = [self.id(part) for part in also]
        if self.errors.get(name):
            ids.append(self.id(name) + "-errors")
        return " ".join(ids)

    @property
    def hint(self) -> str:
        return CONTENT_HINTS.get(self.role, "")

    @property
    def content_label(self) -> str:
        if self.role == "tool" and self.call:
            return f"Result of {self.call['name']}"
        return "Content"


def turn_views(form) -> list[TurnView]:
    """The form's turns as the page draws them, with every message on its control."""
    turns = form.turn_dicts()
    infos = form.image_infos()
    labels = tool_labels(turns)
    views = []
    for index, (entry, turn) in enumerate(zip(form.turns, turns, strict=True)):
        errors = {name: [*getattr(entry.form, name).errors,
                         *form.extra_errors.get(f"turns-{index}-{name}", [])]
                  if hasattr(entry.form, name) else
                  list(form.extra_errors.get(f"turns-{index}-{name}", []))
                  for name in TURN_FIELDS}
        views.append(TurnView(
            index=index, role=turn["role"] if turn["role"] in ROLES else "user",
            content=turn["content"], tool_call_id=turn["tool_call_id"],
            tool_calls=turn["tool_calls"], new_url=entry.new_url.data or "",
            images=[{**image, "info": infos.get(image["ref"])} for image in turn["images"]],
            errors={name: messages for name, messages in errors.items() if messages},
            call=labels.get(turn["tool_call_id"]) if turn["role"] == "tool" else None))
    return views


def blank_turn(role: str) -> TurnView:
    """The turn a script clones for "Add turn": every field empty, numbered by placeholders."""
    return TurnView(index="__index__", role=role)


def variable_views(form) -> list[dict]:
    """One value box per variable the turns use, with its message."""
    return [{"name": name, "value": form.variable_values.get(name, ""),
             "errors": form.extra_errors.get(f"variables-{name}", [])}
            for name in form.variable_names]


def first_problem(form) -> str | None:
    """The id of the first control with a message, in the page's order, for focus."""
    for view in turn_views(form):
        for name in TURN_FIELDS:
            if view.errors.get(name):
                return view.id(name)
    for name in form.variable_names:
        if form.extra_errors.get(f"variables-{name}"):
            return f"variables-{name}"
    for name in ("model", "tools", "tool_choice", *form.NUMBERS, "stop", "extra", "provider",
                 "base_url", "import_text"):
        if form[name].errors:
            return form[name].id
    return None


def last_content(form) -> str | None:
    """Where typing goes next: the last turn's content box."""
    count = len(form.turns.entries)
    return f"turns-{count - 1}-content" if count else "add-user"

"""What makes a conversation sendable, turn by turn: pure rules with a message on the exact field.

The form's own validators bound each field (lengths, choices); these rules read the turns
together: an empty message, a tool result that answers no call, images past their caps, the
server's character cap over every turn. Each message is keyed by the id of the control it is
about (``turns-3-content``), so the page shows it there and ties it to the control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playground.conversation import MAX_TURNS, ToolsRefused, parse_tool_calls
from playground.images import ImageRefused, check_totals, check_url
from playground.variables import MAX_VARIABLES, VALUE_LIMIT


@dataclass
class Problems:
    """Messages about the conversation as a whole, and messages keyed by a control's id."""

    overall: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, field_id: str, message: str) -> None:
        self.fields.setdefault(field_id, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.overall or self.fields)


def check_turns(turns: list[dict], infos: dict, problems: Problems) -> None:
    """Each turn has what its role needs; tool results answer earlier calls; image caps.

    ``infos`` maps an uploaded image's ref to what the store knows of it (absent: gone).
    """
    if not turns:
        problems.overall.append("The conversation is empty: add a turn to send.")
        return
    if len(turns) > MAX_TURNS:
        problems.overall.append(f"A conversation may have at most {MAX_TURNS} turns; this one "
                                f"has {len(turns)}. Delete {len(turns) - MAX_TURNS}.")
        return
    if all(turn["role"] in ("system", "developer") for turn in turns):
        problems.overall.append("Add a user turn: instructions alone are not a conversation.")
    sizes: list[int] = []
    calls: set[str] = set()
    for index, turn in enumerate(turns):
        prefix, role = f"turns-{index}-", turn["role"]
        if role == "user":
            if not turn["content"].strip() and not turn["images"]:
                problems.add(prefix + "content", "Write a message to send, or delete this turn.")
            sizes += _check_images(index, turn["images"], infos, sizes, problems)
        elif role == "assistant":
            if turn["tool_calls"].strip():
                try:
                    calls |= {call["id"] for call in parse_tool_calls(turn["tool_calls"])}
                except ToolsRefused as exc:
                    problems.add(prefix + "tool_calls", str(exc))
            elif not turn["content"].strip():
                problems.add(prefix + "content", "Write the assistant's reply (or its tool "
                                                 "calls), or delete this turn.")
        elif role == "tool":
            if not turn["tool_call_id"]:
                problems.add(prefix + "tool_call_id", "Give the id of the tool call this "
                                                      "answers.")
            elif turn["tool_call_id"] not in calls:
                problems.add(prefix + "tool_call_id", "No earlier assistant turn made a call "
                                                      f"with the id {turn['tool_call_id']!r}.")
            if not turn["content"].strip():
                problems.add(prefix + "content", "Type the tool's result (a mock result is "
                                                 "fine).")


def _check_images(index: int, images: list[dict], infos: dict, before: list[int],
                  problems: Problems) -> list[int]:
    """A user turn's images: each upload still kept, each URL https; then the run's caps."""
    sizes = []
    where = f"turns-{index}-upload"
    for image in images:
        if image["ref"]:
            info = infos.get(image["ref"])
            if info is None:
                problems.add(where, "An uploaded image is no longer available; upload it "
                                    "again.")
                continue
            sizes.append(info.size)
        else:
            try:
                check_url(image["url"])
            except ImageRefused as exc:
                problems.add(where, str(exc))
            sizes.append(0)  # a URL counts towards the number of images, not their bytes
    if sizes:
        try:
            check_totals(before)
        except ImageRefused:
            return sizes  # already past a cap: said once, on the turn that went past it
        try:
            check_totals(before + sizes)
        except ImageRefused as exc:
            problems.add(where, str(exc))
    return sizes


def check_variables(names: list[str], values: dict[str, str], problems: Problems) -> None:
    """Every variable used has a value, and no value is past its cap."""
    if len(names) > MAX_VARIABLES:
        problems.add("variables", f"At most {MAX_VARIABLES} variables in a conversation.")
        return
    for name in names:
        value = values.get(name) or ""
        if not value:
            problems.add(f"variables-{name}", f"Give {{{{{name}}}}} a value: it is used in "
                                              "the conversation.")
        elif len(value) > VALUE_LIMIT:
            problems.add(f"variables-{name}", f"A value may be at most {VALUE_LIMIT:,} "
                                              "characters.")


def check_size(sizes: list[tuple[int, int]], cap: int, problems: Problems) -> None:
    """The server's cap counts every turn as sent: ``sizes`` is (turn index, characters)."""
    total = 0
    for index, size in sizes:
        total += size
        if total > cap:
            problems.add(f"turns-{index}-content",
                         f"This server accepts at most {cap:,} characters in all the turns "
                         f"together; this turn brings them to {total:,}.")
            return

"""The turn editor without JavaScript: posted fields as turns, and the buttons that edit them.

The form posts a conversation as flat fields, ``turns-<i>-<name>`` and
``turns-<i>-images-<k>-ref|url``. ``read_turns`` takes them in order of their index (however
the browser numbered them, and before WTForms sees them, so 201 turns can be counted and
refused with a message rather than cut off), ``write_turns`` numbers them 0, 1, 2… again, and
``apply`` performs one button (``action=delete-3``…) and says where focus goes and what to
announce. Pure: no Flask, no store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playground.conversation import MAX_TURNS, ROLES, empty_turn

TURN_FIELD = re.compile(r"turns-(\d{1,6})-(role|content|tool_call_id|tool_calls|new_url)\Z")
IMAGE_FIELD = re.compile(r"turns-(\d{1,6})-images-(\d{1,3})-(ref|url)\Z")
TURN_KEYS = ("role", "content", "tool_call_id", "tool_calls")
ACTION = re.compile(r"(add|delete|up|down|role|remove-image)(?:-(\w+))?(?:-(\d{1,3}))?\Z")
SIMPLE_ACTIONS = ("run", "import", "export", "clear", "tools-example", "refresh-variables")
ROLE_NAMES = {"system": "system", "developer": "developer", "user": "user",
              "assistant": "assistant", "tool": "tool result"}
TOOLS_EXAMPLE = """[
  {
    "type": "function",
    "function": {
      "name": "get_weather",
      "description": "The current weather in a city.",
      "parameters": {
        "type": "object",
        "properties": {
          "city": {"type": "string", "description": "The city, e.g. Paris"},
          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
        },
        "required": ["city"]
      }
    }
  }
]"""


def default_turns() -> list[dict]:
    """A new conversation: an optional system prompt, then the user's first message."""
    return [empty_turn("system"), empty_turn("user")]


def read_turns(pairs) -> list[dict]:
    """The posted turns, ordered by index; text values only (file parts are not text).

    Each turn keeps the index it was posted with as ``posted`` (its upload field's name).
    """
    turns: dict[int, dict] = {}
    images: dict[int, dict[int, dict]] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        match = TURN_FIELD.match(key)
        if match:
            index = int(match.group(1))
            turn = turns.setdefault(index, {**empty_turn(""), "posted": index})
            turn[match.group(2)] = value
            continue
        match = IMAGE_FIELD.match(key)
        if match:
            index = int(match.group(1))
            turns.setdefault(index, {**empty_turn(""), "posted": index})
            image = images.setdefault(index, {}).setdefault(int(match.group(2)),
                                                            {"ref": "", "url": ""})
            image[match.group(3)] = value.strip()
    ordered = []
    for index in sorted(turns):
        turn = turns[index]
        turn["images"] = [image for _, image in sorted(images.get(index, {}).items())
                          if image["ref"] or image["url"]]
        ordered.append(turn)
    return ordered


def write_turns(turns: list[dict]) -> list[tuple[str, str]]:
    """The turns as the form posts them, numbered from 0."""
    pairs = []
    for index, turn in enumerate(turns):
        prefix = f"turns-{index}-"
        pairs += [(prefix + key, str(turn.get(key) or "")) for key in TURN_KEYS]
        for number, image in enumerate(turn.get("images") or []):
            pairs += [(f"{prefix}images-{number}-ref", image.get("ref") or ""),
                      (f"{prefix}images-{number}-url", image.get("url") or "")]
        if turn.get("new_url"):
            pairs.append((prefix + "new_url", turn["new_url"]))
    return pairs


@dataclass
class Edit:
    """What one button did: the turns now, where focus goes, what is announced."""

    turns: list[dict]
    message: str = ""
    focus: str | None = None  # the id of the control that gets focus
    fields: dict = field(default_factory=dict)  # other fields to set: tools, import_text, …
    errors: dict = field(default_factory=dict)  # field id -> messages


def is_action(action: str) -> bool:
    """Whether ``action`` is a button this editor knows (anything else runs the form)."""
    return action in SIMPLE_ACTIONS or bool(ACTION.match(action or ""))


def _role_of(word: str | None) -> str | None:
    return word if word in ROLES else None


def _next_role(turns: list[dict]) -> str:
    """The role a plain "Add turn" gives: the other side of the last exchange."""
    last = turns[-1]["role"] if turns else "system"
    return "assistant" if last == "user" else "user"


def _content(index: int) -> str:
    return f"turns-{index}-content"


def apply(action: str, turns: list[dict], *, tools: str = "") -> Edit:
    """Perform one editing button on the turns (import, export and the variables panel are
    the caller's: they need the store or the whole form)."""
    turns = [dict(turn) for turn in turns]
    if action == "clear":
        return Edit(default_turns(), "New conversation: the turns are cleared.", _content(1),
                    fields={"parent_id": "", "import_text": ""})
    if action == "tools-example":
        if tools.strip():
            return Edit(turns, "The tools box is not empty: clear it to insert the example.",
                        "tools", errors={"tools": ["Clear this box first; the example "
                                                   "replaces nothing you typed."]})
        return Edit(turns, "An example tool, get_weather, is in the tools box.", "tools",
                    fields={"tools": TOOLS_EXAMPLE})
    match = ACTION.match(action or "")
    if not match:
        return Edit(turns)
    verb, word, number = match.group(1), match.group(2), match.group(3)
    if verb == "add":
        role = _role_of(word) or _next_role(turns)
        if len(turns) >= MAX_TURNS:
            return Edit(turns, f"A conversation may have at most {MAX_TURNS} turns.",
                        _content(len(turns) - 1))
        turns.append(empty_turn(role))
        return Edit(turns, f"Turn {len(turns)} added ({ROLE_NAMES[role]}).",
                    _content(len(turns) - 1))
    index = int(word) if word and word.isdigit() else None
    if verb == "remove-image":
        image = int(number) if number is not None else None
        if index is None or index >= len(turns) or image is None or \
                image >= len(turns[index].get("images") or []):
            return Edit(turns)
        turns[index]["images"] = [x for k, x in enumerate(turns[index]["images"]) if k != image]
        return Edit(turns, f"Image {image + 1} removed from turn {index + 1}.",
                    f"turns-{index}-upload")
    if index is None or index >= len(turns):
        return Edit(turns)  # a stale button (the turn is gone): nothing to do
    if verb == "delete":
        del turns[index]
        if not turns:
            return Edit(turns, f"Turn {index + 1} deleted; the conversation is empty.",
                        "add-user")
        focus = min(index, len(turns) - 1)
        return Edit(turns, f"Turn {index + 1} deleted.", _content(focus))
    if verb in ("up", "down"):
        other = index - 1 if verb == "up" else index + 1
        if not 0 <= other < len(turns):
            edge = "first" if verb == "up" else "last"
            return Edit(turns, f"Turn {index + 1} is already the {edge}.", _content(index))
        turns[index], turns[other] = turns[other], turns[index]
        return Edit(turns, f"Turn {index + 1} moved {verb}: it is now turn {other + 1}.",
                    _content(other))
    # role: the select's new value was posted with the turn; the page now shows its fields
    role = turns[index].get("role")
    return Edit(turns, f"Turn {index + 1} is now a {ROLE_NAMES.get(role, role)} turn.",
                _content(index))

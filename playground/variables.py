"""``{{name}}`` variables in a conversation: find them, and fill them in before sending.

Only system, developer and user turns are templates. Assistant and tool turns, tools, the
schema and extra JSON are sent as written, so a reply full of template code stays literal when
a conversation is continued. ``\\{{`` sends literal braces. Substitution is one pass: a value
that itself contains ``{{x}}`` is sent as typed.
"""

from __future__ import annotations

import re

NAME = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
# An escaped opener, or a variable with optional inner spaces: {{name}} or {{ name }}.
TOKEN = re.compile(r"\\\{\{|\{\{\s*(" + NAME + r")\s*\}\}")
TEMPLATE_ROLES = ("system", "developer", "user")
MAX_VARIABLES = 50
VALUE_LIMIT = 100_000


class MissingValues(ValueError):
    """Variables used in the conversation with no value given."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def names_in_text(text: str) -> list[str]:
    """The variable names in one text, in order of first appearance."""
    found: list[str] = []
    for match in TOKEN.finditer(text or ""):
        name = match.group(1)
        if name and name not in found:
            found.append(name)
    return found


def texts_of(message: dict) -> list[str]:
    """The text of a message: its content, or the text parts of its content list."""
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [part["text"] for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)]
    return []


def is_template(message) -> bool:
    return isinstance(message, dict) and message.get("role") in TEMPLATE_ROLES


def names_in(messages: list) -> list[str]:
    """Every variable name in the template turns of a conversation, in order."""
    found: list[str] = []
    for message in messages:
        if is_template(message):
            for text in texts_of(message):
                found += [name for name in names_in_text(text) if name not in found]
    return found


def fill_text(text: str, values: dict[str, str]) -> str:
    """One text with its variables filled in and ``\\{{`` turned into ``{{``."""
    def replace(match: re.Match) -> str:
        name = match.group(1)
        return "{{" if name is None else values[name]
    return TOKEN.sub(replace, text)


def fill(messages: list, values: dict[str, str]) -> list:
    """The messages to send: template turns filled in, every other turn untouched.

    Raises MissingValues naming each variable that is used but empty or absent.
    """
    missing = [name for name in names_in(messages) if not values.get(name)]
    if missing:
        raise MissingValues(missing)
    filled = []
    for message in messages:
        if not is_template(message):
            filled.append(message)
            continue
        content = message.get("content")
        if isinstance(content, str):
            content = fill_text(content, values)
        elif isinstance(content, list):
            content = [{**part, "text": fill_text(part["text"], values)}
                       if isinstance(part, dict) and isinstance(part.get("text"), str)
                       else part for part in content]
        filled.append({**message, "content": content})
    return filled

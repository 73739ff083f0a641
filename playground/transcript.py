"""A conversation shown read-only (a run's page, a share page): every turn treated as hostile.

Assistant and tool turns may have been typed by anyone, so they get the same renderer as a
model's reply (markdown, then the sanitizer); user, system and developer turns are shown as
escaped plain text. Images are described, never embedded from elsewhere: an upload is shown by
its reference (the page serves it from this site), a remote URL is a link nobody follows for
you. Pure: the markdown renderer is handed in.
"""

from __future__ import annotations

import json
import re

from playground.images import human_size, parse_ref_url
from playground.variables import texts_of

ROLE_LABELS = {"system": "System", "developer": "Developer", "user": "User",
               "assistant": "Assistant", "tool": "Tool result"}
DATA_PREFIX = re.compile(r"data:(image/[a-z+.-]{1,30});base64,", re.IGNORECASE)
SHOWN_LIMIT = 200  # turns drawn; a longer conversation says how many more there are


def _image(url) -> dict | None:
    if not isinstance(url, str):
        return None
    stored = parse_ref_url(url)
    if stored:
        mime, ref, size = stored
        return {"ref": ref, "caption": f"{mime.removeprefix('image/').upper()} · "
                                       f"{human_size(size)}"}
    if url.startswith("data:"):
        match = DATA_PREFIX.match(url)
        kind = match.group(1).removeprefix("image/").upper() if match else "IMAGE"
        return {"caption": f"{kind} · {human_size(len(url) * 3 // 4)} (inline)"}
    return {"url": url}


def view(messages, markdown) -> list[dict]:
    """Each message as the page shows it; ``markdown(text)`` is the reply renderer."""
    if not isinstance(messages, list):
        return []
    turns = []
    for message in messages[:SHOWN_LIMIT]:
        if not isinstance(message, dict):
            continue
        role = message.get("role") if message.get("role") in ROLE_LABELS else "user"
        text = "\n".join(texts_of(message))
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            text = json.dumps(content, ensure_ascii=False)  # odd content is shown, as JSON
        parts = content if isinstance(content, list) else []
        images = [_image(part["image_url"].get("url")) for part in parts
                  if isinstance(part, dict) and isinstance(part.get("image_url"), dict)]
        calls = message.get("tool_calls")
        turns.append({
            "role": role, "label": ROLE_LABELS[role], "text": text,
            "html": markdown(text) if role in ("assistant", "tool") and text else None,
            "tool_call_id": str(message.get("tool_call_id") or "") if role == "tool" else "",
            "tool_calls": json.dumps(calls, indent=2, ensure_ascii=False) if calls else "",
            "images": [image for image in images if image]})
    return turns


def hidden(messages) -> int:
    """How many turns ``view`` leaves out of a very long conversation."""
    return max(len(messages) - SHOWN_LIMIT, 0) if isinstance(messages, list) else 0

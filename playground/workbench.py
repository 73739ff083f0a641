"""The conversation form's posts: turns put in order, uploads kept, one editing button done.

Every post of the form goes through ``read`` first, whatever its button: the turns are read in
order of their index and numbered again (editor.py), each uploaded file is judged by its bytes
and kept for its owner (the form then carries its reference, so no later post, and no 400 page,
loses it), and a typed image URL joins its turn once it passes the https check. A button other
than Run is then done by ``edit`` and the form comes back changed; nothing is sent anywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from playground import editor
from playground.conversation import (
    ImportRefused,
    empty_turn,
    message_from_turn,
    parse_import,
    turns_from_messages,
)
from playground.images import MAX_IMAGE_BYTES, ImageRefused, accept, check_url, from_data_url
from playground.variables import names_in

UPLOAD = re.compile(r"turns-(\d{1,6})-upload\Z")
NAME_SHOWN = 80  # characters of a file's name quoted in a message


@dataclass
class Post:
    """One post of the form, read: the fields to build the form from, the button, messages."""

    formdata: MultiDict
    action: str
    turns: list[dict]
    errors: dict = field(default_factory=dict)  # control id -> messages

    def add_error(self, field_id: str, message: str) -> None:
        self.errors.setdefault(field_id, []).append(message)


def rebuild(posted, turns: list[dict], fields: dict | None = None) -> MultiDict:
    """The posted fields with the turns (numbered from 0) and ``fields`` put in."""
    fields = fields or {}
    pairs = [(key, value) for key, value in posted.items(multi=True)
             if isinstance(value, str) and not key.startswith("turns-")
             and key not in fields and key not in ("action", "prompt", "system")]
    pairs += [(key, value) for key, value in fields.items() if value is not None]
    return MultiDict(pairs + editor.write_turns(turns))


def read(posted, files, images) -> Post:
    """Read a post: its turns in order, its uploads kept (``images.put``), its typed URLs.

    ``images`` is the visitor's image store (``put(image)``), or None to keep nothing (a post
    whose CSRF token failed).
    """
    action = posted.get("action") or "run"
    action = action if isinstance(action, str) and editor.is_action(action) else "run"
    turns = editor.read_turns(posted.items(multi=True))
    if not turns and isinstance(posted.get("prompt"), str):
        # The one-prompt form of earlier releases (and of scripts that post to it): a system
        # prompt and a prompt are that two-turn conversation.
        turns = [{**empty_turn("system"), "content": posted.get("system") or "", "posted": 0},
                 {**empty_turn("user"), "content": posted["prompt"], "posted": 1}]
    post = Post(MultiDict(), action, turns)
    if images is not None:
        _keep_uploads(post, files, images)
    for index, turn in enumerate(turns):
        url = (turn.pop("new_url", "") or "").strip()
        if not url:
            continue
        try:
            turn["images"].append({"ref": "", "url": check_url(url)})
        except ImageRefused as exc:
            turn["new_url"] = url  # kept as typed, with the reason beside it
            post.add_error(f"turns-{index}-new_url", str(exc))
    post.formdata = rebuild(posted, turns)
    return post


def _keep_uploads(post: Post, files, images) -> None:
    position = {turn["posted"]: index for index, turn in enumerate(post.turns)}
    for key, storage in files.items(multi=True) if files else ():
        match = UPLOAD.match(key)
        if not match or int(match.group(1)) not in position:
            continue
        index = position[int(match.group(1))]
        data = storage.stream.read(MAX_IMAGE_BYTES + 1)  # never more than one over the cap
        if not data and not storage.filename:
            continue  # a file input left empty
        name = (storage.filename or "the file")[:NAME_SHOWN]
        try:
            image = accept(data, f'"{name}"')
        except ImageRefused as exc:
            post.add_error(f"turns-{index}-upload", str(exc))
            continue
        images.put(image)
        post.turns[index]["images"].append({"ref": image.ref, "url": ""})


@dataclass
class Done:
    """What a button did: the form's fields now, what to announce, where focus goes."""

    formdata: MultiDict
    message: str
    focus: str | None
    errors: dict


def edit(post: Post, images) -> Done:
    """Do the post's button (anything but Run and Export) and give the changed form."""
    errors = dict(post.errors)
    if post.action == "import":
        return _import(post, images)
    if post.action == "refresh-variables":
        names = names_in(post.turns)
        shown = ", ".join("{{" + name + "}}" for name in names[:8])
        message = (f"Variables: {len(names)} found ({shown})." if names else
                   "No {{variables}} in the system, developer or user turns.")
        focus = next((f"variables-{name}" for name in names
                      if not post.formdata.get(f"variables-{name}")), None)
        return Done(post.formdata, message, focus or "variables-heading", errors)
    done = editor.apply(post.action, post.turns, tools=post.formdata.get("tools") or "")
    for key, messages in done.errors.items():
        errors.setdefault(key, []).extend(messages)
    return Done(rebuild(post.formdata, done.turns, done.fields), done.message, done.focus,
                errors)


def _import(post: Post, images) -> Done:
    text = post.formdata.get("import_text") or ""
    try:
        turns = turns_from_messages(parse_import(text))
    except ImportRefused as exc:
        return Done(post.formdata, "The messages were not imported.", "import_text",
                    {**post.errors, "import_text": [str(exc)]})
    problems = []
    for number, turn in enumerate(turns, 1):
        for image in turn["images"]:
            if image["url"].startswith("data:"):
                try:
                    kept = from_data_url(image["url"], f"An image of message {number}")
                except ImageRefused as exc:
                    problems.append(str(exc))
                    continue
                images.put(kept)
                image.update(ref=kept.ref, url="")
        turn["images"] = [image for image in turn["images"]
                          if not image["url"].startswith("data:")]
    formdata = rebuild(post.formdata, turns, {"import_text": "", "parent_id": ""})
    message = f"Imported {len(turns)} turn{'s' if len(turns) != 1 else ''}."
    errors = {"import_text": problems} if problems else {}
    return Done(formdata, message, "turns-0-content", errors)


def export(turns: list[dict], images) -> str:
    """The conversation as an OpenAI ``messages`` array (JSON), uploads as data: URLs.

    Variables stay as written, ``{{name}}``: Import takes this text back as it was.
    """
    messages = []
    for turn in turns:
        if turn["role"] in ("system", "developer") and not turn["content"].strip():
            continue
        urls = []
        for image in turn["images"] if turn["role"] == "user" else ():
            found = images.get(image["ref"]) if image["ref"] else None
            urls.append(found.data_url() if found else image["url"])
        calls = turn["tool_calls"] if turn["role"] == "assistant" else ""
        try:
            message = message_from_turn({**turn, "tool_calls": calls}, [u for u in urls if u])
        except ValueError:  # tool calls that are not JSON yet: exported as the text typed
            message = {**message_from_turn({**turn, "tool_calls": ""}), "tool_calls": calls}
        messages.append(message)
    return json.dumps(messages, indent=2, ensure_ascii=False) + "\n"

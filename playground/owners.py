"""Who owns a run: the one place that decides whose history a visitor sees."""

from __future__ import annotations

import secrets

from flask import current_app, g, session

LOCAL_OWNER = "local"


def current_owner() -> str:
    """The visitor's owner id: the access gate's identity, else one kept in the session.

    The session cookie is signed with SECRET_KEY, so an owner id cannot be forged or guessed;
    it is created on the first visit that needs it and lasts as long as the cookie.
    With PLAYGROUND_SINGLE_USER (a laptop), every visitor is the same owner.
    """
    identity = g.get("identity")  # set by an access gate, when one is configured
    if identity:
        return f"user:{identity}"[:100]
    if current_app.config.get("PLAYGROUND_SINGLE_USER"):
        return LOCAL_OWNER
    if "owner" not in session:
        session["owner"] = secrets.token_urlsafe(16)
        session.permanent = True
    return f"session:{session['owner']}"

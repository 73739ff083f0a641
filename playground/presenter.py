"""Presenter mode: ``?present=1`` shows a page for an audience (large type, high contrast, the
conversation and the reply, three big figures; the developer panels folded, nothing private).

The flag travels with the visitor: in the address (so a reload or a shared link keeps it), in
the playground form (a hidden field), and through every redirect a page answers with.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, request
from werkzeug.exceptions import HTTPException

bp = Blueprint("presenter", __name__)
REDIRECTS = (301, 302, 303, 307, 308)


def presenting() -> bool:
    """Whether this request is in presenter mode (its address or its posted form says so)."""
    if request.args.get("present") == "1":
        return True
    if request.method != "POST":
        return False
    try:
        return request.form.get("present") == "1"
    except HTTPException:  # a form too large to read: its error page is a plain one
        return False


def with_present(url: str, on: bool) -> str:
    """``url`` with ``present=1`` added (on) or removed (off); other parameters kept."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "present"]
    if on:
        query.append(("present", "1"))
    return urlunsplit(parts._replace(query=urlencode(query)))


@bp.app_context_processor
def context() -> dict:
    on = presenting()
    # The toggle leads to this page's own address (a GET), with the flag flipped.
    return {"presenting": on, "present_toggle": with_present(request.full_path, not on)}


@bp.after_app_request
def keep_presenting(response):
    """A redirect from a presenting page leads to a presenting page (same site only)."""
    location = response.headers.get("Location")
    if response.status_code in REDIRECTS and location and presenting():
        parts = urlsplit(location)
        if not parts.netloc or parts.netloc == request.host:
            response.headers["Location"] = with_present(location, True)
    return response

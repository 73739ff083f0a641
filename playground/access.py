"""The password gate for demo deployments: set ``PLAYGROUND_PASSWORD`` and every page asks.

Unset, the playground is open, as on a laptop. The password is compared in constant time,
attempts are rate-limited per client (``PLAYGROUND_LOGIN_LIMIT``), and a pass is a value in
the signed session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) derived from the
password, so changing the password signs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from playground.budget import OverBudget, budget

bp = Blueprint("access", __name__)
OPEN_ENDPOINTS = {"access.login", "static", "playground.healthz"}
SAFE_NEXT = re.compile(r"/(?![/\\])[\x21-\x7e]*")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(gate)


def _password() -> str | None:
    return current_app.config.get("PLAYGROUND_PASSWORD") or None


def _pass_value(password: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"gate|" + password.encode(), hashlib.sha256).hexdigest()


def gate():
    """Before every request: let it through, or ask for the password."""
    password = _password()
    if not password or request.endpoint in OPEN_ENDPOINTS:
        return None
    if hmac.compare_digest(str(session.get("gate", "")), _pass_value(password)):
        return None
    if request.method == "GET":
        return redirect(url_for("access.login", next=request.full_path.rstrip("?")))
    return render_template("login.html", next="/", error="Please enter the password first."), 401


def _matches(given: str, password: str) -> bool:
    # Compare digests so neither the content nor the length of the password leaks by timing.
    return hmac.compare_digest(hashlib.sha256(given.encode("utf-8", "replace")).digest(),
                               hashlib.sha256(password.encode()).digest())


@bp.route("/login", methods=["GET", "POST"])
def login():
    password = _password()
    target = request.values.get("next", "/")
    target = target if SAFE_NEXT.fullmatch(target) else "/"
    if not password:
        return redirect(url_for("playground.index"))
    if request.method == "GET":
        return render_template("login.html", next=target)
    try:
        budget().admit_login()
    except OverBudget as exc:
        return (render_template("login.html", next=target, error=exc.message +
                                f" Try again in {exc.retry_after} s."),
                429, {"Retry-After": str(exc.retry_after)})
    if not _matches(request.form.get("password", ""), password):
        return render_template("login.html", next=target, error="That password is not right."), 401
    session.clear()
    session["gate"] = _pass_value(password)
    return redirect(target, code=303)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("access.login"), code=303)

"""AI/ML API Playground: the application factory.

Configuration comes from defaults, then the environment (and ``.env``), then ``test_config``.
``python app.py`` runs the development server on http://127.0.0.1:5000.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, abort, current_app, render_template, request, send_file
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import safe_join

from playground import access, assets, blueprints, settings, store
from playground.budget import Budget
from playground.composer import field_attributes
from playground.images import MAX_RUN_IMAGE_BYTES
from playground.providers import Providers

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
TEXT_BYTES = 8 * 1024 * 1024  # the largest text field (pasted messages, up to 2M characters)
csrf = CSRFProtect()
log = logging.getLogger("playground")


def _secret_key(instance: Path) -> str:
    """A key kept in instance/ so sessions survive restarts of a local run."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the page itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


class Playground(Flask):
    """Flask, serving the static scripts and stylesheets minified except in debug mode."""

    def send_static_file(self, filename: str):
        if self.debug or not assets.minifiable(filename):
            return super().send_static_file(filename)  # readable sources while developing
        # The same checks as Flask's own send_from_directory: no way out of static/.
        path = safe_join(self.static_folder, filename)
        if path is None or not os.path.isfile(path):
            abort(404)
        asset = assets.minified(path)
        # Flask's own headers for a static file (ETag, Last-Modified, Cache-Control,
        # conditional and range requests), over the minified bytes.
        return send_file(io.BytesIO(asset.body), download_name=os.path.basename(path),
                         mimetype=assets.MIMETYPES[os.path.splitext(path)[1]],
                         etag=asset.etag, last_modified=asset.mtime,
                         max_age=self.get_send_file_max_age(filename))


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the playground."""
    app = Playground(__name__, instance_relative_config=True)
    app.config.from_mapping(
        # Sized for a conversation: 200 turns of a handful of fields each, any one text field
        # up to the import box, and uploads up to a run's image cap. A body past this is
        # refused from its Content-Length, before it is read.
        MAX_CONTENT_LENGTH=MAX_RUN_IMAGE_BYTES + TEXT_BYTES + 4 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=TEXT_BYTES,
        MAX_FORM_PARTS=2000,
        WTF_CSRF_TIME_LIMIT=None,  # a tab left open overnight still runs
        # Referrer-Policy: no-referrer means browsers send no Referer, which Flask-WTF's
        # HTTPS-only referrer check would refuse on every post. The session-bound token,
        # the SameSite cookie and the Sec-Fetch-Site check below do that job instead.
        WTF_CSRF_SSL_STRICT=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=365 * 24 * 3600,  # the owner id of a visitor's history
    )
    app.config.from_mapping(settings.defaults())
    if test_config is None:
        from dotenv import load_dotenv

        load_dotenv()
        app.config.from_prefixed_env()  # Flask's own FLASK_* settings
        app.config.update(settings.check_or_exit())  # ours, typed: a bad value is one line
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))

    hops = int(app.config["PLAYGROUND_PROXY_HOPS"] or 0)
    if hops:  # trust exactly this many proxies' X-Forwarded-For / -Proto, no more
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.session_interface = SessionInterface()

    providers = app.extensions["providers"] = Providers(app.config)
    app.config.setdefault("PLAYGROUND_DEFAULT_MODEL", None)
    app.config["PLAYGROUND_DEFAULT_MODEL"] = app.config["PLAYGROUND_DEFAULT_MODEL"] or (
        "demo" if providers.default.demo else "gpt-4o-mini")
    access.init_app(app)  # first: no other check runs for a visitor without the password
    csrf.init_app(app)
    Budget(app)
    store.init_app(app)
    blueprints.register(app)

    app.jinja_env.globals["field_attributes"] = field_attributes
    app.add_template_filter(when)
    _register_error_pages(app)
    app.before_request(_limit_form_fields)
    app.after_request(_security_headers)
    return app


def when(timestamp: float) -> str:
    """A stored time as people read it, in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _limit_form_fields():
    """Refuse cross-site posts and over-long url-encoded forms before they are parsed further.

    MAX_FORM_PARTS only bounds multipart forms; url-encoded ones are bounded the same way,
    and to the text a form can hold (they carry no files, and are read whole at once).
    """
    if request.method == "POST" and request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403)
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        if (request.content_length or 0) > current_app.config["MAX_FORM_MEMORY_SIZE"]:
            abort(413)
        if sum(1 for _ in request.form.items(multi=True)) > current_app.config["MAX_FORM_PARTS"]:
            abort(413)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        # The playground's own form answers this itself and keeps what was typed (views.py);
        # every other form gets this plain page.
        return render_template("csrf_error.html"), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        messages = {
            413: "The form was larger than this server accepts: images up to 5 MB each and "
                 "20 MB per run, text up to 8 MB, 2,000 fields. Nothing was sent. Shorten it "
                 "and try again; your browser's Back button has your text.",
            404: "There is no page at this address.",
            405: "This address does not accept that kind of request.",
            403: "Forms can only be sent from this site's own pages.",
        }
        message = messages.get(error.code, error.description)
        return render_template("error.html", code=error.code, title=error.name,
                               message=message), error.code

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unhandled error")
        return render_template("error.html", code=500, title="Something went wrong",
                               message="An unexpected error happened on the server. It has "
                                       "been logged; please try again."), 500


if __name__ == "__main__":
    playground = create_app()
    port = int(os.environ.get("PORT", "5000"))
    chat = playground.extensions["providers"].default
    mode = ("the built-in offline demo model (no AIMLAPI_API_KEY set; see .env.example)"
            if chat.demo else chat.base_url)
    print(f"\n  AI/ML API Playground: http://127.0.0.1:{port}\n  Calls go to {mode}\n",
          flush=True)
    playground.run(host="127.0.0.1", port=port, threaded=True)

"""AI/ML API Playground: the application factory.

Configuration comes from defaults, then the environment (and ``.env``), then ``test_config``.
``python app.py`` runs the development server on http://127.0.0.1:5000.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

import demo
import runs
from upstream import ChatClient

DEFAULT_BASE_URL = "https://api.aimlapi.com/v1"
ENVIRONMENT = ("AIMLAPI_API_KEY", "AIMLAPI_BASE_URL", "PLAYGROUND_DEFAULT_MODEL", "DATABASE_URL",
               "PLAYGROUND_RETENTION_DAYS", "PLAYGROUND_RETENTION_RUNS", "PLAYGROUND_SINGLE_USER")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
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


def make_client(config) -> ChatClient:
    """The upstream client the configuration asks for: demo, AI/ML API or any other base URL."""
    key, base_url = config.get("AIMLAPI_API_KEY"), config.get("AIMLAPI_BASE_URL")
    is_demo = not key and not base_url
    return ChatClient(
        demo.BASE_URL if is_demo else (base_url or DEFAULT_BASE_URL), key,
        session=demo.session(config["DEMO_TOKEN_DELAY"]) if is_demo else None,
        trust_env=config.get("UPSTREAM_TRUST_ENV", True),
        connect_timeout=config["UPSTREAM_CONNECT_TIMEOUT"],
        read_timeout=config["UPSTREAM_READ_TIMEOUT"], deadline=config["UPSTREAM_DEADLINE"],
        max_retries=config["UPSTREAM_MAX_RETRIES"], max_bytes=config["UPSTREAM_MAX_BYTES"],
        demo=is_demo)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the playground."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=100,
        WTF_CSRF_TIME_LIMIT=None,  # a tab left open overnight still runs
        UPSTREAM_CONNECT_TIMEOUT=5.0,
        UPSTREAM_READ_TIMEOUT=60.0,
        UPSTREAM_DEADLINE=300.0,
        UPSTREAM_MAX_RETRIES=2,
        UPSTREAM_MAX_BYTES=8 * 1024 * 1024,
        DEMO_TOKEN_DELAY=0.012,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=365 * 24 * 3600,  # the owner id of a visitor's history
        DATABASE_URL=None,  # None: a SQLite file in instance/
        PLAYGROUND_SINGLE_USER=False,
        PLAYGROUND_RETENTION_DAYS=None,
        PLAYGROUND_RETENTION_RUNS=None,
    )
    if test_config is None:
        from dotenv import load_dotenv

        load_dotenv()
        app.config.update({k: os.environ[k] for k in ENVIRONMENT if os.environ.get(k)})
        app.config.from_prefixed_env()
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))

    client = make_client(app.config)
    app.extensions["chat_client"] = client
    app.config.setdefault("PLAYGROUND_DEFAULT_MODEL", "demo" if client.demo else "gpt-4o-mini")
    if isinstance(app.config["PLAYGROUND_SINGLE_USER"], str):
        app.config["PLAYGROUND_SINGLE_USER"] = app.config["PLAYGROUND_SINGLE_USER"].lower() in (
            "1", "true", "yes", "on")
    csrf.init_app(app)
    runs.init_app(app)

    import history
    from views import bp

    app.register_blueprint(bp)
    app.register_blueprint(history.bp)
    _register_error_pages(app)
    app.after_request(_security_headers)
    return app


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _register_error_pages(app: Flask) -> None:
    from views import render_playground

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        message = ("The form's security token was missing or expired (or the form came from "
                   "another site). Your input is kept below: press Run again.")
        return render_playground(notice=message, formdata=request.form), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        messages = {
            413: "The form was larger than this server accepts (2 MB, 100 fields). "
                 "Shorten the prompt and try again; your browser's Back button has your text.",
            404: "There is no page at this address.",
            405: "This address does not accept that kind of request.",
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
    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)

"""AI/ML API Playground: the application factory.

Configuration comes from defaults, then the environment (and ``.env``), then ``test_config``.
``python app.py`` runs the development server on http://127.0.0.1:5000.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, abort, current_app, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from playground import access, demo, store
from playground.budget import Budget
from playground.forms import field_attributes
from playground.providers import Providers
from playground.upstream import ChatClient

DEFAULT_BASE_URL = "https://api.aimlapi.com/v1"
ENVIRONMENT = ("AIMLAPI_API_KEY", "AIMLAPI_BASE_URL", "PLAYGROUND_DEFAULT_MODEL", "DATABASE_URL",
               "PLAYGROUND_RATE_LIMIT", "PLAYGROUND_DAILY_LIMIT", "PLAYGROUND_LOGIN_LIMIT",
               "RATELIMIT_STORAGE_URI", "PLAYGROUND_PASSWORD", "PLAYGROUND_PROVIDERS",
               "PLAYGROUND_ALLOWED_HTTP_HOSTS")
INT_ENVIRONMENT = ("PLAYGROUND_MAX_TOKENS_CAP", "PLAYGROUND_PROMPT_CAP",
                   "PLAYGROUND_MAX_STREAMS_PER_CLIENT", "PLAYGROUND_STREAM_MAX_SECONDS",
                   "PLAYGROUND_PROXY_HOPS", "PLAYGROUND_RETENTION_DAYS",
                   "PLAYGROUND_RETENTION_RUNS")
BOOL_ENVIRONMENT = ("PLAYGROUND_ALLOW_USER_KEYS", "PLAYGROUND_ALLOW_CUSTOM_BASE_URL",
                    "PLAYGROUND_LOG_CONTENT", "PLAYGROUND_SINGLE_USER")
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


def make_client(config, base_url: str | None = None, key: str | None = None, *,
                adapter=None) -> ChatClient:
    """An upstream client: the configured default (demo, AI/ML API or any base URL), or
    one for ``base_url`` (a named provider, or a visitor's URL behind ``adapter``)."""
    if base_url is None:
        key, base_url = config.get("AIMLAPI_API_KEY"), config.get("AIMLAPI_BASE_URL")
        is_demo = not key and not base_url
    else:
        is_demo = False
    deadline = min(config["UPSTREAM_DEADLINE"], config["PLAYGROUND_STREAM_MAX_SECONDS"])
    return ChatClient(
        demo.BASE_URL if is_demo else (base_url or DEFAULT_BASE_URL), key,
        session=demo.session(config["DEMO_TOKEN_DELAY"]) if is_demo else None,
        adapter=adapter, trust_env=config.get("UPSTREAM_TRUST_ENV", True),
        connect_timeout=config["UPSTREAM_CONNECT_TIMEOUT"],
        read_timeout=config["UPSTREAM_READ_TIMEOUT"], deadline=deadline,
        max_retries=config["UPSTREAM_MAX_RETRIES"], max_bytes=config["UPSTREAM_MAX_BYTES"],
        demo=is_demo)


def _environment() -> dict:
    """PLAYGROUND_*, AIMLAPI_* and RATELIMIT_STORAGE_URI from the environment, typed."""
    found = {k: os.environ[k] for k in ENVIRONMENT if os.environ.get(k)}
    found.update({k: int(os.environ[k]) for k in INT_ENVIRONMENT if os.environ.get(k)})
    found.update({k: os.environ[k].strip().lower() in ("1", "true", "yes", "on")
                  for k in BOOL_ENVIRONMENT if os.environ.get(k)})
    return found


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the page itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the playground."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=100,
        WTF_CSRF_TIME_LIMIT=None,  # a tab left open overnight still runs
        # Referrer-Policy: no-referrer means browsers send no Referer, which Flask-WTF's
        # HTTPS-only referrer check would refuse on every post. The session-bound token,
        # the SameSite cookie and the Sec-Fetch-Site check below do that job instead.
        WTF_CSRF_SSL_STRICT=False,
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
        # Budgets: generous for one person on a laptop, still a ceiling on a public server.
        PLAYGROUND_RATE_LIMIT="30/minute;1000/day",
        PLAYGROUND_DAILY_LIMIT="10000/day",
        PLAYGROUND_LOGIN_LIMIT="5/minute;50/day",
        PLAYGROUND_MAX_TOKENS_CAP=None,  # None: the visitor's value (up to 1,000,000) or none
        PLAYGROUND_PROMPT_CAP=100_000,
        PLAYGROUND_MAX_STREAMS_PER_CLIENT=2,
        PLAYGROUND_STREAM_MAX_SECONDS=300,
        RATELIMIT_STORAGE_URI="memory://",
        PLAYGROUND_PROXY_HOPS=0,
        PLAYGROUND_PASSWORD=None,
        PLAYGROUND_ALLOW_USER_KEYS=False,
        PLAYGROUND_PROVIDERS=None,
        PLAYGROUND_ALLOW_CUSTOM_BASE_URL=False,
        PLAYGROUND_ALLOWED_HTTP_HOSTS="",
        PLAYGROUND_LOG_CONTENT=False,
    )
    if test_config is None:
        from dotenv import load_dotenv

        load_dotenv()
        app.config.update(_environment())
        app.config.from_prefixed_env()
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))

    hops = int(app.config["PLAYGROUND_PROXY_HOPS"] or 0)
    if hops:  # trust exactly this many proxies' X-Forwarded-For / -Proto, no more
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.session_interface = SessionInterface()

    client = make_client(app.config)
    app.extensions["chat_client"] = client
    app.extensions["providers"] = Providers(
        app.config, client, lambda url, key, **kw: make_client(app.config, url, key, **kw))
    app.config.setdefault("PLAYGROUND_DEFAULT_MODEL", "demo" if client.demo else "gpt-4o-mini")
    access.init_app(app)  # first: no other check runs for a visitor without the password
    csrf.init_app(app)
    Budget(app)
    store.init_app(app)

    from playground import history
    from playground.views import bp

    app.jinja_env.globals["field_attributes"] = field_attributes
    app.register_blueprint(bp)
    app.register_blueprint(history.bp)
    _register_error_pages(app)
    app.before_request(_limit_form_fields)
    app.after_request(_security_headers)
    return app


def _limit_form_fields():
    """Refuse cross-site posts and over-long url-encoded forms before they are parsed further.

    MAX_FORM_PARTS only bounds multipart forms; url-encoded ones are bounded the same way.
    """
    if request.method == "POST" and request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403)
    if (request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded"
            and sum(1 for _ in request.form.items(multi=True)) >
            current_app.config["MAX_FORM_PARTS"]):
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
    from playground.views import render_playground

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
    chat = playground.extensions["chat_client"]
    mode = ("the built-in offline demo model (no AIMLAPI_API_KEY set; see .env.example)"
            if chat.demo else chat.base_url)
    print(f"\n  AI/ML API Playground: http://127.0.0.1:{port}\n  Calls go to {mode}\n",
          flush=True)
    playground.run(host="127.0.0.1", port=port, threaded=True)

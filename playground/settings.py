"""Every setting of the playground, declared once: name, type, default and meaning.

The defaults, the typed reading of the environment (``NAME`` or ``FLASK_NAME``; the ``FLASK_``
spelling wins when both are set), ``.env.example`` and the README's configuration table all
come from ``SETTINGS``; a test fails when a document drifts from it. A bad value stops
start-up with one line that names the variable::

    python -m playground.settings check     # the check, on its own
    python -m playground.settings env       # print .env.example
    python -m playground.settings markdown  # print the README table
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT, CUSTOM = "default", "custom"  # provider names the operator cannot take
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


class SettingError(ValueError):
    """An environment variable with a value its setting cannot take."""


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _int(text: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError("expected a whole number") from None


def _float(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("expected a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    return value


def _limits(text: str) -> str:
    from limits import parse_many  # Flask-Limiter's own parser: what it accepts, we accept

    try:
        parse_many(text)
    except ValueError:
        raise ValueError('expected limits like "30/minute;1000/day"') from None
    return text


def parse_providers(value: str | dict | None) -> dict[str, dict]:
    """The operator's named providers from JSON text, a JSON file's path, or a dict."""
    if isinstance(value, dict):
        data = value
    elif not value or not value.strip():
        return {}
    else:
        try:
            text = value if value.lstrip()[:1] in ("{", "[") else Path(value).read_text()
            data = json.loads(text)
        except OSError as exc:
            raise ValueError(f"cannot read the file ({exc.strerror})") from None
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object of name -> settings")
    for name, entry in data.items():
        if not PROVIDER_NAME.fullmatch(name) or name in (DEFAULT, CUSTOM):
            raise ValueError(f"bad or reserved provider name {name!r}")
        if not isinstance(entry, dict) or not isinstance(entry.get("base_url"), str):
            raise ValueError(f"provider {name!r} needs a base_url")
    return dict(data)


def _str(text: str) -> str:
    return text


@dataclass(frozen=True)
class Setting:
    """One setting: its config name (also its environment variable), type and meaning."""

    name: str
    parse: Callable[[str], object]
    default: object
    meaning: str
    group: str
    shown_default: str | None = None  # how the default reads in the docs, when not the value
    example: str | None = None  # a value for .env.example (commented out), when not default
    secret: bool = False

    @property
    def kind(self) -> str:
        return {_bool: "on/off", _int: "integer", _float: "number", _limits: "limits",
                parse_providers: "JSON or a file", _str: "text"}[self.parse]

    def documented_default(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default == "":
            return "unset"
        if isinstance(self.default, bool):
            return "1" if self.default else "0"
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)


PROVIDER, HISTORY, PUBLIC, CLIENT = ("The provider", "History", "Deploying publicly",
                                     "The upstream client")
SETTINGS: tuple[Setting, ...] = (
    Setting("AIMLAPI_API_KEY", _str, None, "The server's API key (https://aimlapi.com/app/keys); "
            "never sent to a browser, never logged.",
            PROVIDER, shown_default="unset (with no base URL: the offline demo model)", example="",
            secret=True),
    Setting("AIMLAPI_BASE_URL", _str, None, "Any OpenAI-compatible base URL, the part before "
            "/chat/completions; a local server that needs no key is not the demo.", PROVIDER,
            shown_default="https://api.aimlapi.com/v1", example="http://127.0.0.1:11434/v1"),
    Setting("PLAYGROUND_DEFAULT_MODEL", _str, None, "The model the form starts with.", PROVIDER,
            shown_default="gpt-4o-mini (demo on the demo)", example="gpt-4o-mini"),
    Setting("SECRET_KEY", _str, None, "Signs the session cookie (the history owner and the "
            "password pass); the same on every instance. Also read as FLASK_SECRET_KEY.",
            PROVIDER, shown_default="generated once into instance/", example="change-me",
            secret=True),
    Setting("PLAYGROUND_PROVIDERS", parse_providers, None, "More providers by name, as JSON or the "
            "path of a JSON file; their keys come from the environment (api_key_env).",
            PROVIDER, example='{"local": {"base_url": "http://127.0.0.1:8080/v1", '
            '"label": "llama.cpp"}}'),
    Setting("PLAYGROUND_DEFAULT_LABEL", _str, None, "The default provider's name in the "
            "provider menu.", PROVIDER, shown_default="AI/ML API, or the base URL",
            example="AI/ML API"),
    Setting("DATABASE_URL", _str, None, "Where runs are kept: sqlite:///file.db, or "
            "postgresql://user:password@host/db for several instances.", HISTORY,
            shown_default="instance/playground.db (SQLite)",
            example="postgresql://playground:secret@db.internal:5432/playground"),
    Setting("PLAYGROUND_SINGLE_USER", _bool, False, "1: one history for every browser (a "
            "laptop); 0: one per visitor, kept in the signed session cookie.", HISTORY,
            example="1"),
    Setting("PLAYGROUND_RETENTION_DAYS", _int, None, "flask runs prune deletes runs older "
            "than this many days.", HISTORY, shown_default="unset: keep forever", example="90"),
    Setting("PLAYGROUND_RETENTION_RUNS", _int, None, "flask runs prune keeps only this many "
            "newest runs per owner.", HISTORY, shown_default="unset: keep all", example="1000"),
    Setting("PLAYGROUND_HISTORY_COUNT_LIMIT", _int, 1000, "The history counts runs exactly up "
            "to this many and shows \"1,000+\" past it: an exact count of a long history would "
            "read every run.", HISTORY, example="1000"),
    Setting("PLAYGROUND_INTERRUPTED_AFTER", _float, None, "Seconds without a heartbeat after "
            "which a run still marked running reads as interrupted (its worker died).", HISTORY,
            shown_default="UPSTREAM_READ_TIMEOUT + 30", example="90"),
    Setting("PLAYGROUND_RATE_LIMIT", _limits, "30/minute;1000/day", "Runs per visitor (client "
            "address), Flask-Limiter syntax with ; between limits.", PUBLIC,
            example="10/minute;200/day"),
    Setting("PLAYGROUND_DAILY_LIMIT", _limits, "10000/day", "Runs for all visitors together.",
            PUBLIC, example="2000/day"),
    Setting("PLAYGROUND_LOGIN_LIMIT", _limits, "5/minute;50/day", "Password attempts per "
            "visitor.", PUBLIC),
    Setting("PLAYGROUND_MAX_TOKENS_CAP", _int, None, "The largest max_tokens a visitor may ask "
            "for; sent when the visitor leaves it empty, so every reply is bounded.", PUBLIC,
            shown_default="unset: no cap", example="1024"),
    Setting("PLAYGROUND_PROMPT_CAP", _int, 100_000, "Characters of prompt a run may send, "
            "system prompt included.", PUBLIC, example="20000"),
    Setting("PLAYGROUND_MAX_STREAMS_PER_CLIENT", _int, 4, "Runs in flight per visitor, "
            "streamed or not; a comparison takes one per lane, so 4 fits a 4-lane comparison.",
            PUBLIC),
    Setting("PLAYGROUND_COMPARE_DEADLINE", _float, 60.0, "Without JavaScript, how long a "
            "comparison waits for its lanes before answering with what arrived (the usual "
            "proxy limit); lanes still going are saved as cut.", PUBLIC, example="30"),
    Setting("PLAYGROUND_STREAM_MAX_SECONDS", _int, 300, "The longest a run may take, however "
            "slowly the provider trickles.", PUBLIC, example="120"),
    Setting("RATELIMIT_STORAGE_URI", _str, "memory://", "Where budgets are counted: memory:// "
            "(one process) or redis://host:6379/0 (shared by every instance).", PUBLIC,
            example="redis://127.0.0.1:6379/0"),
    Setting("PLAYGROUND_PROXY_HOPS", _int, 0, "How many reverse proxies append "
            "X-Forwarded-For / -Proto (0: none; the socket's address is the client).", PUBLIC,
            example="1"),
    Setting("PLAYGROUND_PASSWORD", _str, None, "Ask every visitor for this password first.",
            PUBLIC, example="", secret=True),
    Setting("PLAYGROUND_ALLOW_USER_KEYS", _bool, False, "1: visitors may use their own key "
            "(kept in their browser tab, never stored).", PUBLIC, example="1"),
    Setting("PLAYGROUND_ALLOW_CUSTOM_BASE_URL", _bool, False, "1: visitors may type a base URL "
            "of their own (with their own key, behind the SSRF policy).", PUBLIC, example="1"),
    Setting("PLAYGROUND_ALLOWED_HTTP_HOSTS", _str, "", "Hosts a visitor's base URL may reach "
            "over plain http, separated by commas (https only otherwise).", PUBLIC,
            shown_default="none", example="llm.internal"),
    Setting("PLAYGROUND_MAX_COST_PER_RUN", _float, None, "Refuse a run whose pre-flight "
            "estimate (USD, from the catalogue's prices) is higher, and a comparison whose lanes "
            "sum to more; a model with no quotable price is refused too while this is set.",
            PUBLIC, shown_default="unset: no cap",
            example="0.05"),
    Setting("PLAYGROUND_ALLOW_UNPRICED", _bool, False, "1: with PLAYGROUND_MAX_COST_PER_RUN "
            "set, still run models whose cost can't be quoted (0: refuse them).", PUBLIC,
            example="1"),
    Setting("PLAYGROUND_CATALOGUE_TTL", _float, 600.0, "Seconds a provider's model list is "
            "kept before it is refreshed in the background (with its ETag).", CLIENT),
    Setting("PLAYGROUND_LOG_CONTENT", _bool, False, "1: the per-run log line includes prompts "
            "and replies (0: metadata only).", PUBLIC, example="1"),
    Setting("UPSTREAM_CONNECT_TIMEOUT", _float, 5.0, "Seconds to connect to the provider.",
            CLIENT),
    Setting("UPSTREAM_READ_TIMEOUT", _float, 60.0, "Longest silence from the provider, in "
            "seconds.", CLIENT),
    Setting("UPSTREAM_DEADLINE", _float, 300.0, "Longest whole call or stream, in seconds "
            "(PLAYGROUND_STREAM_MAX_SECONDS also bounds it).", CLIENT),
    Setting("UPSTREAM_MAX_RETRIES", _int, 2, "Retries of connection errors, 408, 409, 429 and "
            "5xx, never once a byte has been shown.", CLIENT),
    Setting("UPSTREAM_MAX_BYTES", _int, 8 * 1024 * 1024, "The largest reply read from the "
            "provider, in bytes.", CLIENT),
    Setting("PLAYGROUND_LIVE_MARKDOWN", _bool, True, "1: a streaming reply is shown formatted "
            "as it arrives (server-rendered snapshots, off the relay loop); 0: as plain text "
            "until it ends.", CLIENT, example="0"),
    Setting("DEMO_TOKEN_DELAY", _float, 0.012, "Seconds between the demo model's streamed "
            "tokens.", CLIENT),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def defaults() -> dict:
    return {setting.name: setting.default for setting in SETTINGS}


def from_environment(environ: Mapping[str, str]) -> dict:
    """The settings set in ``environ``, typed; raise SettingError naming a bad variable."""
    found = {}
    for setting in SETTINGS:
        for variable in (f"FLASK_{setting.name}", setting.name):
            text = environ.get(variable)
            if text is None or (text == "" and setting.parse is not _bool):
                continue  # an empty line in .env means "not set"
            try:
                found[setting.name] = setting.parse(text)
            except ValueError as exc:
                shown = "(hidden)" if setting.secret else repr(text[:80])
                raise SettingError(f"{variable}={shown}: {exc}.") from None
            break
    return found


def check_or_exit(environ: Mapping[str, str] | None = None) -> dict:
    """Read the environment for a process entry point: a bad value ends it with one line."""
    try:
        return from_environment(os.environ if environ is None else environ)
    except SettingError as exc:
        raise SystemExit(f"Configuration error: {exc}") from None


def env_example() -> str:
    """``.env.example``: every setting, commented out, with its meaning, grouped."""
    lines = ["# Copy to .env and fill in. Every line is optional: with no key and no base URL the",
             "# playground runs on its built-in offline demo model. FLASK_NAME works for any NAME",
             "# below. Generated from playground/settings.py: python -m playground.settings env"]
    group = None
    for setting in SETTINGS:
        if setting.group != group:
            group = setting.group
            lines += ["", f"# --- {group} ".ljust(98, "-")]
        meaning = f"{setting.meaning} Default: {setting.documented_default()}."
        lines += ["", *textwrap.wrap(meaning, 98, initial_indent="# ", subsequent_indent="# ")]
        value = setting.example if setting.example is not None else \
            setting.documented_default()
        prefix = "" if setting.name == "AIMLAPI_API_KEY" else "# "
        lines.append(f"{prefix}{setting.name}={value}")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The README's configuration table."""
    rows = ["| variable | type | meaning | default |", "|---|---|---|---|"]
    for setting in SETTINGS:
        meaning = setting.meaning.replace("|", "\\|")
        rows.append(f"| `{setting.name}` | {setting.kind} | {meaning} | "
                    f"{setting.documented_default()} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "env":
        sys.stdout.write(env_example())
    elif command == "markdown":
        sys.stdout.write(markdown_table())
    elif command == "check":
        if Path(".env").exists():
            from dotenv import load_dotenv

            load_dotenv()
        check_or_exit()
        print("Configuration: every setting in the environment is valid.")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

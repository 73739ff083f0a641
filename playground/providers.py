"""Where a run goes: the default provider, the operator's named ones, or a visitor's URL.

``PLAYGROUND_PROVIDERS`` (JSON, or the path of a JSON file) names extra OpenAI-compatible
providers, each with its own client::

    {"local": {"base_url": "http://127.0.0.1:8080/v1", "label": "llama.cpp",
               "api_key_env": "LOCAL_LLM_KEY"}}

A base URL typed by the visitor is off unless ``PLAYGROUND_ALLOW_CUSTOM_BASE_URL`` is set; it
then needs the visitor's own key (the server's keys never go to a visitor's URL) and passes
the SSRF policy in ``ssrf.py``, checked again by the transport at connect time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from playground import demo, ssrf
from playground.settings import CUSTOM, DEFAULT, parse_providers
from playground.upstream import ChatClient

DEFAULT_BASE_URL = "https://api.aimlapi.com/v1"
KEY_HEADER = "X-Playground-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{8,512}")  # printable ASCII, no spaces: safe in a header


class ProviderRefused(ValueError):
    """The run cannot go where it was asked to; ``field`` is the form field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class Choice:
    """The client, key and provider name of one run."""

    client: ChatClient
    name: str
    api_key: str | None
    user_key: bool


def make_client(config, base_url: str | None = None, key: str | None = None, *,
                adapter=None) -> ChatClient:
    """An upstream client: the configured default (demo, AI/ML API or any base URL), or one
    for ``base_url`` (a named provider, or a visitor's URL behind ``adapter``)."""
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


class Providers:
    """The providers one app offers, by name, each with its own client."""

    def __init__(self, config) -> None:
        self.config = config
        default = self.default = make_client(config)
        self.allow_user_keys = bool(config.get("PLAYGROUND_ALLOW_USER_KEYS"))
        self.allow_custom = bool(config.get("PLAYGROUND_ALLOW_CUSTOM_BASE_URL"))
        hosts = config.get("PLAYGROUND_ALLOWED_HTTP_HOSTS") or ()
        self.allowed_http_hosts = tuple(
            h.strip() for h in (hosts.split(",") if isinstance(hosts, str) else hosts) if h.strip())
        self.resolver = config.get("PLAYGROUND_RESOLVER") or ssrf.system_resolver
        label = "Offline demo" if default.demo else config.get("PLAYGROUND_DEFAULT_LABEL") or \
            "AI/ML API" if default.base_url.startswith("https://api.aimlapi.com") else \
            default.base_url
        self.clients = {DEFAULT: default}
        self.labels = {DEFAULT: label}
        for name, entry in parse_providers(config.get("PLAYGROUND_PROVIDERS")).items():
            key = entry.get("api_key") or os.environ.get(entry.get("api_key_env") or "") or None
            self.clients[name] = make_client(config, entry["base_url"], key)
            self.labels[name] = str(entry.get("label") or name)

    def choices(self) -> list[tuple[str, str]]:
        options = list(self.labels.items())
        if self.allow_custom:
            options.append((CUSTOM, "Custom base URL (your own key)"))
        return options

    def pick(self, name: str | None, base_url: str | None, user_key: str | None) -> Choice:
        """Resolve the form's choice, or raise ProviderRefused with a message for the form."""
        name = name or DEFAULT
        if user_key and not self.allow_user_keys:
            user_key = None  # the feature is off: a stray field is ignored, never forwarded
        if user_key and not KEY_PATTERN.fullmatch(user_key):
            raise ProviderRefused("provider", "That API key has characters keys never contain.")
        if name == CUSTOM and self.allow_custom:
            return self._custom(base_url or "", user_key)
        if name not in self.clients:
            raise ProviderRefused("provider", "Choose one of the providers offered.")
        client = self.clients[name]
        return Choice(client, name, user_key or client.api_key, bool(user_key))

    def _custom(self, base_url: str, user_key: str | None) -> Choice:
        if not user_key:
            raise ProviderRefused("base_url", "A custom base URL needs your own API key; "
                                  "this server's key is never sent to it.")
        if not base_url.strip():
            raise ProviderRefused("base_url", "Enter the base URL, e.g. https://host/v1.")

        def policy(url: str) -> ssrf.Target:
            return ssrf.check_url(url, allowed_http_hosts=self.allowed_http_hosts,
                                  resolver=self.resolver)

        try:
            policy(base_url.strip())
        except ssrf.UnsafeURL as exc:
            raise ProviderRefused("base_url", f"This URL is not allowed: {exc}") from None
        client = make_client(self.config, base_url.strip(), None,
                             adapter=ssrf.PinnedAdapter(policy))
        return Choice(client, CUSTOM, user_key, True)


def visitor_key(request) -> str | None:
    """The visitor's own key from the run's header or form field (never stored)."""
    return (request.headers.get(KEY_HEADER) or request.form.get("user_key") or "").strip() \
        or None

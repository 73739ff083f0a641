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

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playground import ssrf
from playground.upstream import ChatClient

DEFAULT = "default"
CUSTOM = "custom"
KEY_HEADER = "X-Playground-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{8,512}")  # printable ASCII, no spaces: safe in a header
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")


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


def load_named(value: str | None) -> dict[str, dict]:
    """The operator's providers from JSON text or a JSON file; refuse malformed entries."""
    if not value or not value.strip():
        return {}
    text = value if value.lstrip()[:1] in ("{", "[") else Path(value).read_text()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("PLAYGROUND_PROVIDERS must be a JSON object of name -> settings")
    named = {}
    for name, entry in data.items():
        if not NAME_PATTERN.fullmatch(name) or name in (DEFAULT, CUSTOM):
            raise ValueError(f"PLAYGROUND_PROVIDERS: bad or reserved provider name {name!r}")
        if not isinstance(entry, dict) or not isinstance(entry.get("base_url"), str):
            raise ValueError(f"PLAYGROUND_PROVIDERS: {name!r} needs a base_url")
        named[name] = entry
    return named


class Providers:
    """The providers one app offers, by name."""

    def __init__(self, config, default: ChatClient,
                 factory: Callable[..., ChatClient]) -> None:
        self.factory = factory
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
        for name, entry in load_named(config.get("PLAYGROUND_PROVIDERS")).items():
            key = entry.get("api_key") or os.environ.get(entry.get("api_key_env") or "") or None
            self.clients[name] = factory(entry["base_url"], key)
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
        client = self.factory(base_url.strip(), None, adapter=ssrf.PinnedAdapter(policy))
        return Choice(client, CUSTOM, user_key, True)


def visitor_key(request) -> str | None:
    """The visitor's own key from the run's header or form field (never stored)."""
    return (request.headers.get(KEY_HEADER) or request.form.get("user_key") or "").strip() \
        or None

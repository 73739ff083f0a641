"""The model catalogue of each provider, kept per process, and each model's parameter list.

One ``Models`` per provider binds the pure parts (``catalogue.py`` parses, ``cache.py`` keeps a
copy fresh) to that provider's ``ChatClient``: ``GET {base}/models?include=…`` with the
ETag sent back, bounded in bytes and time, refreshed in the background once the TTL is up.
A model's ``docsJson`` (the OpenAPI document listing the parameters it accepts) is fetched
lazily, only from a URL the catalogue names, and only from the provider's own host or, over
https and the SSRF policy, a host of the provider's own domain. No Flask here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests

from playground import demo_catalogue, ssrf
from playground.cache import Cached, Fetched, Snapshot
from playground.catalogue import (
    DOCS_MAX_BYTES,
    Catalogue,
    Model,
    accepted_parameters,
    parse_catalogue,
)
from playground.errors import UpstreamError
from playground.upstream import ChatClient

INCLUDE = "include=pricing,capabilities,modalities"  # ignored by servers that list ids only
CATALOGUE_MAX_BYTES = 16 * 1024 * 1024  # ~400 detailed entries are ~1 MB
CATALOGUE_DEADLINE = 15.0
DOCS_DEADLINE = 10.0
MAX_DOCUMENTS = 64  # model documents kept per provider (least recently used go first)
FETCHING = threading.BoundedSemaphore(3)  # model documents downloading at once, per process


@dataclass(frozen=True)
class Parameters:
    """What a model's document says it accepts: the names, or None with the reason why not."""

    accepted: frozenset[str] | None
    note: str | None = None
    url: str | None = None

    @property
    def known(self) -> bool:
        return self.accepted is not None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _domain(host: str) -> str:
    """The last two labels of a host name: aimlapi.com for api.aimlapi.com."""
    return ".".join(host.rsplit(".", 2)[-2:])


class Models:
    """One provider's catalogue (cached, refreshed in the background) and model documents."""

    def __init__(self, client: ChatClient, *, ttl: float = 600.0, wait: float = 2.0,
                 docs_wait: float = 1.5, resolver=ssrf.system_resolver,
                 docs_session: requests.Session | None = None) -> None:
        self.client, self.demo = client, client.demo
        self.ttl, self.docs_wait, self.resolver = ttl, docs_wait, resolver
        self.cached = Cached(self._fetch_catalogue, parse_catalogue, what="The model list",
                             ttl=ttl, wait=wait, retry_after=30.0)
        self._docs: OrderedDict[str, Cached] = OrderedDict()
        self._lock = threading.Lock()
        self._docs_session = docs_session

    # -- the catalogue -----------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.client.base_url}/models?{INCLUDE}"

    def _fetch_catalogue(self, etag: str | None) -> Fetched:
        return self.client.get_json(self.url, etag, max_bytes=CATALOGUE_MAX_BYTES,
                                    deadline=CATALOGUE_DEADLINE)

    def snapshot(self) -> Snapshot:
        """The catalogue as it can be shown now (waits a little only the first time)."""
        return self.cached.get()

    def catalogue(self) -> Catalogue:
        value = self.snapshot().value
        return value if isinstance(value, Catalogue) else Catalogue()

    def find(self, name: str | None) -> Model | None:
        return self.catalogue().find(name or "")

    # -- a model's document ---------------------------------------------------------------
    def allowed_docs_url(self, url: str | None) -> str | None:
        """Why ``url`` may not be fetched (None: it may): the policy for model documents."""
        if not url:
            return "The catalogue names no description for this model."
        scheme, host, port = _origin(url)
        if (scheme, host, port) == _origin(self.client.base_url):
            return None  # the provider itself: as trusted as the run
        if scheme != "https":
            return "Its description is not on https, so it is not fetched."
        base_host = _origin(self.client.base_url)[1]
        if not base_host or _domain(host) != _domain(base_host):
            return "Its description is on another site than the provider's, so it is not fetched."
        return None

    def _docs_fetcher(self, url: str):
        same = _origin(url) == _origin(self.client.base_url)

        def fetch(etag: str | None) -> Fetched:
            # A visitor flicking through models must not make this process download many
            # multi-megabyte documents at once: a few at a time, the rest wait their turn.
            if not FETCHING.acquire(timeout=DOCS_DEADLINE):
                raise UpstreamError("busy", "Too many descriptions are being fetched")
            try:
                if same:
                    return self.client.get_json(url, etag, max_bytes=DOCS_MAX_BYTES,
                                                deadline=DOCS_DEADLINE, key=False)
                return self._foreign(url, etag)
            finally:
                FETCHING.release()
        return fetch

    def _foreign(self, url: str, etag: str | None) -> Fetched:
        """A document on another host of the provider's domain: public addresses only."""
        def policy(target: str) -> ssrf.Target:
            parts = urlsplit(target)  # the policy is for base URLs: check it without ?query
            return ssrf.check_url(urlunsplit(parts._replace(query="", fragment="")),
                                  resolver=self.resolver)

        try:
            policy(url)
        except ssrf.UnsafeURL as exc:
            raise UpstreamError("refused", str(exc)) from None
        session = self._docs_session or requests.Session()
        if self._docs_session is None:
            session.trust_env = False
            session.adapters.clear()
            session.mount("https://", ssrf.PinnedAdapter(policy))
        fetcher = ChatClient(self.client.base_url, session=session, max_retries=0)
        fetcher.timeout = self.client.timeout
        try:
            return fetcher.get_json(url, etag, max_bytes=DOCS_MAX_BYTES, deadline=DOCS_DEADLINE,
                                    key=False)
        finally:
            if self._docs_session is None:
                session.close()

    def parameters(self, model: Model | None, *, wait: bool = True) -> Parameters:
        """The parameters ``model``'s document lists, fetched once and cached; never raises.

        ``wait=False`` answers from what is already cached (after a run: never block it).
        """
        if model is None:
            return Parameters(None, "The model is not in the catalogue, so which parameters "
                                    "it accepts is not known.")
        url = model.docs_json
        if url is None and self.demo:
            url = demo_catalogue.docs_url(self.client.base_url, model.id)
        refused = self.allowed_docs_url(url)
        if refused:
            return Parameters(None, refused)
        with self._lock:
            cached = self._docs.get(url)
            if cached is None:
                cached = Cached(self._docs_fetcher(url), _parse_docs, what="Its description",
                                ttl=self.ttl, wait=self.docs_wait if wait else 0,
                                retry_after=60.0)
                self._docs[url] = cached
                while len(self._docs) > MAX_DOCUMENTS:
                    self._docs.popitem(last=False)
            self._docs.move_to_end(url)
        snapshot = cached.get() if wait else cached.snapshot()
        if isinstance(snapshot.value, _Document) and snapshot.value.accepted is not None:
            return Parameters(snapshot.value.accepted, None, url)
        if isinstance(snapshot.value, _Document):
            return Parameters(None, "Its description lists no chat-completions parameters.",
                              url)
        note = (snapshot.note or "").replace("Its description", "The model's description")
        return Parameters(None, note or "The model's description is still loading.", url)


@dataclass(frozen=True)
class _Document:
    accepted: frozenset[str] | None


def _parse_docs(data) -> _Document:
    # A document that parses but lists nothing is still a good copy: cache it, do not refetch.
    return _Document(accepted_parameters(data))


def for_provider(client: ChatClient, config) -> Models:
    """The catalogue service of one provider's client, with the app's settings."""
    return Models(client, ttl=float(config.get("PLAYGROUND_CATALOGUE_TTL") or 600.0),
                  resolver=config.get("PLAYGROUND_RESOLVER") or ssrf.system_resolver)

"""The policy for a base URL typed by a visitor, and the transport that enforces it.

A visitor-supplied URL makes this server a client of the visitor's choosing, so it may only
reach the public internet: https (http only for hosts the operator allows), no userinfo,
backslashes, whitespace or control characters, and every address the name resolves to must be
globally routable. The name is resolved once; the connection goes to the address that was
checked (the ``Host`` header and TLS SNI/certificate still use the name), so a DNS answer that
changes between check and connect (rebinding) cannot redirect it. Redirects are never followed
(the client sets ``allow_redirects=False``).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from requests.exceptions import InvalidURL
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Resolver = Callable[[str, int], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_ADDRESSES = {ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23",
    "100.100.100.200", "192.0.0.192")}
METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                  "instance-data.ec2.internal", "metadata.azure.com", "kubernetes.default"}
PRIVATE_SUFFIXES = (".internal", ".local", ".localhost", ".localdomain", ".home.arpa", ".lan",
                    ".svc", ".cluster.local")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
TEREDO = ipaddress.ip_network("2001::/32")
UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\\u00a0\u1680\u2000-\u200f\u2028-\u202f"
                          r"\u205f-\u206f\u3000\ufeff]")
NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


class UnsafeURL(ValueError):
    """The URL breaks the policy; the message says how, in words for the visitor."""


class BlockedURL(InvalidURL):
    """Raised by the transport, so the client reports a refused request, not a crash."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (an empty list when none)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [info[4][0] for info in infos]


def _literal(host: str) -> Address | None:
    """An IP written in any form libc accepts: dotted, decimal, octal, hex, short forms."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if NUMERIC_HOST.fullmatch(host) and re.search(r"\d", host):
        try:  # inet_aton is what connect() would use for "2130706433" or "0x7f.1"
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise UnsafeURL(f"“{host}” is neither a name nor a valid address.") from None
    return None


def unwrap(address: Address) -> Address:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.sixtofour:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def check_address(text: str) -> Address:
    """Refuse any address that is not plainly on the public internet."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        raise UnsafeURL(f"The name resolved to “{text}”, which is not an address.") from None
    inner = unwrap(address)
    if inner in METADATA_ADDRESSES or address in METADATA_ADDRESSES:
        raise UnsafeURL("That is a cloud metadata address.")
    if (isinstance(address, ipaddress.IPv6Address) and address in TEREDO) or \
            not inner.is_global or inner.is_multicast or not address.is_global:
        raise UnsafeURL(f"{inner} is not a public internet address.")
    return address


def check_url(url: str, *, allowed_http_hosts: Iterable[str] = (),
              resolver: Resolver = system_resolver) -> Target:
    """Apply the whole policy to a base URL; return where to connect or raise UnsafeURL."""
    if UNSAFE_CHARS.search(url):
        raise UnsafeURL("The URL contains spaces, backslashes or control characters.")
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises on an unbalanced "[" like urlsplit does
    except ValueError:
        raise UnsafeURL("The URL is malformed.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeURL("Only https:// URLs are allowed.")
    if "@" in parts.netloc:
        raise UnsafeURL("The URL may not contain a user name or password (“user@host”).")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURL("The URL has no host name.")
    if scheme == "http" and host not in {h.lower() for h in allowed_http_hosts}:
        raise UnsafeURL("Only https:// URLs are allowed for this host.")
    if parts.query or parts.fragment:
        raise UnsafeURL("A base URL has no ?query or #fragment.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("The port is not a number between 0 and 65535.") from None
    if host in METADATA_NAMES or host == "localhost" or host.endswith(PRIVATE_SUFFIXES):
        raise UnsafeURL(f"“{host}” is a local or metadata name.")
    literal = _literal(host)
    addresses = [str(literal)] if literal else resolver(host, port)
    if not addresses:
        raise UnsafeURL(f"“{host}” does not resolve to any address.")
    checked = tuple(str(check_address(a)) for a in addresses)
    return Target(url, scheme, host, port, checked)


class PinnedAdapter(HTTPAdapter):
    """A transport that checks each request's URL and connects to the checked address."""

    def __init__(self, policy: Callable[[str], Target]) -> None:
        self.policy = policy
        self.target: Target | None = None
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        adapter = self

        class Pinned:
            def _new_conn(self):
                target = adapter.target
                if target is None or self.host.lower() != target.host:
                    raise OSError("connection to an address that was not checked")
                self._dns_host = target.addresses[0]
                return super()._new_conn()

        http = type("PinnedHTTPConnection", (Pinned, HTTPConnection), {})
        https = type("PinnedHTTPSConnection", (Pinned, HTTPSConnection), {})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        try:  # checked again here: the name may resolve differently than a moment ago
            self.target = self.policy(request.url)
        except UnsafeURL as exc:
            raise BlockedURL(str(exc)) from None
        # Proxies would connect somewhere else than the checked address: never use them.
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                            proxies=None)

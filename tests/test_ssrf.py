"""Adversarial corpus, SSRF: a visitor's base URL reaches only the public internet."""

from __future__ import annotations

import pytest
import requests

from playground import ssrf
from tests.helpers import SENTINEL_KEY, submit

VISITOR_KEY = "fake-visitor-own-key-42"
DNS = {
    "api.example.com": ["93.184.216.34"],
    "llm.example.org": ["93.184.216.35"],
    "internal.example.com": ["10.0.0.5"],
    "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
    "loop6.example.com": ["::1"],
    "linklocal.example.com": ["fe80::1%eth0"],
    "cgnat.example.com": ["100.64.1.1"],
    "zero.example.com": ["0.0.0.0"],
    "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.example.com": ["2002:7f00:1::1"],
    "teredo.example.com": ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    "v6.example.com": ["2606:4700::1111"],
}


def resolver(host: str, port: int) -> list[str]:
    return DNS.get(host, [])


REFUSED = [
    # loopback in every spelling
    "https://127.0.0.1/v1", "https://2130706433/v1", "https://017700000001/v1",
    "https://0x7f000001/v1", "https://0x7f.0.0.1/v1", "https://0177.0.0.1/v1", "https://127.1/v1",
    "https://127.000.000.001/v1", "https://0/v1", "https://[::1]/v1", "https://[::]/v1",
    "https://[::ffff:127.0.0.1]/v1", "https://[::ffff:7f00:1]/v1",
    "https://[0:0:0:0:0:ffff:127.0.0.1]/v1", "HTTPS://127.0.0.1/v1",
    # metadata addresses and names
    "https://169.254.169.254/latest/meta-data", "https://[::ffff:169.254.169.254]/",
    "https://[fd00:ec2::254]/", "https://100.100.100.200/", "https://169.254.170.2/",
    "https://[64:ff9b::a9fe:a9fe]/", "https://[2002:a9fe:a9fe::]/", "https://2852039166/",
    "https://metadata.google.internal/computeMetadata/v1/", "https://metadata/",
    "https://instance-data/", "https://METADATA.GOOGLE.INTERNAL./",
    # private, local and special ranges
    "https://10.0.0.1/", "https://192.168.1.1/", "https://172.16.0.1/", "https://100.64.0.1/",
    "https://[fe80::1%25eth0]/", "https://[fc00::1]/", "https://224.0.0.1/",
    "https://255.255.255.255/", "https://localhost/", "https://app.localhost/",
    "https://kubernetes.default.svc/", "https://printer.local/",
    # names that resolve to private addresses
    "https://internal.example.com/v1", "https://mixed.example.com/v1",
    "https://mapped.example.com/v1", "https://loop6.example.com/v1",
    "https://linklocal.example.com/v1", "https://cgnat.example.com/v1",
    "https://zero.example.com/v1", "https://nat64.example.com/v1",
    "https://sixtofour.example.com/v1", "https://teredo.example.com/v1",
    "https://nxdomain.example.com/v1",
    # userinfo tricks
    "https://user:pass@api.example.com/v1", "https://api.example.com@127.0.0.1/v1",
    "https://api.example.com%40x@169.254.169.254/", "https://@api.example.com/v1",
    # backslashes, whitespace and control characters
    "https://api.example.com\\@127.0.0.1/v1", "https://api.example.com/v1\n",
    "https://api.exa mple.com/v1", "https://api.example.com\t/v1", "https://api.example.com\x00/",
    "https://api.example.com\u3000/v1",
    # schemes
    "http://api.example.com/v1", "ftp://api.example.com/", "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO", "javascript:alert(1)", "dict://127.0.0.1:11211/",
    "//api.example.com/v1", "api.example.com/v1",
    # shapes a base URL never has
    "https://api.example.com/v1?x=1", "https://api.example.com/v1#frag",
    "https://api.example.com:99999/v1", "https:///v1", "https://[/v1", "https://[::1/v1",
]
ALLOWED = ["https://api.example.com/v1", "https://8.8.8.8/v1", "https://[2606:4700::1111]/v1",
           "https://v6.example.com/v1", "http://llm.example.org/v1",
           "https://api.example.com:8443/v1"]


@pytest.mark.parametrize("url", REFUSED)
def test_unsafe_url_is_refused(url):
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_url(url, allowed_http_hosts=["llm.example.org"], resolver=resolver)


@pytest.mark.parametrize("url", ALLOWED)
def test_public_url_is_allowed(url):
    target = ssrf.check_url(url, allowed_http_hosts=["llm.example.org"], resolver=resolver)
    assert target.addresses and all(not a.startswith(("10.", "127.")) for a in target.addresses)


@pytest.fixture
def custom_app(upstream, make_app):
    return make_app(PLAYGROUND_ALLOW_USER_KEYS=True, PLAYGROUND_ALLOW_CUSTOM_BASE_URL=True,
                    PLAYGROUND_ALLOWED_HTTP_HOSTS="api.example.test",
                    PLAYGROUND_RESOLVER=lambda host, port: ["127.0.0.1"]
                    if host == "api.example.test" else resolver(host, port))


def test_custom_base_url_is_off_by_default(client, upstream):
    page = submit(client, provider="custom", base_url="https://api.example.com/v1")
    assert page.status == 400 and "Choose one of the providers" in page.field_errors("provider")
    assert upstream.received == [] and page.soup.select("[name=base_url]") == []


def test_custom_base_url_needs_the_visitors_key(custom_app, upstream):
    page = submit(custom_app.test_client(), provider="custom",
                  base_url="https://api.example.com/v1")
    assert page.status == 400 and "your own API key" in page.field_errors("base_url")
    assert upstream.received == []


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "https://2130706433/",
                                 "https://internal.example.com/v1", "http://api.example.com/"])
def test_custom_base_url_refusal_is_shown_on_the_form(custom_app, upstream, url):
    page = submit(custom_app.test_client(), provider="custom", base_url=url,
                  user_key=VISITOR_KEY)
    assert page.status == 400 and "not allowed" in page.field_errors("base_url")
    assert page.value("base_url") == url and upstream.received == []


def _allow_loopback(monkeypatch):
    original = ssrf.check_address
    monkeypatch.setattr(ssrf, "check_address", lambda text: ssrf.ipaddress.ip_address(text)
                        if text == "127.0.0.1" else original(text))


def test_the_transport_connects_to_the_checked_address_with_the_real_host(
        custom_app, upstream, monkeypatch):
    _allow_loopback(monkeypatch)  # stand-in for a public address in an offline test
    port = upstream.server_address[1]
    page = submit(custom_app.test_client(), provider="custom", user_key=VISITOR_KEY,
                  base_url=f"http://api.example.test:{port}/v1")
    assert page.status == 200, page.text(".error-card")
    request = upstream.received[-1]
    assert request["headers"]["Host"] == f"api.example.test:{port}"
    assert request["headers"]["Authorization"] == f"Bearer {VISITOR_KEY}"
    assert SENTINEL_KEY not in str(upstream.received)


def test_a_name_that_rebinds_after_the_check_is_refused_at_connect(upstream):
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    policy = lambda url: ssrf.check_url(url, resolver=lambda h, p: next(answers))  # noqa: E731
    policy("https://rebind.example.com/v1")
    session = requests.Session()
    session.mount("https://", ssrf.PinnedAdapter(policy))
    with pytest.raises(ssrf.BlockedURL):
        session.post("https://rebind.example.com/v1/chat/completions", timeout=2)


def test_the_transport_ignores_proxy_settings(upstream, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{upstream.server_address[1]}")
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", ssrf.PinnedAdapter(
        lambda url: ssrf.check_url(url, resolver=lambda h, p: ["127.0.0.1"])))
    with pytest.raises(ssrf.BlockedURL):
        session.post("https://api.example.com/v1/chat/completions", timeout=2)
    assert upstream.received == []


def test_redirect_from_a_custom_url_is_not_followed(custom_app, upstream, monkeypatch):
    _allow_loopback(monkeypatch)
    port = upstream.server_address[1]
    page = submit(custom_app.test_client(), provider="custom", user_key=VISITOR_KEY,
                  model="fake/redirect-metadata", base_url=f"http://api.example.test:{port}/v1")
    assert "not followed" in page.text(".error-card") and len(upstream.received) == 1

"""Property-based: the SSE parser, the markdown renderer and the URL policy never misbehave."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import ssrf
from playground.markdown import markdown_html
from playground.sse import SSEDecoder
from tests.hostile import HOSTILE, assert_safe_reply

PIECES = ["<", ">", "[", "]", "(", ")", "!", "`", "```", "*", "_", "&", "#", ";", ":", "\"",
          "'", "=", "/", "\\", "\n", "\n\n", " ", "\t", "\x00", "\u202e", "javascript:",
          "JaVaScRiPt:", "data:text/html,", "vbscript:", "&#106;", "&colon;", "<script>",
          "</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>", "<a href=",
          "onerror=", "](", "![", "<math>", "<style>", "<iframe srcdoc=", "http://x",
          "https://evil.example/", "mailto:a@b", "{{ config }}", "<base href=//evil>", "|", "-",
          ">", "    ", "1. ", "- ", "[x]: ", "<!--", "-->", "<form>", "<details open>"]
hostile_text = st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=60).map("".join)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text(max_size=2000))
def test_markdown_of_any_text_is_safe(text):
    assert_safe_reply(str(markdown_html(text)))


@SETTINGS
@given(hostile_text)
def test_markdown_of_hostile_fragments_is_safe(text):
    assert_safe_reply(str(markdown_html(text)))


@SETTINGS
@given(st.sampled_from(sorted(set(HOSTILE) - {"huge-2mb", "brackets-100k", "nested-emphasis"})),
       hostile_text)
def test_markdown_of_hostile_replies_with_noise_is_safe(case, noise):
    assert_safe_reply(str(markdown_html(noise + HOSTILE[case] + noise)))


def _decode(chunks) -> list:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close()


@SETTINGS
@given(st.lists(st.binary(max_size=200), max_size=30))
def test_sse_decoder_takes_any_bytes(chunks):
    for event in _decode(chunks):
        assert isinstance(event.data, str) and isinstance(event.name, str)


sse_lines = st.lists(st.sampled_from(["data: {\"a\": 1}", "data:x", "event: error", "event:",
                                      ": ping", "", "id: 3", "retry: 10", "data: [DONE]",
                                      "data", "weird line"]) | st.text(max_size=20),
                     max_size=40)


@SETTINGS
@given(sse_lines, st.sampled_from(["\n", "\r\n", "\r"]), st.data())
def test_sse_decoder_gives_the_same_events_however_the_bytes_are_split(lines, newline, data):
    raw = newline.join(lines).encode("utf-8") + newline.encode() * 2
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=10)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    # Any split at all, inside a CRLF or a multi-byte character included.
    assert _decode(pieces) == _decode([raw])


@SETTINGS
@given(st.text(max_size=80) | st.builds("https://{}/v1".format, st.text(max_size=40)))
def test_url_policy_refuses_cleanly_or_allows_only_public_addresses(url):
    try:
        target = ssrf.check_url(url, resolver=lambda host, port: ["10.0.0.1"])
    except ssrf.UnsafeURL:
        return
    assert all(ssrf.check_address(a) for a in target.addresses)
    assert target.scheme == "https" and "@" not in url

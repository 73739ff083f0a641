"""Unit: the catalogue copy a page reads — fresh, refreshed in the background, kept on failure,
never blocking for long — driven by a fake clock and a fake fetch, with no threads."""

from __future__ import annotations

import pytest

from playground.cache import Cached, Fetched, conditional_headers
from playground.catalogue import parse_catalogue
from tests.fake_upstream import fixture

CATALOGUE = fixture("catalogue.json")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Provider:
    """A fake catalogue endpoint: answers from a script, records the ETags it was sent."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.sent: list[str | None] = []

    def __call__(self, etag: str | None) -> Fetched:
        self.sent.append(etag)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Later:
    """Background work that runs only when the test says so."""

    def __init__(self) -> None:
        self.jobs: list = []

    def __call__(self, job) -> None:
        self.jobs.append(job)

    def run(self) -> None:
        while self.jobs:
            self.jobs.pop(0)()


def cache(provider, clock=None, spawn=None, **options) -> Cached:
    clock = clock or Clock()
    return Cached(provider, parse_catalogue, clock=clock, wall=lambda: clock.now + 1e9,
                  spawn=spawn or (lambda job: job()), wait=0, **options)


def test_the_first_read_fetches_and_later_reads_use_the_copy():
    clock = Clock()
    provider = Provider(Fetched(200, 'W/"v1"', CATALOGUE))
    cached = cache(provider, clock)
    first = cached.get()
    assert first.available and first.note is None
    assert first.value.find("gpt-4o").name == "GPT-4o"
    assert first.as_of == clock.now + 1e9  # the "as of" time shown with the picker
    clock.now += 599
    assert cached.get().value is first.value
    assert provider.sent == [None]  # one request in ten minutes


def test_after_the_ttl_the_etag_is_sent_and_304_keeps_the_copy():
    clock = Clock()
    provider = Provider(Fetched(200, 'W/"v1"', CATALOGUE), Fetched(304, 'W/"v1"'))
    cached = cache(provider, clock)
    before = cached.get()
    clock.now += 601
    after = cached.get()
    assert provider.sent == [None, 'W/"v1"']
    assert after.value is before.value and after.note is None
    assert after.as_of == clock.now + 1e9  # confirmed just now


def test_a_changed_catalogue_replaces_the_copy():
    clock = Clock()
    changed = {"data": [{"id": "new/model", "info": {"name": "New"}}]}
    provider = Provider(Fetched(200, 'W/"v1"', CATALOGUE), Fetched(200, 'W/"v2"', changed),
                        Fetched(304))
    cached = cache(provider, clock)
    cached.get()
    clock.now += 601
    assert [m.id for m in cached.get().value.models] == ["new/model"]
    clock.now += 601
    cached.get()
    assert provider.sent == [None, 'W/"v1"', 'W/"v2"']


@pytest.mark.parametrize("failure", [
    Fetched(503), Fetched(200, None, {"error": "nope"}), Fetched(200, None, "<html>"),
    Fetched(304),  # a 304 to an unconditional request is no catalogue
    ConnectionError("refused"), TimeoutError(),
])
def test_with_nothing_cached_a_failure_means_free_text_with_a_note(failure):
    snapshot = cache(Provider(failure)).get()
    assert not snapshot.available
    assert snapshot.note.startswith("The catalogue is unavailable")


@pytest.mark.parametrize("failure", [Fetched(500), ConnectionError("refused")])
def test_a_failed_refresh_keeps_the_last_good_copy_and_says_so(failure):
    clock = Clock()
    provider = Provider(Fetched(200, 'W/"v1"', CATALOGUE), failure)
    cached = cache(provider, clock)
    good = cached.get()
    clock.now += 601
    stale = cached.get()
    assert stale.value is good.value
    assert "could not be refreshed" in stale.note and "out of date" in stale.note
    assert stale.as_of == good.as_of  # still the time it was last confirmed


def test_a_failure_is_retried_after_a_pause_not_on_every_page():
    clock = Clock()
    provider = Provider(ConnectionError(), Fetched(200, 'W/"v1"', CATALOGUE))
    cached = cache(provider, clock, retry_after=30)
    for _ in range(5):
        assert not cached.get().available
    assert len(provider.sent) == 1
    clock.now += 31
    assert cached.get().available
    assert len(provider.sent) == 2


def test_a_stale_copy_is_served_at_once_while_the_refresh_runs_behind():
    clock, later = Clock(), Later()
    provider = Provider(Fetched(200, 'W/"v1"', CATALOGUE),
                        Fetched(200, 'W/"v2"', {"data": [{"id": "new/model"}]}))
    cached = cache(provider, clock, spawn=later)
    assert not cached.get().available  # the first fetch has not run yet: no waiting (wait=0)
    later.run()
    clock.now += 601
    stale = cached.get()
    assert stale.value.find("gpt-4o") is not None and stale.refreshing
    assert cached.get().refreshing and len(later.jobs) == 1  # one refresh at a time
    later.run()
    assert cached.get().value.find("new/model") is not None


def test_the_first_page_waits_a_little_then_gives_up():
    # The fetch never finishes (its job is never run): the page still gets an answer.
    cached = Cached(Provider(), parse_catalogue, spawn=Later(), wait=0.01)
    snapshot = cached.get()
    assert not snapshot.available and snapshot.refreshing
    assert snapshot.note == "The catalogue is still loading."


def test_refresh_now_fetches_in_this_thread():
    provider = Provider(Fetched(200, 'W/"v1"', CATALOGUE))
    cached = Cached(provider, parse_catalogue, spawn=lambda job: None, wait=0)
    assert cached.refresh().available and provider.sent == [None]


# -- refreshing with the ETag ----------------------------------------------------------------
@pytest.mark.parametrize(("etag", "headers"), [
    ('W/"1440a0-uH6NONsG"', {"If-None-Match": 'W/"1440a0-uH6NONsG"'}),
    (None, {}),
    ("", {}),
    ('W/"x"\r\nX-Injected: 1', {}),  # a header from the provider is never echoed raw
])
def test_the_conditional_request_header(etag, headers):
    assert conditional_headers(etag) == headers

"""The catalogue benchmark measures what it says: a full-size catalogue in the AI/ML API's
shape, served by the fake upstream with an ETag, refreshed 200 then 304 by the app's client.

Correctness only: timings are for `make bench`, never asserted here.
"""

from __future__ import annotations

import json

from bench.catalogue import MODELS, full_catalogue, realistic_runs
from playground.catalogue import parse_catalogue
from playground.models import Models
from playground.preflight import audit_lines
from playground.upstream import ChatClient


def test_the_full_size_catalogue_has_every_shape_of_the_fixture():
    document = full_catalogue()
    catalogue = parse_catalogue(document)
    assert len(catalogue.models) == MODELS == len({m.id for m in catalogue.models})
    assert 0.8e6 < len(json.dumps(document)) < 1.2e6  # about the real one's size
    assert {m.pricing.kind for m in catalogue.models if m.pricing} >= {
        "fixed", "variants", "variable"}
    assert len({m.developer for m in catalogue.models}) >= 10
    assert catalogue.search("vision", capabilities=("vision",))
    assert catalogue.find(catalogue.models[7].aliases[0]) is catalogue.models[7]


def test_the_fake_upstream_serves_it_with_an_etag_and_answers_304(upstream):
    document = full_catalogue()
    upstream.serve_catalogue(document)
    models = Models(ChatClient(upstream.base_url, "sk-test", max_retries=0), wait=5.0)
    statuses = []
    fetch = models.cached.fetch
    models.cached.fetch = lambda etag: statuses.append(fetch(etag)) or statuses[-1]
    first = models.cached.refresh()
    again = models.cached.refresh()
    assert [s.status for s in statuses] == [200, 304]
    assert upstream.catalogue_received[-1]["headers"]["If-None-Match"] == statuses[0].etag
    assert len(first.value.models) == len(again.value.models) == MODELS  # the copy is kept


def test_the_runs_it_audits_are_honoured_runs_with_a_cost():
    catalogue = parse_catalogue(full_catalogue())
    for run, model in realistic_runs(catalogue).values():
        lines = audit_lines(run, model, None)
        assert lines and {line["status"] for line in lines} == {"ok"}
        assert run.usage.cost_source == "estimated" and run.usage.cost_usd > 0
    structured = [line for run, model in realistic_runs(catalogue).values()
                  for line in audit_lines(run, model, None)
                  if line["parameter"] == "response_format"]
    assert [line["got"] for line in structured] == ["valid against the schema"]

"""Integration: a run before and after — the cost cap (refused with no call, failing closed),
"don't send" for a parameter the model's description does not list, the audit saved with the
run and shown on its page and its share page (both paths), the schema editor, the cost after."""

from __future__ import annotations

import json

import sqlalchemy as sa

from playground.store import runs
from tests.helpers import Page, stream, submit


def saved(app, run_id: str) -> dict:
    store = app.extensions["runs"]
    with store.engine.connect() as conn:
        return json.loads(conn.execute(sa.select(runs.c.data).where(runs.c.id == run_id))
                          .scalar_one())


def run_id_of(page: Page) -> str:
    return page.response.request.path.rsplit("/", 1)[-1]


def test_an_over_budget_run_is_refused_with_the_429_card_and_no_call(make_app, upstream):
    client = make_app(PLAYGROUND_MAX_COST_PER_RUN=0.01).test_client()
    page = submit(client, model="openai/gpt-4o", prompt="Hi", max_tokens="5000")
    assert page.status == 429 and "Retry-After" not in page.response.headers
    card = page.text(".limit-card")
    assert "estimated up to $0.05" in card and "cap of $0.01 per run" in card
    assert "Nothing was sent to the model" in card
    assert page.value("max_tokens") == "5000"  # the form is kept
    assert upstream.received == []
    response, _events = stream(client, model="openai/gpt-4o", prompt="Hi", max_tokens="5000")
    assert response.status_code == 429 and "cap of $0.01" in response.get_json()["error"]
    assert upstream.received == []
    cheap = submit(client, model="openai/gpt-4o", prompt="Hi", max_tokens="50")
    assert cheap.status == 200 and len(upstream.received) == 1


def test_the_cap_fails_closed_on_a_model_with_no_quotable_price(make_app, upstream):
    capped = make_app(PLAYGROUND_MAX_COST_PER_RUN=1.0).test_client()
    for model in ("mistralai/mistral-large", "fake/ok"):  # variable pricing; not listed
        page = submit(capped, model=model, prompt="Hi", max_tokens="10")
        assert page.status == 429 and "cost can't be quoted" in page.text(".limit-card")
    assert upstream.received == []
    allowed = make_app(PLAYGROUND_MAX_COST_PER_RUN=1.0, PLAYGROUND_ALLOW_UNPRICED=True)
    page = submit(allowed.test_client(), model="fake/ok", prompt="Hi")
    assert page.status == 200 and len(upstream.received) == 1


def test_an_unlisted_parameter_is_flagged_and_can_be_left_out(client, upstream):
    extra = '{"logprobs": true}'
    page = Page(client.get("/?model=anthropic/claude-sonnet-4"))
    assert page.soup.select_one("input[name=omit]") is None  # nothing set, nothing flagged
    page = submit(client, model="anthropic/claude-sonnet-4", prompt="Hi", extra=extra)
    assert upstream.received[0]["body"]["logprobs"] is True
    assert "Don't send logprobs" in page.text("#preflight")
    assert page.soup.select_one("input[name=omit][value=logprobs]") is not None
    assert "logprobs true not listed in the model's description" in page.text(".audit")
    page = submit(client, model="anthropic/claude-sonnet-4", prompt="Hi", extra=extra,
                  omit="logprobs")
    assert "logprobs" not in upstream.received[1]["body"]
    assert "logprobs" not in page.text(".audit")
    assert any(r["path"].startswith("/docs-json?model=anthropic")
               for r in upstream.catalogue_received)


def test_a_model_without_a_description_gets_a_note_and_no_flag(client, upstream):
    page = submit(client, model="openai/gpt-4o-mini", prompt="Hi", extra='{"top_k": 3}')
    assert page.status == 200 and page.soup.select_one("input[name=omit]") is None
    assert "Parameters not checked: The model's description is unavailable (HTTP 404)" in \
        page.text("#preflight")


def test_the_audit_is_saved_and_shown_on_the_run_page_and_the_share_page(app, client,
                                                                          upstream):
    page = submit(client, model="openai/gpt-4o", prompt="Hi", max_tokens="100", seed="7")
    run_id = run_id_of(page)
    lines = {line["parameter"]: line for line in saved(app, run_id)["audit"]}
    assert lines["max_tokens"]["status"] == "ok" and lines["model"]["status"] == "ok"
    assert lines["seed"]["status"] == "unknown"  # no system_fingerprint came back
    assert "12 of 100 tokens used" in page.text(".audit")
    client.post(f"/runs/{run_id}/share", data={"csrf_token": page.soup.select_one(
        "[name=csrf_token]")["value"]})
    token = app.extensions["runs"].get(run_id, _owner(client, run_id, app))[0].share_token
    shared = Page(app.test_client().get(f"/s/{token}"))
    assert "12 of 100 tokens used" in shared.text(".audit")
    assert "Can't tell" in shared.text(".audit")


def _owner(client, run_id: str, app) -> str:
    store = app.extensions["runs"]
    with store.engine.connect() as conn:
        return conn.execute(sa.select(runs.c.owner).where(runs.c.id == run_id)).scalar_one()


def test_the_streamed_path_saves_and_shows_the_audit_too(app, client, upstream):
    _response, events = stream(client, model="openai/gpt-4o", prompt="Hi")
    result = dict(events)["result"]
    assert "include_usage: true" in result["html"] and "usage arrived" in result["html"]
    run_id = result["url"].rsplit("/", 1)[-1]
    lines = {line["parameter"] for line in saved(app, run_id)["audit"]}
    assert {"model", "stream_options"} <= lines
    assert "usage arrived" in Page(client.get(result["url"])).text(".audit")


def test_the_cost_after_is_billed_when_reported_else_estimated_with_the_stored_price(
        app, client, upstream):
    estimated = submit(client, model="openai/gpt-4o", prompt="Hi")
    data = saved(app, run_id_of(estimated))
    assert data["price"]["input"]["price"] == 2.5 and data["price"]["output"]["per"] == 1_000_000
    assert data["estimate"]["usd"] > 0
    # 5 prompt tokens × $2.50/M + 12 completion tokens × $10.00/M
    assert "Cost $0.000133 estimated" in estimated.text(".usage")
    billed = submit(client, model="fake/cost", prompt="Hi")
    assert "Cost $0.000123 billed" in billed.text(".usage")


def test_a_bad_schema_is_a_field_message_and_never_sent(client, upstream):
    page = submit(client, model="openai/gpt-4o", prompt="Hi", use_schema="y",
                  schema='{"type": "object", "properties": {"a": {"$ref": '
                         '"http://169.254.169.254/x"}}}')
    assert page.status == 400 and "points outside this schema" in page.field_errors("schema")
    page = submit(client, model="openai/gpt-4o", prompt="Hi", use_schema="y", schema="{oops")
    assert page.status == 400 and page.field_errors("schema")
    assert upstream.received == [] and upstream.catalogue_received[-1]["path"].startswith(
        ("/v1/models", "/docs-json"))


def test_a_schema_run_sends_json_schema_and_the_form_comes_back_from_the_run(client, upstream):
    schema = '{"type": "object", "properties": {"city": {"type": "string"}}}'
    page = submit(client, model="openai/gpt-4o", prompt="Hi", use_schema="y",
                  schema_name="weather", schema=schema)
    assert upstream.received[0]["body"]["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "weather", "strict": False, "schema": {
            "type": "object", "properties": {"city": {"type": "string"}}}}}
    assert page.value("schema_name") == "weather"
    assert json.loads(page.value("schema")) == json.loads(schema)
    assert "not valid JSON" in page.text(".audit")  # the fake answers prose


def test_the_demo_breaks_the_schema_on_request_and_the_audit_shows_where(demo_app):
    client = demo_app.test_client()
    schema = json.dumps({"type": "object", "properties": {
        "city": {"type": "string"}, "temperature_c": {"type": "number"}},
        "required": ["city", "temperature_c"]})
    good = submit(client, model="demo", prompt="Weather?", use_schema="y", schema=schema,
                  schema_strict="y")
    assert "valid against the schema" in good.text(".audit")
    bad = submit(client, model="demo", prompt="Please break the schema", use_schema="y",
                 schema=schema, schema_strict="y")
    audit = bad.text(".audit")
    assert "2 violations of the schema" in audit
    assert "$.city: should be a string, not an integer (42)" in audit
    assert '$: the required property "temperature_c" is missing' in audit

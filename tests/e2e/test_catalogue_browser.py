"""Browser: knowing the model before running it — the picker (keyboard only), the card, the
capability gate, the live cost pre-flight, a JSON-schema run the demo breaks on purpose, and
the audit; with and without JavaScript. Screenshots in light, dark and 390 px."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from playground import demo_catalogue
from tests.e2e.conftest import ARTIFACTS
from tests.helpers import PROMPT

SCHEMA = ('{"type": "object", "properties": {"city": {"type": "string"}, '
          '"temperature_c": {"type": "number"}}, "required": ["city", "temperature_c"]}')


def test_keyboard_only_finds_a_vision_model_by_capability(live_url, open_page):
    watched = open_page(live_url)
    page = watched.page
    box = page.locator("#model")
    expect(box).to_have_attribute("role", "combobox")
    box.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("vision")
    listbox = page.locator("#model-listbox")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.locator("[role=option]")
    expect(options).to_have_count(5)
    expect(page.locator("#model-announce")).to_have_text(
        "5 models match. Use the arrow keys to choose.")
    expect(options.nth(2)).to_contain_text("Anthropic")
    expect(options.nth(2)).to_contain_text("$3.00 / out $15.00 per M tokens")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "model-option-2")
    expect(options.nth(2)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")  # chooses; does not submit the form
    expect(box).to_have_value("anthropic/claude-sonnet-4")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#model-card")).to_contain_text("Claude Sonnet 4")
    expect(page.locator("#model-card")).to_contain_text("200,000 tokens")
    expect(page.locator("#result .empty")).to_be_visible()  # nothing was run
    assert watched.errors == [] and watched.outside_requests() == []


def test_search_by_developer_and_escape_closes(live_url, open_page):
    page = open_page(live_url).page
    page.fill("#model", "")
    page.locator("#model").type("google")
    options = page.locator("#model-listbox [role=option]")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("google/gemini-2.5-pro")
    expect(options.first).to_contain_text("$1.25–$2.50")
    page.keyboard.press("Escape")
    expect(page.locator("#model-listbox")).to_be_hidden()
    expect(page.locator("#model")).to_have_value("google")  # free text stays free


def test_without_javascript_the_search_lists_links_that_fill_the_form(live_url, open_page):
    page = open_page(live_url, javascript=False).page
    page.fill("[name=find]", "anthropic")
    page.press("[name=find]", "Enter")
    link = page.locator(".found-link")
    expect(link).to_have_count(1)
    link.click()
    expect(page.locator("#model")).to_have_value("anthropic/claude-sonnet-4")
    expect(page.locator("#model-card")).to_contain_text("64,000 tokens")


def test_the_json_control_is_off_for_a_model_without_structured_output(live_url, open_page):
    page = open_page(live_url).page
    page.fill("#model", "anthropic/claude-sonnet-4")
    page.locator("#model").press("Tab")
    page.locator("summary", has_text="Parameters").click()
    editor = page.locator("fieldset[data-capability=structured_output]")
    switch = page.locator("#json_mode")
    expect(switch).to_be_disabled()
    expect(editor.locator("[data-gate-reason]")).to_contain_text(
        "does not list “structured_output” for Claude Sonnet 4")
    page.check("[name=override_structured_output]")
    expect(switch).to_be_enabled()
    page.fill("#model", "openai/gpt-4o")
    page.locator("#model").press("Tab")
    expect(page.locator("[name=override_structured_output]")).to_have_count(0)
    expect(switch).to_be_enabled()
    expect(editor.locator("[data-gate-reason]")).to_be_hidden()


def test_the_cost_figure_follows_max_tokens(live_url, open_page):
    page = open_page(live_url).page
    page.fill("#model", "openai/gpt-4o")
    page.fill(f"#{PROMPT}", "Hello")
    page.locator("summary", has_text="Parameters").click()
    page.fill("#max_tokens", "100")
    cost = page.locator("#preflight-cost")
    expect(cost).to_contain_text("estimated up to $0.00102")
    expect(page.locator("#preflight")).to_contain_text("up to 100 tokens (max_tokens)")
    page.fill("#max_tokens", "20000")
    expect(cost).to_contain_text("estimated up to $0.20")
    expect(page.locator("#max_tokens ~ .hint")).to_have_text(
        "This model's output limit: 16,384 tokens.")


def _schema_run(page) -> None:
    page.fill(f"#{PROMPT}", "Weather in Paris, but please break the schema")
    page.locator("summary", has_text="Parameters").click()
    page.check("#use_schema")
    page.fill("#schema", SCHEMA)
    page.click("#run-button")


def test_a_schema_run_the_demo_breaks_shows_each_violation_path(demo_url, open_page):
    for javascript in (True, False):
        watched = open_page(demo_url, javascript=javascript)
        page = watched.page
        _schema_run(page)
        audit = page.locator(".audit")
        expect(audit).to_contain_text("2 violations of the schema", timeout=15_000)
        expect(audit).to_contain_text("$.city: should be a string, not an integer (42)")
        expect(audit).to_contain_text('$: the required property "temperature_c" is missing')
        expect(page.locator(".usage")).to_contain_text("estimated, demo prices")
        assert watched.errors == []


def test_the_audit_says_why_a_demo_reply_stops_early(demo_url, open_page):
    page = open_page(demo_url).page
    page.fill(f"#{PROMPT}", "Tell me everything")
    page.locator("summary", has_text="Parameters").click()
    page.fill("#max_tokens", "8")
    page.click("#run-button")
    row = page.locator(".audit tr", has_text="max_tokens")
    expect(row).to_contain_text("cut at the limit (finish_reason: length)", timeout=15_000)
    expect(row).to_contain_text("OK")
    expect(page.locator(".audit")).not_to_contain_text("Warning")


def test_screenshots_light_dark_and_narrow(demo_url, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    for name, options in (("light", {"color_scheme": "light"}),
                          ("dark", {"color_scheme": "dark"}),
                          ("390", {"color_scheme": "light", "viewport": {"width": 390,
                                                                         "height": 844}})):
        context = browser.new_context(**{"viewport": {"width": 1360, "height": 900},
                                         **options})
        page = context.new_page()
        page.goto(demo_url)
        page.locator("#model").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("vision")
        vision = [m for m in demo_catalogue.MODELS if "vision" in demo_catalogue.CAPABILITIES[m]]
        expect(page.locator("#model-listbox [role=option]")).to_have_count(len(vision))
        page.screenshot(path=str(ARTIFACTS / f"catalogue-picker-{name}.png"))
        page.keyboard.press("Escape")
        page.fill("#model", "demo")
        page.fill(f"#{PROMPT}", "Please break the schema")
        page.locator("summary", has_text="Parameters").click()
        page.check("#use_schema")
        page.fill("#schema", SCHEMA)
        page.click("#run-button")
        expect(page.locator(".audit")).to_contain_text("violations", timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / f"catalogue-run-{name}.png"), full_page=True)
        box = page.locator(".audit").bounding_box()
        assert box and box["width"] <= (390 if name == "390" else 1360)
        # The panel follows the form after its debounce: "vision" typed above was priced first.
        expect(page.locator("#preflight")).to_contain_text(re.compile("[Ee]stimated up to"))
        context.close()


def test_the_image_inputs_are_off_for_a_text_only_model(live_url, open_page):
    watched = open_page(live_url)
    page = watched.page
    page.fill("#model", "meta-llama/Llama-3.3-70B-Instruct-Turbo")
    page.locator("#model").press("Tab")
    turn = page.locator("#turn-1")
    turn.locator(".turn-images summary").click()
    upload, url = turn.locator("[data-upload]"), turn.locator("input[type=url]")
    expect(upload).to_be_disabled()
    expect(url).to_be_disabled()
    expect(turn.locator("[data-gate-reason]")).to_contain_text(
        "Image inputs off: the catalogue does not list “vision”")
    page.check("[name=override_vision]")
    expect(upload).to_be_enabled()
    page.fill("#model", "openai/gpt-4o")
    page.locator("#model").press("Tab")
    expect(page.locator("[name=override_vision]")).to_have_count(0)
    expect(url).to_be_enabled()
    assert watched.errors == []


def test_without_javascript_the_server_renders_the_image_inputs_off(live_url, open_page):
    page = open_page(live_url + "/?model=meta-llama/Llama-3.3-70B-Instruct-Turbo",
                     javascript=False).page
    page.locator("#turn-1 .turn-images summary").click()
    expect(page.locator("#turn-1 [data-upload]")).to_be_disabled()
    expect(page.locator("#preflight")).to_contain_text("Send images anyway")

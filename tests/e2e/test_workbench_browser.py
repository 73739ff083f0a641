"""Browser: the conversation workbench in real Chromium, with and without JavaScript, on the
offline demo model."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.test_images import png

BOTH = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
SHOTS = ARTIFACTS / "workbench"


def run(page) -> None:
    """Press Run and wait for the new run's page (streamed in place, or posted), finished."""
    before = page.url
    page.click("#run-button")
    page.wait_for_url(lambda url: "/runs/" in url and url != before, timeout=15_000)
    expect(page.locator(".result .pill").first).to_have_text("Done", timeout=15_000)


def add(page, role: str, text: str) -> None:
    """Add a turn with the button (in place, or by a post) and type into it: it has focus."""
    before = page.locator("#turn-list > [data-turn]").count()
    page.click(f"#add-{role}")
    expect(page.locator("#turn-list > [data-turn]")).to_have_count(before + 1)
    box = page.locator(f"#turns-{before}-content")
    expect(box).to_be_focused()
    box.fill(text)


def active(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


@BOTH
def test_build_four_turns_with_an_edited_assistant_turn(demo_url, open_page, javascript):
    watched = open_page(demo_url, javascript=javascript)
    page = watched.page
    page.fill("#turns-0-content", "Answer in one line.")
    page.fill("#turns-1-content", "Name a colour.")
    add(page, "assistant", "Blue, edited by hand.")
    add(page, "user", "And another?")
    expect(page.locator("#turns-2-content")).to_have_value("Blue, edited by hand.")
    run(page)
    expect(page.locator(".result .reply").first).to_contain_text("This conversation has 4 turns")
    expect(page.locator(".result .reply").first).to_contain_text("And another?")
    page.reload()  # the run's page: every turn as sent
    for index, text in enumerate(["Answer in one line.", "Name a colour.",
                                  "Blue, edited by hand.", "And another?"]):
        expect(page.locator(f"#turns-{index}-content")).to_have_value(text)
    expect(page.locator("#turns-2-role")).to_have_value("assistant")
    assert watched.errors == [] and watched.outside_requests() == []


@BOTH
def test_continue_twice_then_edit_an_earlier_turn(demo_url, open_page, javascript):
    page = open_page(demo_url, javascript=javascript).page
    page.fill("#turns-1-content", "One")
    run(page)
    first = page.url
    for word, turn in (("Two", 3), ("Three", 5)):
        page.click("[data-continue]")
        expect(page.locator(f"#turns-{turn}-content")).to_be_focused()
        expect(page.locator(f"#turns-{turn - 1}-role")).to_have_value("assistant")
        page.keyboard.type(word)
        run(page)
    expect(page.locator(".result .reply").first).to_contain_text("5 turns")
    expect(page.locator(".thread-list a")).to_have_count(3)  # 2 runs back, and "back to"
    expect(page.locator(".thread-list a").first).to_have_attribute("href", urlparse(first).path)
    page.reload()
    expect(page.locator("#turns-5-content")).to_have_value("Three")
    expect(page.locator(".thread-list a")).to_have_count(3)
    # edit an earlier turn and re-run: the new run sends the edit
    page.fill("#turns-1-content", "Uno")
    run(page)
    expect(page.locator(".result .reply").first).to_contain_text("5 turns")
    expect(page.locator("#transcript")).to_contain_text("Uno")


@BOTH
def test_a_full_tool_round_trip_on_demo_tools(demo_url, open_page, javascript):
    page = open_page(demo_url, javascript=javascript).page
    page.fill("#model", "demo-tools")
    page.fill("#turns-1-content", "Oslo")
    run(page)
    expect(page.locator(".result")).to_contain_text("get_weather")
    page.click("[data-continue]")
    box = page.locator("#turns-3-content")
    expect(box).to_be_focused()
    expect(page.locator("label[for=turns-3-content]")).to_contain_text("Result of get_weather")
    expect(page.locator("#turn-3 .tool-arguments")).to_contain_text('"city": "Oslo"')
    expect(page.locator("#turns-3-tool_call_id")).to_have_value("call_demo_1")
    box.fill("12 °C and windy")
    run(page)
    reply = page.locator(".result .reply").first
    expect(reply).to_contain_text("Answer from the tool results")
    expect(reply).to_contain_text("12 °C and windy")
    page.reload()
    expect(page.locator("#turns-3-content")).to_have_value("12 °C and windy")


@BOTH
def test_upload_an_image_to_the_demo_model(demo_url, open_page, javascript):
    watched = open_page(demo_url, javascript=javascript)
    page = watched.page
    page.fill("#turns-1-content", "What is in this picture?")
    page.locator("#turn-1 .turn-images summary").click()
    page.set_input_files("#turns-1-upload", files=[
        {"name": "red.png", "mimeType": "image/png", "buffer": png(12, 8)}])
    if javascript:  # uploaded as soon as it is picked: the thumbnail is there before Run
        expect(page.locator("#turn-1 img.thumb")).to_be_visible()
    run(page)
    reply = page.locator(".result .reply").first
    expect(reply).to_contain_text("It received 1 image")
    expect(reply).to_contain_text("PNG")
    expect(reply).to_contain_text("12×8 pixels")
    page.reload()
    thumb = page.locator("#turn-1 img.thumb")
    expect(thumb).to_be_visible()
    assert page.evaluate("document.querySelector('#turn-1 img.thumb').naturalWidth") == 12
    expect(page.locator(".inspect")).to_contain_text("data:image/png;base64,…")
    assert watched.outside_requests() == []


@BOTH
def test_fill_a_variable(demo_url, open_page, javascript):
    page = open_page(demo_url, javascript=javascript).page
    page.fill("#turns-1-content", "Greet {{name}} warmly.")
    if not javascript:
        page.click("text=Find variables in the turns")
    expect(page.locator("#variables-name")).to_be_visible()
    page.click("#run-button")  # empty: refused on the variable's box
    expect(page.locator("#variables-name-errors")).to_contain_text("Give {{name}} a value")
    page.fill("#variables-name", "Ann")
    run(page)
    expect(page.locator(".result .reply").first).to_contain_text("Greet Ann warmly.")
    page.reload()
    expect(page.locator("#turns-1-content")).to_have_value("Greet {{name}} warmly.")
    expect(page.locator("#variables-name")).to_have_value("Ann")


@BOTH
def test_import_then_export_the_messages(demo_url, open_page, javascript):
    page = open_page(demo_url, javascript=javascript).page
    messages = [{"role": "system", "content": "Terse."}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}]
    page.locator(".import-export summary").click()
    page.fill("#import_text", json.dumps(messages))
    page.click("button[value=import]")
    expect(page.locator("#turns-status")).to_have_text("Imported 4 turns.")
    expect(page.locator("#turns-3-content")).to_have_value("Bye")
    expect(page.locator("#turns-2-role")).to_have_value("assistant")
    if not page.locator("button[value=export]").is_visible():
        page.locator(".import-export summary").click()
    with page.expect_download() as download:
        page.click("button[value=export]")
    assert download.value.suggested_filename == "messages.json"
    assert json.loads(Path(download.value.path()).read_text()) == messages
    expect(page.locator("#turns-3-content")).to_have_value("Bye")  # the page stays as it is


@pytest.mark.parametrize("name", ["notes.txt"])
def test_the_script_checks_an_upload_before_sending_it(demo_url, open_page, name):
    watched = open_page(demo_url)
    page = watched.page
    page.locator("#turn-1 .turn-images summary").click()
    page.set_input_files("#turns-1-upload", files=[
        {"name": name, "mimeType": "text/plain", "buffer": b"not an image"}])
    expect(page.locator("#turns-1-upload-errors")).to_contain_text("is not a PNG, JPEG")
    expect(page.locator("#turns-1-upload")).to_have_attribute("aria-invalid", "true")
    assert not [url for url in watched.requests if url.endswith("/images")]


def posted(page) -> list:
    """The fields the form would post, in order (no token, no file, no button)."""
    return page.evaluate("""() => Array.from(new FormData(document.getElementById('prompt-form')))
        .filter(([k, v]) => typeof v === 'string' && !['csrf_token', 'action'].includes(k))""")


def test_editing_in_place_posts_exactly_what_the_server_would(demo_url, open_page):
    steps = [("add-assistant", None), ("add-user", None), ("up-3", None), ("delete-0", None),
             ("add-tool", None), ("down-0", None)]
    pages = {}
    for javascript in (True, False):
        page = open_page(demo_url, javascript=javascript).page
        page.fill("#turns-1-content", "first {{who}}")
        for action, _ in steps:
            page.click(f"button[name=action][value='{action}']")
            page.wait_for_load_state()
        pages[javascript] = page
    no_js = pages[False]
    # the no-JS page's fields, read the same way in a JS-enabled copy of its HTML
    html = no_js.content()
    reader = open_page("about:blank").page
    reader.set_content(html)
    assert posted(pages[True]) == posted(reader)
    assert [name for name, _ in posted(reader) if name.endswith("-role")] == [
        "turns-0-role", "turns-1-role", "turns-2-role", "turns-3-role"]


def test_keyboard_only_through_the_turn_editor(demo_url, open_page):
    page = open_page(demo_url).page
    page.focus("#turns-1-content")
    page.keyboard.type("Hello from the keyboard")

    def tab_to(element_id: str, backwards: bool = False) -> None:
        for _ in range(80):
            if active(page) == element_id:
                return
            page.keyboard.press("Shift+Tab" if backwards else "Tab")
        raise AssertionError(f"Tab never reached #{element_id}")

    tab_to("add-assistant")
    page.keyboard.press("Enter")
    expect(page.locator("#turns-2-content")).to_be_focused()
    page.keyboard.type("An assistant turn")
    expect(page.locator("#turns-status")).to_have_text("Turn 3 added (assistant).")
    # up from the new turn: Shift+Tab back to its "Move turn 3 up" button
    for _ in range(30):
        label = page.evaluate("document.activeElement.textContent")
        if "Move turn 3 up" in label:
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#turns-1-content")).to_be_focused()
    expect(page.locator("#turns-1-content")).to_have_value("An assistant turn")
    expect(page.locator("#turns-status")).to_have_text("Turn 3 moved up: it is now turn 2.")
    # the role select changes with the arrow keys, and its fields follow
    tab_to("turns-0-role", backwards=True)
    page.keyboard.press("End")
    expect(page.locator("#turns-0-role")).to_have_value("tool")
    expect(page.locator("#turns-0-tool_call_id")).to_be_visible()
    page.keyboard.press("Home")
    expect(page.locator("#turns-0-tool_call_id")).to_be_hidden()
    page.locator("#turns-2-content").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".result .pill").first).to_have_text("Done", timeout=15_000)


# -- screenshots: light, dark and 390 px, with and without JavaScript ------------------------
# Tall enough for the whole form: on a wide screen it is a sticky column that scrolls itself.
MODES = {"light": {"color_scheme": "light", "viewport": {"width": 1360, "height": 2400}},
         "dark": {"color_scheme": "dark", "viewport": {"width": 1360, "height": 2400}},
         "390": {"color_scheme": "light", "viewport": {"width": 390, "height": 844}}}


def _scenes(page) -> dict[str, str]:
    """Build each scene's run on the demo model; return its address."""
    scenes = {}
    page.fill("#turns-0-content", "Answer in one line.")
    page.fill("#turns-1-content", "Name a colour.")
    add(page, "assistant", "Blue, edited by hand.")
    add(page, "user", "And another?")
    run(page)
    scenes["four-turns"] = page.url
    page.goto(page.url.split("/runs/")[0] + "/")
    page.fill("#model", "demo-tools")
    page.fill("#turns-1-content", "Oslo")
    run(page)
    page.click("[data-continue]")
    page.fill("#turns-3-content", "12 °C and windy")
    run(page)
    scenes["tool-round-trip"] = page.url  # and its thread
    page.goto(page.url.split("/runs/")[0] + "/")
    page.fill("#turns-1-content", "Describe {{thing}} in this picture.")
    page.locator("#turn-1 .turn-images summary").click()
    page.set_input_files("#turns-1-upload", files=[
        {"name": "red.png", "mimeType": "image/png", "buffer": png(64, 40)}])
    expect(page.locator("#turn-1 img.thumb")).to_be_visible()
    page.fill("#variables-thing", "the colour")
    run(page)
    scenes["image-and-variables"] = page.url
    return scenes


def test_screenshots(demo_url, open_page, browser):
    builder = open_page(demo_url).page
    scenes = _scenes(builder)
    state = builder.context.storage_state()  # the same visitor: runs are owner-scoped
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, url in scenes.items():
        for mode, options in MODES.items():
            for javascript in (True, False):
                context = browser.new_context(java_script_enabled=javascript,
                                              storage_state=state, **options)
                try:
                    page = context.new_page()
                    page.goto(url)
                    expect(page.locator("#turn-list")).to_be_visible()
                    suffix = "js" if javascript else "nojs"
                    page.screenshot(path=str(SHOTS / f"{name}-{mode}-{suffix}.png"),
                                    full_page=True)
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= options["viewport"]["width"], f"{name} {mode} scrolls sideways"
                finally:
                    context.close()

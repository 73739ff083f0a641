"""Integration: the conversation workbench against the fake upstream, with and without JS.

Every refused case asserts the fake upstream saw no request.
"""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest

from playground import tables
from playground.store import current_store
from tests.helpers import PROMPT, Page, csrf_token, form, turn_fields
from tests.test_images import png


def bodies(upstream) -> list[dict]:
    return [r["body"] for r in upstream.received if r["method"] == "POST"]


def post(client, path="/", follow=True, **fields) -> Page:
    data = {"csrf_token": csrf_token(client), "model": "fake/ok", **fields}
    return Page(client.post(path, data=data, follow_redirects=follow,
                            content_type="multipart/form-data"))


def run_id(page: Page) -> str:
    return re.search(r"/runs/([\w-]+)", page.response.request.path).group(1)


THREE = turn_fields(("system", "Be terse."), ("user", "Hi"),
                    ("assistant", "Hello, edited by hand."), ("user", "And now?"))


def test_a_three_turn_conversation_is_sent_as_written(client, upstream):
    page = post(client, **THREE)
    assert page.status == 200 and "Hello! How can I help you today?" in page.text(".reply")
    assert bodies(upstream)[0]["messages"] == [
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello, edited by hand."},
        {"role": "user", "content": "And now?"}]
    # the run's page keeps every turn, and the history shows the last user turn and the count
    again = Page(client.get(page.response.request.path))
    assert [again.value(f"turns-{i}-content") for i in range(4)] == [
        "Be terse.", "Hi", "Hello, edited by hand.", "And now?"]
    history = Page(client.get("/history"))
    assert history.all_text(".run-link") == ["And now?"]
    assert history.all_text(".turn-count") == ["4 turns"]


@pytest.mark.parametrize(("action", "roles", "focus", "said"), [
    ("add-user", ["system", "user", "assistant", "user", "user"], "turns-4-content",
     "Turn 5 added"),
    ("delete-1", ["system", "assistant", "user"], "turns-1-content", "Turn 2 deleted"),
    ("up-2", ["system", "assistant", "user", "user"], "turns-1-content", "Turn 3 moved up"),
    ("down-0", ["user", "system", "assistant", "user"], "turns-1-content", "moved down"),
    ("clear", ["system", "user"], "turns-1-content", "New conversation"),
])
def test_editing_buttons_without_javascript_call_nobody(client, upstream, action, roles,
                                                       focus, said):
    page = post(client, action=action, **THREE)
    assert page.status == 200 and bodies(upstream) == []
    assert [page.value(f"turns-{i}-role") or page.soup.select_one(
        f"#turns-{i}-role option[selected]")["value"] for i in range(len(roles))] == roles
    assert page.soup.select_one(f"#turns-{len(roles)}-role") is None
    assert page.soup.select_one(f"#{focus}").has_attr("autofocus")
    assert said in page.text("#turns-status")
    if action == "up-2":  # the moved turn's text went with it
        assert page.value("turns-1-content") == "Hello, edited by hand."
    assert "No runs yet" in Page(client.get("/history")).text(".history")  # nothing saved


def test_changing_a_role_without_javascript_shows_its_fields(client, upstream):
    fields = {**THREE, "turns-3-role": "tool"}
    page = post(client, action="role-3", **fields)
    assert page.status == 200 and bodies(upstream) == []
    tool_section = page.soup.select_one("#turns-3-tool_call_id").find_parent(
        attrs={"data-for-role": "tool"})
    assert not tool_section.has_attr("hidden")
    assert "Turn 4 is now a tool result turn" in page.text("#turns-status")


def test_import_and_export_round_trip_without_javascript(client, upstream):
    messages = [{"role": "system", "content": "Sys"}, {"role": "user", "content": "Q {{x}}"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"}]
    page = post(client, action="import", import_text=json.dumps(messages))
    assert page.status == 200 and "Imported 4 turns" in page.text("#turns-status")
    assert page.value("turns-3-tool_call_id") == "c1" and page.value("turns-3-content") == "42"
    assert page.soup.select_one("#variables-x") is not None  # the variable was found
    fields = {key: page.value(key) for key in
              (f"turns-{i}-{name}" for i in range(4)
               for name in ("role", "content", "tool_call_id", "tool_calls"))}
    for i in range(4):
        fields[f"turns-{i}-role"] = page.soup.select_one(
            f"#turns-{i}-role option[selected]")["value"]
    exported = client.post("/", data={"csrf_token": csrf_token(client), "model": "fake/ok",
                                      "action": "export", **fields})
    assert exported.status_code == 200
    assert "messages.json" in exported.headers["Content-Disposition"]
    assert json.loads(exported.get_data(as_text=True)) == messages
    assert bodies(upstream) == []


def test_a_tool_round_trip_continues_with_the_matching_id(client, upstream):
    first = post(client, **turn_fields(("user", "Weather in Paris?")), model="fake/tools")
    assert first.status == 200
    link = first.soup.select_one("[data-continue]")["href"]
    page = Page(client.get(link))
    assert page.status == 200
    # an empty system box comes first, then the question and the reply's call: the result box
    assert page.value("turns-3-tool_call_id") == "call_abc"
    assert "Result of get_weather" in page.text("label[for=turns-3-content]")
    assert '"city": "Paris"' in page.text("#turn-3 .tool-arguments")
    assert page.soup.select_one("#turns-3-content").has_attr("autofocus")
    assert page.value("parent_id") == run_id(first)
    # the user types a mock result; Run sends it as a tool message with the call's id
    data = fields_of(page)
    data.update({"turns-3-content": "18 °C, sunny", "model": "fake/ok"})
    second = post(client, **data)
    sent = bodies(upstream)[-1]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "call_abc", "content": "18 °C, sunny"}
    assert sent[-2]["tool_calls"][0]["id"] == "call_abc" and "reasoning" not in sent[-2]
    # the run page shows the thread back to the first run
    assert second.soup.select_one(f".thread a[href='/runs/{run_id(first)}']") is not None


def continued(client, page: Page, choice: int = 0) -> Page:
    return Page(client.get(page.soup.select("[data-continue]")[choice]["href"]))


def fields_of(page: Page) -> dict:
    """Every text field the page's form would post, as a browser without JS would."""
    data = {}
    for node in page.soup.select("#prompt-form [name]"):
        name = node["name"]
        if name in ("action", "csrf_token") or node.find_parent("template"):
            continue
        if node.name == "textarea":
            data[name] = node.get_text().removeprefix("\n")
        elif node.name == "select":
            chosen = node.select_one("option[selected]") or node.select_one("option")
            data[name] = chosen["value"] if chosen else ""
        elif node.get("type") == "checkbox":
            if node.has_attr("checked"):
                data[name] = node.get("value", "y")
        elif node.get("type") not in ("file", "password"):
            data[name] = node.get("value", "")
    return data


def test_parallel_tool_calls_get_one_result_box_each_and_a_second_round(client, upstream):
    first = post(client, model="fake/parallel-tools", **turn_fields(("user", "Two cities")))
    page = continued(client, first)
    assert [page.value(f"turns-{i}-tool_call_id") for i in (3, 4)] == ["call_paris",
                                                                     "call_oslo"]
    assert page.soup.select_one("#turns-3-content").has_attr("autofocus")
    data = fields_of(page)
    data.update({"turns-3-content": "sunny", "turns-4-content": "snow"})
    second = post(client, **{k: v for k, v in data.items() if k != "model"},
                  model="fake/parallel-tools")
    sent = bodies(upstream)[-1]["messages"]
    assert [(m["role"], m.get("tool_call_id"), m.get("content")) for m in sent[-2:]] == [
        ("tool", "call_paris", "sunny"), ("tool", "call_oslo", "snow")]
    # a second round of calls: the conversation grows, the ids still match
    third_form = continued(client, second)
    assert third_form.value("turns-6-tool_call_id") == "call_paris"
    assert len(third_form.soup.select("[data-turn]:not(template [data-turn])")) >= 8


def test_continue_twice_and_regenerate_keep_the_thread(client, upstream):
    first = post(client, **turn_fields(("user", "One")))
    page = continued(client, first)
    assert page.value("turns-2-content").startswith("Hello!")
    assert page.soup.select_one("#turns-3-content").has_attr("autofocus")
    data = fields_of(page)
    data["turns-3-content"] = "Two"
    second = post(client, **data)
    page = continued(client, second)
    data = fields_of(page)
    data["turns-5-content"] = "Three"
    third = post(client, **data)
    assert [m["content"] for m in bodies(upstream)[-1]["messages"] if m["role"] == "user"] == [
        "One", "Two", "Three"]
    links = [a["href"] for a in third.soup.select(".thread-list a")]
    assert links[:2] == [f"/runs/{run_id(first)}", f"/runs/{run_id(second)}"]
    regenerated = Page(client.post(f"/runs/{run_id(third)}/regenerate",
                                   data={"csrf_token": csrf_token(client)},
                                   follow_redirects=True))
    assert regenerated.status == 200 and run_id(regenerated) != run_id(third)
    assert bodies(upstream)[-1]["messages"] == bodies(upstream)[-2]["messages"]
    assert [a["href"] for a in regenerated.soup.select(".thread-list a")][:2] == links[:2]


def test_continue_with_several_choices_offers_one_each(client, upstream):
    first = post(client, model="fake/choices", n="3", **turn_fields(("user", "Pick")))
    assert len(first.soup.select("[data-continue]")) == 3
    page = continued(client, first, 2)
    assert page.value("turns-2-content") == "Answer number 2"


def test_reasoning_is_never_sent_back(client, upstream):
    first = post(client, model="fake/reasoning", **turn_fields(("user", "2+2?")))
    data = fields_of(continued(client, first))
    data["turns-3-content"] = "Sure?"
    post(client, **data)
    assistant = bodies(upstream)[-1]["messages"][1]  # the empty system box is not sent
    assert assistant == {"role": "assistant", "content": "The answer is 4."}


def test_an_image_upload_becomes_a_data_part_and_is_kept_across_actions(client, upstream):
    image = png(4, 3)
    fields = {**turn_fields(("user", "What is this?")),
              "turns-0-upload": (io.BytesIO(image), "cat.png"), "action": "add-assistant"}
    page = post(client, **fields)  # a no-JS button: the upload is kept, nothing is sent
    assert bodies(upstream) == []
    ref = page.value("turns-0-images-0-ref")
    assert re.fullmatch(r"[0-9a-f]{64}", ref)
    thumb = page.soup.select_one("#turn-0 img.thumb")
    assert thumb["src"] == f"/images/{ref}"
    served = client.get(thumb["src"])
    assert served.status_code == 200 and served.data == image
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")
    run = post(client, **{**turn_fields({"role": "user", "content": "What is this?",
                                         "images": [{"ref": ref}]})})
    parts = bodies(upstream)[-1]["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "What is this?"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    # the stored request shows it abbreviated; the export carries it whole
    assert "data:image/png;base64,…" in run.text(".request-json, #request-json, .inspect")
    exported = client.get(f"/runs/{run_id(run)}.json").get_json()
    assert exported["request"]["messages"][0]["content"][1]["image_url"]["url"] == \
        parts[1]["image_url"]["url"]
    # another visitor cannot see it; a share link serves only its own run's images
    stranger = client.application.test_client()
    assert stranger.get(f"/images/{ref}").status_code == 404
    shared = client.post(f"/runs/{run_id(run)}/share", data={"csrf_token": csrf_token(client)},
                         follow_redirects=True)
    token = re.search(r"/s/([\w-]+)", shared.get_data(as_text=True)).group(1)
    assert stranger.get(f"/s/{token}/images/{ref}").data == image
    other = png(2, 2)
    post(client, **turn_fields(("user", "x")), action="add-user",
         **{"turns-0-upload": (io.BytesIO(other), "b.png")})
    assert stranger.get(f"/s/{token}/images/{hashlib.sha256(other).hexdigest()}"
                        ).status_code == 404


def test_a_fake_image_is_refused_on_its_turn(client, upstream):
    fields = {**turn_fields(("user", "look")),
              "turns-0-upload": (io.BytesIO(b"<svg onload=alert(1)>"), "cat.png")}
    page = post(client, **fields)
    assert page.status == 400 and bodies(upstream) == []
    assert "not a PNG" in page.field_errors("turns-0-upload")
    assert page.soup.select_one("#turns-0-upload")["aria-invalid"] == "true"


def test_prune_removes_images_no_run_refers_to(app, client, upstream):
    kept_image, loose = png(5, 5), png(6, 6)
    page = post(client, **turn_fields(("user", "keep")),
                **{"turns-0-upload": (io.BytesIO(kept_image), "a.png")})
    assert page.status == 200
    post(client, **turn_fields(("user", "drop")), action="add-user",
         **{"turns-0-upload": (io.BytesIO(loose), "b.png")})
    # a day later: the loose upload's form is surely closed
    with app.app_context(), current_store().engine.begin() as conn:
        conn.execute(tables.images.update().values(created_at=0))
    result = app.test_cli_runner().invoke(args=["runs", "prune"])
    assert result.exit_code == 0 and "Deleted 1 image no run refers to." in result.output
    assert client.get(f"/images/{hashlib.sha256(kept_image).hexdigest()}").status_code == 200
    assert client.get(f"/images/{hashlib.sha256(loose).hexdigest()}").status_code == 404


def test_201_turns_get_a_message_not_a_413(client, upstream):
    turns = [("user", f"t{i}") if i % 2 == 0 else ("assistant", f"a{i}") for i in range(201)]
    page = post(client, **turn_fields(*turns))
    assert page.status == 400 and bodies(upstream) == []
    assert "at most 200 turns" in page.text("#turns-errors")


def test_an_empty_variable_is_refused_on_its_box(client, upstream):
    page = post(client, **turn_fields(("user", "Translate {{text}} to {{lang}}")),
                **{"variables-text": "hello", "variables-lang": ""})
    assert page.status == 400 and bodies(upstream) == []
    assert "Give {{lang}} a value" in page.field_errors("variables-lang")
    assert page.value("variables-text") == "hello"


def test_variables_are_substituted_and_the_template_restored(client, upstream):
    page = post(client, **turn_fields(("system", "You speak {{lang}}."),
                                      ("user", "Say {{word}} and \\{{literal}}"),
                                      ("assistant", "I wrote {{word}} once"),
                                      ("user", "again")),
                **{"variables-lang": "French", "variables-word": "bonjour"})
    assert page.status == 200
    assert [m["content"] for m in bodies(upstream)[-1]["messages"]] == [
        "You speak French.", "Say bonjour and {{literal}}", "I wrote {{word}} once", "again"]
    assert "You speak French." in page.text(".inspect")  # the request sent, substituted
    again = Page(client.get(f"/?run={run_id(page)}"))
    assert again.value("turns-0-content") == "You speak {{lang}}."
    assert again.value("variables-lang") == "French" and again.value("variables-word") == \
        "bonjour"


def test_stream_and_no_js_send_the_same_body(client, upstream):
    fields = {**THREE, "temperature": "0.3", "variables-who": "Ann",
              "turns-1-content": "Hi, I am {{who}}"}
    post(client, **fields)
    data = {"csrf_token": csrf_token(client), "model": "fake/ok", **fields}
    response = client.post("/stream", data=data)
    assert response.status_code == 200 and "event: result" in response.get_data(as_text=True)
    plain, streamed = bodies(upstream)[-2:]
    streamed = {k: v for k, v in streamed.items() if k not in ("stream", "stream_options")}
    assert plain == streamed and plain["messages"][1]["content"] == "Hi, I am Ann"


def test_the_old_one_prompt_form_still_runs(client, upstream):
    page = Page(client.post("/", data=form(client, prompt="plain"), follow_redirects=True))
    assert page.status == 200 and bodies(upstream)[-1]["messages"][-1]["content"] == "plain"
    assert page.value(PROMPT) == "plain"


def test_user_typed_assistant_turns_are_sanitized_on_the_run_page(client, upstream):
    hostile = '<img src=x onerror=alert(1)><script>alert(2)</script>**bold**'
    page = post(client, **turn_fields(("user", "q"), ("assistant", hostile), ("user", "r")))
    transcript = page.soup.select_one("#transcript")
    assert transcript is not None and transcript.select_one("script") is None
    assert not transcript.select("[onerror]") and transcript.select_one("strong").text == "bold"


def test_an_upload_past_the_run_cap_is_refused_before_it_is_read(client, upstream):
    huge = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * (33 * 1024 * 1024))
    page = post(client, **turn_fields(("user", "big")), **{"turns-0-upload": (huge, "big.png")})
    assert page.status == 413 and "larger than this server accepts" in page.text(".error-card")
    assert "Traceback" not in page.html and bodies(upstream) == []


def test_an_upload_on_a_refused_run_is_kept_in_the_form(client, upstream):
    image = png(9, 9)
    page = post(client, **turn_fields(("user", "Is {{it}} red?")),
                **{"turns-0-upload": (io.BytesIO(image), "red.png"), "variables-it": ""})
    assert page.status == 400 and bodies(upstream) == []
    ref = hashlib.sha256(image).hexdigest()
    assert page.value("turns-0-images-0-ref") == ref  # nothing to upload again
    assert page.soup.select_one("#turn-0 img.thumb")["src"] == f"/images/{ref}"

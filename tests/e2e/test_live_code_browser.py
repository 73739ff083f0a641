"""Browser: Get code on the live form shows the body the form would send, without sending it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize("javascript", [True, False])
def test_get_code_on_the_form_sends_nothing(live_url, open_page, upstream, javascript):
    watched = open_page(live_url, javascript=javascript)
    page = watched.page
    page.fill("#model", "fake/ok")
    page.fill("#turns-1-content", 'Say "hi" to $HOME')
    page.click("#code-button")
    code = page.locator("#live-code-curl")
    expect(code).to_contain_text('"model": "fake/ok"')
    expect(code).to_contain_text('Say \\"hi\\" to $HOME')
    expect(page.locator("#live-get-code")).to_have_attribute("open", "")
    expect(page.locator(".live-code")).to_contain_text("Nothing was sent")
    if javascript:  # in place: the same page, the streamed call the script would make
        assert page.url.rstrip("/") == live_url
        expect(code).to_contain_text('"stream": true')
        expect(page.get_by_role("button", name="Copy the curl code")).to_be_visible()
    else:
        expect(page.locator("#turns-1-content")).to_have_value('Say "hi" to $HOME')
    assert [r for r in upstream.received if r["method"] == "POST"] == []  # nothing sent
    assert watched.errors == []

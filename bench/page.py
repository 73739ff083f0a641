"""(e) Page weight of the first load, and proof in real Chromium that nothing leaves localhost."""

from __future__ import annotations

import gzip
import re
import urllib.request
from urllib.parse import urljoin, urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
# href/src of <link>, <script> and <img>: what a browser fetches before the page is usable.
REFERENCE = re.compile(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)"', re.IGNORECASE)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def weight(base_url: str) -> dict:
    """Bytes of GET / plus every same-origin file it references, raw and gzip level 6."""
    html = _fetch(base_url + "/")
    origin = urlparse(base_url).netloc
    files = {"/": html}
    for ref in REFERENCE.findall(html.decode()):
        url = urljoin(base_url + "/", ref)
        if urlparse(url).netloc == origin:
            files[urlparse(url).path] = _fetch(url)
    per_file = {path: {"raw": len(body), "gzip": len(gzip.compress(body, compresslevel=6))}
                for path, body in files.items()}
    return {"files": per_file, "raw_bytes": sum(f["raw"] for f in per_file.values()),
            "gzip_bytes": sum(f["gzip"] for f in per_file.values())}


def browser_requests(base_url: str, timeout_ms: int = 15_000) -> dict:
    """Load the page and make one streamed run in headless Chromium; list every request."""
    from playwright.sync_api import sync_playwright

    urls: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: urls.append(request.url))
            page.goto(base_url + "/", wait_until="networkidle", timeout=timeout_ms)
            page.fill("#model", "bench/markdown/4000")
            page.fill("#turns-1-content", "Show me some code.")  # the first user turn
            page.click("#run-button")
            page.wait_for_selector("article.result[data-state=complete]", timeout=timeout_ms)
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
        finally:
            browser.close()
    foreign = [u for u in urls if urlparse(u).hostname != "127.0.0.1"
               and not u.startswith(("data:", "blob:"))]
    return {"requests": urls, "foreign": foreign, "all_local": not foreign}


def page_weight(app, _upstream, _cfg) -> dict:
    """Weigh the first load and check, in a real browser, that every request stays local."""
    return weight(app.url) | {"browser": browser_requests(app.url)}

"""The app's pages read the way a visitor's browser reads them: forms, fields, links and ids.

The fuzzer (tests/fuzzing.py) learns every route's inputs from here, so it names no route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from bs4 import BeautifulSoup
from werkzeug.exceptions import HTTPException

SKIP_ENDPOINTS = {"static"}
MAX_CRAWL = 25  # kinds of page (endpoints) visited


@dataclass
class Harvest:
    """Forms, fields, query keys and ids found by crawling the app as a visitor."""

    forms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # endpoint -> pairs
    options: dict[str, set[str]] = field(default_factory=dict)  # field -> values seen
    queries: dict[str, set[str]] = field(default_factory=dict)  # endpoint -> query keys
    pools: dict[str, list[str]] = field(default_factory=dict)  # converter or query -> ids
    probes: dict[str, str] = field(default_factory=dict)  # path pool -> a page that uses it

    @classmethod
    def crawl(cls, app, client, start: tuple[str, ...]) -> Harvest:
        found, seen, queue = cls(), set(), list(start)
        adapter = app.url_map.bind("localhost")
        while queue and len(seen) < MAX_CRAWL:
            url = queue.pop(0)
            endpoint = found._endpoint(adapter, urlsplit(url).path, "GET")
            if endpoint in seen:
                continue  # one page of each kind tells all its forms and links
            seen.add(endpoint)
            response = client.get(url)
            if response.mimetype == "text/html":
                queue += found.read_page(adapter, response.get_data(as_text=True))
        for pool in found.pools.values():
            pool.sort()
        return found

    def read_page(self, adapter, html: str) -> list[str]:
        """Take what a page offers; return the app's URLs it links to (for the crawl)."""
        soup, links = BeautifulSoup(html, "html.parser"), []
        for form in soup.find_all("form"):
            self._read_form(adapter, form)
        for tag in soup.find_all(True):
            for name, value in tag.attrs.items():
                if isinstance(value, str) and (name in ("href", "action", "value")
                                               or name.endswith("-url")):
                    path = self._read_url(adapter, value)
                    if path and name == "href":
                        links.append(path)
        return links

    def _read_form(self, adapter, form) -> None:
        pairs = []
        for control in form.find_all(["input", "textarea", "select"]):
            name = control.get("name")
            if not name:
                continue
            if control.name == "select":
                values = [o.get("value", o.get_text()) for o in control.find_all("option")]
                chosen = control.find("option", selected=True) or control.find("option")
                value = chosen.get("value", chosen.get_text()) if chosen else ""
            elif control.name == "textarea":
                values, value = [], control.get_text().removeprefix("\n")
            else:
                value = control.get("value", "on" if control.get("type") == "checkbox" else "")
                values = [value]
                if control.get("type") == "checkbox" and not control.has_attr("checked"):
                    self.options.setdefault(name, set()).add(value)
                    continue  # an unticked box sends nothing
            self.options.setdefault(name, set()).update(v for v in values if v)
            if control.get("type") == "hidden":
                self._pool(f"field:{name}", value)
            pairs.append((name, value))
        method = (form.get("method") or "get").upper()
        targets = [form.get("action") or ""] + [v for k, v in form.attrs.items()
                                                if k.startswith("data-") and k.endswith("-url")]
        for target in targets:
            endpoint = self._endpoint(adapter, urlsplit(target).path, method)
            if endpoint is None:
                continue
            if method == "GET":
                self.queries.setdefault(endpoint, set()).update(name for name, _ in pairs)
            elif len(pairs) >= len(self.forms.get(endpoint, ())):
                self.forms[endpoint] = pairs

    def _read_url(self, adapter, value: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme not in ("", "http") or parts.netloc not in ("", "localhost") or \
                not parts.path.startswith("/"):
            return None
        try:
            endpoint, args = adapter.match(parts.path, method="GET")
        except HTTPException:
            return None
        for name, arg in args.items():
            self._pool(f"path:{name}", str(arg))
            self.probes.setdefault(f"path:{name}", parts.path)
        for key, arg in parse_qsl(parts.query):
            self.queries.setdefault(endpoint, set()).add(key)
            self._pool(f"query:{key}", arg)
        return value if endpoint not in SKIP_ENDPOINTS else None

    def _pool(self, name: str, value: str) -> None:
        pool = self.pools.setdefault(name, [])
        if value and value not in pool:
            pool.append(value)

    @staticmethod
    def _endpoint(adapter, path: str, method: str) -> str | None:
        try:
            return adapter.match(path or "/", method=method)[0]
        except HTTPException:
            return None

    def names(self) -> list[str]:
        return sorted({name for pairs in self.forms.values() for name, _ in pairs} |
                      {key for keys in self.queries.values() for key in keys})

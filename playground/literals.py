"""Values written as code: Python, JavaScript, JSON and shell literals that read back exactly.

Pure. Every string is escaped for its language, and characters a reader cannot see (controls,
bidi overrides and isolates, zero-width and other format characters, lone surrogates) are
written as escapes, so code shows what it sends. Used by Get code (``codegen.py``).
"""

from __future__ import annotations

import json
import re

WIDTH = 88  # a value that fits on one line this wide stays on one line
JS_SAFE_INT = 2**53 - 1
# Characters written as escapes in every language: quotes and backslashes, C0/C1 controls,
# lone surrogates, line/paragraph separators, and the invisible format characters
# (zero-width, bidi marks, embeddings, overrides and isolates, tags) a reader would not see.
CONTROLS = "\x00-\x1f"
INVISIBLE = ("\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
             "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
             "\ud800-\udfff")
# Kept apart: a class with characters beyond U+FFFF makes every match ~6x slower, and these
# are looked for only in text that has such characters at all (emoji, mostly).
INVISIBLE_ASTRAL = re.compile("[\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
                              "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_PY_SPECIAL = re.compile(f'[\\\\"{CONTROLS}{INVISIBLE}]')
_JS_SPECIAL = re.compile(f'[\\\\"{CONTROLS}{INVISIBLE}]|<(?=[/!])')  # "</script>", "<!--"
_JSON_SPECIAL = re.compile(f"[{INVISIBLE}]")  # json.dumps escapes quotes and C0 itself
_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
SURROGATE = re.compile("[\ud800-\udfff]")


def _code_point(char: str, short: str, long: str, astral: str) -> str:
    code = ord(char)
    return (short if code < 0x100 else long if code < 0x10000 else astral).format(code)


def _sub(pattern: re.Pattern, text: str, escape) -> str:
    text = pattern.sub(escape, text)
    if not text.isascii() and _ASTRAL.search(text):
        text = INVISIBLE_ASTRAL.sub(escape, text)
    return text


def py_string(text: str) -> str:
    """A double-quoted Python literal of ``text``."""
    return '"' + _sub(_PY_SPECIAL, text, lambda m: _SHORT.get(m.group()) or _code_point(
        m.group(), "\\x{:02x}", "\\u{:04x}", "\\U{:08x}")) + '"'


def js_string(text: str) -> str:
    """A double-quoted JavaScript literal of ``text``, safe inside an HTML script element."""
    return '"' + _sub(_JS_SPECIAL, text, lambda m: _SHORT.get(m.group()) or _code_point(
        m.group(), "\\x{:02x}", "\\u{:04x}", "\\u{{{:x}}}")) + '"'


def _json_escape(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}"


def json_text(body, indent: int | None = 2) -> str:
    """JSON of ``body``, readable (non-ASCII kept) but with invisibles escaped."""
    return _sub(_JSON_SPECIAL, json.dumps(body, indent=indent, ensure_ascii=False),
                _json_escape)


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _scalar(value, lang: str) -> str:
    if value is None:
        return "None" if lang == "python" else "null"
    if isinstance(value, bool):
        return ("True" if value else "False") if lang == "python" else str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    return (py_string if lang == "python" else js_string)(str(value))


def literal(value, lang: str, level: int = 0, indent: int = 4) -> str:
    """``value`` as a Python or JavaScript literal: one line when it fits, else indented."""
    return _layout(value, lang, level, indent)[1]


def _layout(value, lang: str, level: int, indent: int) -> tuple[str, str]:
    """(one line, laid out) for ``value``, escaping each string once however deep it is."""
    if not isinstance(value, dict | list):
        text = _scalar(value, lang)
        return text, text
    if isinstance(value, dict):
        opener, closer = "{", "}"
        keys = [_scalar(str(k), lang) + ": " for k in value]
        children = [_layout(v, lang, level + 1, indent) for v in value.values()]
    else:
        opener, closer = "[", "]"
        keys = [""] * len(value)
        children = [_layout(v, lang, level + 1, indent) for v in value]
    one = opener + ", ".join(k + c[0] for k, c in zip(keys, children, strict=True)) + closer
    if not value or len(one) + indent * level <= WIDTH:
        return one, one
    pad = " " * (indent * (level + 1))
    items = ",\n".join(pad + k + c[1] for k, c in zip(keys, children, strict=True))
    return one, f"{opener}\n{items},\n{' ' * (indent * level)}{closer}"


def unsafe_integers(value) -> list[int]:
    """Integers JavaScript cannot hold exactly (beyond ±2^53−1), found anywhere in ``value``."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in unsafe_integers(v)]
    if isinstance(value, list):
        return [n for v in value for n in unsafe_integers(v)]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > JS_SAFE_INT:
        return [value]
    return []

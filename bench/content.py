"""Deterministic reply bodies for the benchmarks: short text, markdown with code, big JSON."""

from __future__ import annotations

import json

SHORT_REPLY = "Hello! How can I help you today?"

_PYTHON = '''```python
def fibonacci(limit: int) -> list[int]:
    """Return the Fibonacci numbers below limit."""
    numbers, a, b = [], 0, 1
    while a < limit:
        numbers.append(a)
        a, b = b, a + b
    return numbers


if __name__ == "__main__":
    print(fibonacci(1_000))  # section {n}
```
'''
_JAVASCRIPT = '''```javascript
async function fetchJson(url, options = {{}}) {{
  const response = await fetch(url, {{ ...options, headers: {{ Accept: "application/json" }} }});
  if (!response.ok) throw new Error(`HTTP ${{response.status}} for section {n}`);
  return response.json();
}}
```
'''
_PROSE = (
    "## Section {n}: notes on the approach\n\n"
    "This part explains **why** the code below works, with `inline code`, *emphasis* and a "
    "[link to the docs](https://example.com/docs/{n}). The loop keeps two running values and "
    "appends each one before moving on, so memory grows with the output only.\n\n"
    "- first point about complexity: O(n) time\n"
    "- second point, with a nested idea\n"
    "  - and a sub-point that mentions `a, b = b, a + b`\n"
    "1. numbered step one\n2. numbered step two\n\n"
    "| input | output | note |\n|---|---:|---|\n| 10 | 0 1 1 2 3 5 8 | small |\n"
    "| 100 | 12 numbers | medium |\n\n"
    "> A quote to close the section, with ~~strikethrough~~ text.\n\n"
)


def markdown_reply(size: int) -> str:
    """Return realistic markdown (prose, lists, tables, code blocks) of about size chars."""
    parts: list[str] = ["# A long answer\n\n"]
    length, n = len(parts[0]), 0
    while True:
        n += 1
        section = _PROSE.format(n=n) + (_PYTHON if n % 2 else _JAVASCRIPT).format(n=n) + "\n"
        if length + len(section) > size:
            break
        parts.append(section)
        length += len(section)
    # Pad with plain prose so the size is close to the request, whatever the section length.
    filler = "Closing words. " * ((size - length) // 15)
    return "".join(parts) + filler


def completion(model: str, content: str, **extra) -> dict:
    """Return a chat.completion object in the OpenAI shape."""
    return {"id": "chatcmpl-bench", "object": "chat.completion", "created": 1744545600,
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": None}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 12, "total_tokens": 17},
            **extra}


def big_completion(size: int) -> dict:
    """Return a completion with per-token logprobs whose indented JSON is about size bytes."""
    body = completion("bench/logprobs", "")
    entries: list[dict] = []
    body["choices"][0]["logprobs"] = {"content": entries}
    while len(json.dumps(body, indent=2)) < size:  # grow in batches: a few dozen dumps in all
        for i in range(len(entries), len(entries) + 50):
            token = f"tok{i}"
            entries.append({"token": token, "logprob": round(-0.0123 * (i % 97), 4),
                            "bytes": list(token.encode()),
                            "top_logprobs": [{"token": f"alt{j}", "logprob": -1.5 * j,
                                              "bytes": [97, 108, 116]} for j in range(2)]})
    body["choices"][0]["message"]["content"] = " ".join(e["token"] for e in entries[:200])
    return body


# Reply shapes that cost markdown-it the most per character (tests/test_markdown_cost.py;
# playground/markdown_cost.py): name -> (a first line, the unit repeated).
COSTLY_SHAPES = {
    "one-line list items": ("", "- item\n"),
    "'+' list items": ("", "+ a\n"),
    "nested lists": ("", "- a\n  - b\n    - c\n"),
    "ordered list items": ("", "1. item\n"),
    "short lines": ("", "a\n"),
    "paragraphs": ("", "a\n\n"),
    "headings": ("", "## Heading\n"),
    "blockquoted lists": ("", "> - a\n"),
    "'![' openers": ("", "!["),
    "'[a' openers": ("", "[a"),
    "'[' alone": ("", "["),
    "autolinks": ("", "<http://x.y/a> "),
    "links": ("", "[a](http://x.y) "),
    "images": ("", "![a](http://x.y/i.png) "),
    "'*a'": ("", "*a"),
    "'***a***'": ("", "***a*** "),
    "'~~s~~'": ("", "~~s~~ "),
    "'&amp;' entities": ("", "&amp; &#123; "),
    "'<' alone": ("", "<"),
    "'`a'": ("", "`a"),
    "table rows": ("| a | b |\n|---|---|\n", "| x | y |\n"),
    "python in one fence": ("```python\n", "def f(x):\n    return x * 2  # c\n"),
    "small python fences": ("", "```python\nx = 1\n```\n"),
    "a realistic answer": ("", None),
}


def costliest_formatted(name: str, budget_us: float, limit: int, estimate) -> str:
    """The longest text of a shape still formatted as markdown: within the budget and limit."""
    first, unit = COSTLY_SHAPES[name]
    make = (lambda n: markdown_reply(n)) if unit is None else (lambda n: first + unit * n)
    low, high = 0, limit  # the largest n whose text is within both, by bisection
    while low < high:
        n = (low + high + 1) // 2
        text = make(n)
        if len(text) <= limit and estimate(text) <= budget_us:
            low = n
        else:
            high = n - 1
    return make(low)

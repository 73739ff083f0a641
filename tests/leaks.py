"""Look for a secret in everything the app produced: bodies, headers, SSE events, log lines.

``recorded()`` gathers what the app records; extend it when the app records more (a runs
database: add its rows here) and every key-leak test covers that too.
"""

from __future__ import annotations

import logging


def texts_of(response) -> list[str]:
    parts = [response.get_data(as_text=True)]
    parts += [f"{name}: {value}" for name, value in response.headers.items()]
    return parts


def recorded(caplog, app=None) -> list[str]:
    """Everything the app wrote down: log lines (message, args, exception text)."""
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_text:
            lines.append(record.exc_text)
    return lines


def assert_nowhere(secret: str, responses, caplog, app=None) -> None:
    assert secret, "a leak check needs a secret"
    seen = [text for response in responses for text in texts_of(response)]
    seen += recorded(caplog, app)
    leaked = [text[:200] for text in seen if secret in text]
    assert not leaked, f"the secret leaked into: {leaked}"


def capture_everything(caplog) -> None:
    caplog.set_level(logging.DEBUG)

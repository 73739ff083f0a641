"""Look for a secret in everything the app produced: bodies, headers, SSE events, log lines.

``recorded()`` gathers what the app records (log lines and every row of the runs database);
``stored_pages()`` fetches every page that shows a saved run.
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa


def texts_of(response) -> list[str]:
    parts = [response.get_data(as_text=True)]
    parts += [f"{name}: {value}" for name, value in response.headers.items()]
    return parts


def recorded(caplog, app=None) -> list[str]:
    """Everything the app wrote down: log lines and, given the app, its database rows."""
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_text:
            lines.append(record.exc_text)
    if app is not None:
        with app.extensions["runs"].engine.connect() as conn:
            lines += [repr(tuple(row)) for row in conn.execute(sa.text("SELECT * FROM runs"))]
    return lines


def stored_pages(client, response) -> list:
    """Follow a run to everything that shows it again: its page, share link, exports, history."""
    if response.status_code == 303:
        run_url = response.location
    else:  # a stream: its final event names the saved run's page
        found = re.search(r'"url": "(/runs/[^"]+)"', response.get_data(as_text=True))
        if found is None:
            return []
        run_url = found.group(1)
    page = client.get(run_url)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    shared = client.post(f"{run_url}/share", data={"csrf_token": token.group(1)},
                         follow_redirects=True)
    link = re.search(r'id="share-url" value="[^"]*(/s/[^"]+)"', shared.get_data(as_text=True))
    pages = [page, shared, client.get(f"{run_url}.json"), client.get("/history"),
             client.get("/history.jsonl")]
    return pages + ([client.get(link.group(1))] if link else [])


def assert_nowhere(secret: str, responses, caplog, app=None) -> None:
    assert secret, "a leak check needs a secret"
    seen = [text for response in responses for text in texts_of(response)]
    seen += recorded(caplog, app)
    leaked = [text[:200] for text in seen if secret in text]
    assert not leaked, f"the secret leaked into: {leaked}"


def capture_everything(caplog) -> None:
    caplog.set_level(logging.DEBUG)

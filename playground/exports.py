"""An owner's runs as export records and as JSON Lines, from the store's batches of rows.

The store reads an owner's rows by keyset, a batch at a time (``Store._exported``); this turns
them into ``records.export_record`` dicts, or into compact JSON lines, a batch of lines per
piece of the response (a piece per line would cost the server a write each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from playground import images, offload
from playground.records import export_record, json_line


def records(batches: Iterable[list], inflate: Callable) -> Iterator[dict]:
    """Each row's export record, its stored images inflated by ``inflate(messages)``."""
    for rows in batches:
        yield from (export_record(row, inflate) for row in rows)


def lines(batches: Iterable[list], inflate: Callable) -> Iterator[bytes]:
    """Each batch of rows as JSON Lines, one piece per batch.

    A batch is encoded on a native thread while the next one is read, so the database finds
    rows while this process writes lines. A batch that refers to stored images is encoded
    here instead: inflating them reads the database, which that thread must not.
    """
    pending = None
    for rows in batches:
        job = offload.Ready(_lines(rows, inflate)) if _refers_to_images(rows) else \
            offload.spawn(_lines, rows)
        if pending is not None:
            yield pending.get()
        pending = job
    if pending is not None:
        yield pending.get()


def _lines(rows, inflate: Callable | None = None) -> bytes:
    return b"".join(json_line(export_record(row, inflate)) for row in rows)


def _refers_to_images(rows) -> bool:
    return any(images.REF_PREFIX in row.data for row in rows)

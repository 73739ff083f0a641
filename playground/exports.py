"""An owner's runs as export records and as JSON Lines, from the store's batches of rows.

The store reads an owner's rows by keyset, a batch at a time (``Store._exported``); this turns
them into ``records.export_record`` dicts, or into compact JSON lines, ``PIECE`` lines per
piece of the response: a piece per line would cost the server a write each, and one per batch
(megabytes) an allocation that big each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from playground import images, offload
from playground.records import export_record, json_line

PIECE = 64  # lines per piece of the response (~450 KB of the bench's runs)


def records(batches: Iterable[list], inflate: Callable) -> Iterator[dict]:
    """Each row's export record, its stored images inflated by ``inflate(messages)``."""
    for rows in batches:
        yield from (export_record(row, inflate) for row in rows)


def lines(batches: Iterable[list], inflate: Callable) -> Iterator[bytes]:
    """Each batch of rows as JSON Lines, in pieces of ``PIECE`` lines.

    A batch is encoded on a native thread while the next one is read, so the database finds
    rows while this process writes lines. A batch that refers to stored images is encoded
    here instead: inflating them reads the database, which that thread must not.
    """
    pending = None
    for rows in batches:
        job = offload.Ready(_lines(rows, inflate)) if _refers_to_images(rows) else \
            offload.spawn(_lines, rows)
        if pending is not None:
            yield from _pieces(pending.get())
        pending = job
    if pending is not None:
        yield from _pieces(pending.get())


def _pieces(lines: list[bytes]) -> Iterator[bytes]:
    for at in range(0, len(lines), PIECE):
        yield b"".join(lines[at:at + PIECE])


def _lines(rows, inflate: Callable | None = None) -> list[bytes]:
    return [json_line(export_record(row, inflate)) for row in rows]


def _refers_to_images(rows) -> bool:
    return any(images.REF_PREFIX in row.data for row in rows)

"""Uploaded images, kept once per visitor by the SHA-256 of their bytes.

An upload is kept on the post that brings it (a Run, a no-JS editing button, a 400 page, or
the script's upload as soon as a file is picked), so the form carries only its reference from
then on. A run refers to the images it sent (``run_images``); its stored JSON holds references,
never bytes (images.compact), and they are made ``data:`` URLs again to re-send or export a
run. Every read is scoped: to the visitor who uploaded the image, or to one shared run.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from playground.images import REF, Image, ImageInfo, inflate
from playground.tables import images as kept
from playground.tables import run_images, runs

PRUNE_GRACE = 24 * 3600  # seconds an upload no run refers to is kept: its form may be open
INFO_COLUMNS = (kept.c.ref, kept.c.mime, kept.c.size, kept.c.width, kept.c.height)


def _insert_new(conn, table, rows: list[dict]) -> None:
    """Insert rows, skipping those already there (two tabs may keep the same image at once)."""
    if rows:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def keep(conn, run_id: str | None, owner: str, found: list[Image]) -> None:
    """Keep these images for their owner (once each) and, given a run, link them to it."""
    now = time.time()
    _insert_new(conn, kept, [
        {"owner": owner, "ref": image.ref, "mime": image.mime, "size": image.size,
         "width": image.width, "height": image.height, "data": image.data, "created_at": now}
        for image in found])
    if run_id is not None:
        _insert_new(conn, run_images, [{"run_id": run_id, "ref": image.ref} for image in found])


def _info(row) -> ImageInfo:
    return ImageInfo(row.ref, row.mime, row.size, row.width, row.height)


class Uploads:
    """The image side of a Store: keep, describe, read, serve to a share page, prune."""

    def __init__(self, store) -> None:
        self.store = store

    def put(self, owner: str, image: Image) -> ImageInfo:
        """Keep an accepted image for this visitor (once) and say what it is."""
        with self.store._begin() as conn:
            keep(conn, None, owner, [image])
        return ImageInfo(image.ref, image.mime, image.size, image.width, image.height)

    def info(self, owner: str, refs: list[str]) -> dict[str, ImageInfo]:
        """What is kept of these references for this visitor; the others are absent."""
        refs = [ref for ref in dict.fromkeys(refs) if REF.fullmatch(ref or "")][:64]
        if not refs:
            return {}
        with self.store._begin() as conn:
            rows = conn.execute(sa.select(*INFO_COLUMNS).where(
                kept.c.owner == owner, kept.c.ref.in_(refs))).all()
        return {row.ref: _info(row) for row in rows}

    def get(self, owner: str, ref: str) -> Image | None:
        """The image itself, if this visitor kept it."""
        if not REF.fullmatch(ref or ""):
            return None
        return self._one(sa.and_(kept.c.owner == owner, kept.c.ref == ref))

    def shared(self, token: str, ref: str) -> Image | None:
        """An image of the run this share token opens; any other image does not exist."""
        if not token or "\x00" in token or not REF.fullmatch(ref or ""):
            return None
        linked = (sa.select(runs.c.owner).join(run_images, run_images.c.run_id == runs.c.id)
                  .where(runs.c.share_token == token, run_images.c.ref == ref))
        return self._one(sa.and_(kept.c.ref == ref, kept.c.owner.in_(linked)))

    def _one(self, condition) -> Image | None:
        with self.store._begin() as conn:
            row = conn.execute(sa.select(kept.c.data, kept.c.mime, kept.c.width,
                                         kept.c.height).where(condition).limit(1)).first()
        return Image(bytes(row.data), row.mime, row.width, row.height) if row else None

    def for_owner(self, owner: str) -> OwnerImages:
        return OwnerImages(self, owner)

    def inflate(self, owner: str, messages):
        """Messages with their image references made data: URLs again (ImageMissing if gone)."""
        return inflate(messages, lambda ref: self.get(owner, ref))

    def prune(self, *, grace: float = PRUNE_GRACE, now: float | None = None) -> int:
        """Delete links to runs that are gone, then the images no run refers to (past grace)."""
        cutoff = (now or time.time()) - grace
        with self.store._begin() as conn:
            conn.execute(run_images.delete().where(
                ~sa.exists().where(runs.c.id == run_images.c.run_id)))
            referred = (sa.select(sa.literal(1)).select_from(run_images)
                        .join(runs, runs.c.id == run_images.c.run_id)
                        .where(run_images.c.ref == kept.c.ref, runs.c.owner == kept.c.owner))
            return conn.execute(kept.delete().where(
                kept.c.created_at < cutoff, ~sa.exists(referred))).rowcount


class OwnerImages:
    """One visitor's images, as the form reads them: ``info(refs)`` and ``get(ref)``."""

    def __init__(self, uploads: Uploads, owner: str) -> None:
        self.uploads, self.owner = uploads, owner
        self._got: dict[str, Image | None] = {}

    def info(self, refs: list[str]) -> dict[str, ImageInfo]:
        return self.uploads.info(self.owner, refs)

    def put(self, image: Image) -> ImageInfo:
        self._got[image.ref] = image
        return self.uploads.put(self.owner, image)

    def get(self, ref: str) -> Image | None:
        if ref not in self._got:  # the body is built once per run, but read twice at most
            self._got[ref] = self.uploads.get(self.owner, ref)
        return self._got[ref]

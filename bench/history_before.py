"""The history as the release before full-text search read it, for "before" next to "after".

These are the store's queries at 7bdea47, unchanged: a search is a case-insensitive substring
scan of the prompt and the reply (``LIKE '%word%'``), a page is an ``OFFSET``, every page
counts every matching run exactly, and the model filter lists the owner's distinct models.
They run on the same database as the new queries (its runs table still has those columns).
"""

from __future__ import annotations

import sqlalchemy as sa

from playground.store import PAGE_SIZE, Store, runs


def _filters(owner: str, query: str) -> list:
    conditions = [runs.c.owner == owner]
    if query:
        conditions.append(sa.or_(runs.c.prompt.icontains(query, autoescape=True),
                                 runs.c.reply.icontains(query, autoescape=True)))
    return conditions


def history(store: Store, owner: str, query: str = "", page: int = 1) -> tuple[list, int]:
    """One page of matching runs, newest first, and how many match in all (7bdea47)."""
    conditions = _filters(owner, query)
    columns = [c for c in runs.c if c.name not in ("data", "turns")]
    with store.engine.begin() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(runs)
                             .where(*conditions)).scalar_one()
        rows = conn.execute(sa.select(*columns).where(*conditions)
                            .order_by(runs.c.created_at.desc(), runs.c.pk.desc())
                            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return rows, total


def models(store: Store, owner: str) -> list[str]:
    with store.engine.begin() as conn:
        return list(conn.execute(sa.select(runs.c.model).where(runs.c.owner == owner)
                                 .distinct().order_by(runs.c.model)).scalars())


def count(store: Store, owner: str) -> int:
    with store.engine.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(runs)
                            .where(runs.c.owner == owner)).scalar_one()


def page(store: Store, owner: str, number: int) -> None:
    """What the history page asked of the store: the page, its models, every run counted."""
    history(store, owner, page=number)
    models(store, owner)
    count(store, owner)

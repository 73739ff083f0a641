"""The history read at any size: keyset pages, full-text matching per database, capped counts.

A page is found by where the last one ended (a cursor), never by an OFFSET that would read
every row before it: the runs are ordered newest first by ``(created_at, pk)``, or, for a
search, best match first by ``(score, pk)``. Counts stop at a limit (``count(*)`` over a
``LIMIT limit + 1`` subquery), so no page reads a long history whole. Full-text matching
uses the index the migration ``run_search_index`` built: FTS5 on SQLite, a ``tsvector`` with a
GIN index on PostgreSQL, each with the owner inside the index.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY

from playground import search

COUNT_LIMIT = 1_000  # past this many, a count says "1,000+"
MODELS_LIMIT = 200  # models offered by the filter: a history's distinct models, bounded

# SQLite: columns of runs_search are owner_key, turns, reply; the owner counts for nothing.
SQLITE_SCORE = "-bm25(runs_search, 0.0, 2.0, 1.0)"  # bm25 is lower for better matches
# PostgreSQL: weights of D (the owner), C (unused), B (the reply), A (the conversation).
POSTGRESQL_WEIGHTS = "'{0, 0, 0.5, 1}'::float4[]"


@dataclass(frozen=True)
class Cursor:
    """Where a page begins or ends: ``t`` (created_at, pk) newest first, ``s`` (score, pk)."""

    kind: str
    value: float
    pk: int

    def __str__(self) -> str:
        return f"{self.kind}{self.value!r}_{self.pk}"

    @classmethod
    def parse(cls, text: str | None, kind: str) -> Cursor | None:
        """The cursor in a link, or None for one that is malformed or of the other order."""
        if not isinstance(text, str) or not text.startswith(kind) or len(text) > 64:
            return None
        value, _, pk = text[1:].rpartition("_")
        try:
            number, key = float(value), int(pk)
        except ValueError:
            return None
        if not math.isfinite(number) or not 0 <= key < 2**63:
            return None
        return cls(kind, number, key)


class Listing(NamedTuple):
    """One page of runs, the cursors of the pages either side (None: there is none), and
    how many runs match, exactly up to a limit (past it, limit + 1)."""

    rows: list
    newer: Cursor | None
    older: Cursor | None
    total: int = 0


class Hit(NamedTuple):
    """A run that matched a search: its key in either order."""

    pk: int
    created_at: float
    score: float


def owner_lexeme(owner: str) -> str:
    """The owner as PostgreSQL's index holds it: one lexeme no word of text can be."""
    return "@" + hashlib.md5(owner.encode(), usedforsecurity=False).hexdigest()


def owner_key(owner: str) -> str:
    """The owner as SQLite's index holds it (the migration's 'o' || hex(owner))."""
    return "o" + owner.encode().hex().upper()


def window(conn, runs: sa.Table, owner: str, found: tuple[search.Term, ...],
           conditions: list, limit: int) -> list[Hit]:
    """The newest ``limit`` runs of ``owner`` that match, with their scores, newest first.

    Everything a search shows comes from here: how many match (up to the limit) and, ranked,
    which. Reading only the newest matches keeps a search's cost bounded by ``limit``, not by
    how many runs hold a common word.
    """
    if conn.dialect.name == "postgresql":
        return _window_postgresql(conn, runs, owner, found, conditions, limit)
    index = sa.table("runs_search", sa.column("rowid", sa.Integer))
    # Only the conversation and the reply hold words; the owner key is a column of its own.
    query = f'owner_key : "{owner_key(owner)}" AND {{turns reply}} : ({search.fts5(found)})'
    statement = (sa.select(index.c.rowid, runs.c.created_at, sa.literal_column(SQLITE_SCORE))
                 .select_from(index.join(runs, runs.c.pk == index.c.rowid))
                 .where(sa.literal_column("runs_search").op("MATCH")(
                     sa.bindparam(None, query, sa.Text)), *conditions)
                 .order_by(index.c.rowid.desc()).limit(limit))  # FTS5 reads newest first
    return [Hit(*row) for row in conn.execute(statement)]


WALK = 500  # runs read newest first, on PostgreSQL, before its index is asked
DENSE = 0.06  # matches at least this common are found sooner by reading on than by the index
LONGEST_WALK = 50_000


def _window_postgresql(conn, runs, owner, found, conditions, limit) -> list[Hit]:
    """``window`` on PostgreSQL: read the owner's runs newest first, or ask the GIN index.

    The index finds a rare word at once, but it returns every match unordered: for a word in
    a third of 100,000 runs that is 30,000 rows read to keep the newest thousand. Reading
    the owner's runs newest first (an index range) finds a common word's newest matches in a
    few thousand rows. So: read WALK runs; if the matches were common, read on; if rare, the
    rest comes from the index. PostgreSQL's own estimates cannot make this choice: the owner
    and the words are both in the one tsvector.
    """
    terms = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"),
                               sa.bindparam("terms", search.tsquery(found), sa.Text))
    vector = sa.literal_column("runs.search")
    hits: list[Hit] = []
    below, size, read = None, WALK, 0
    order = (runs.c.created_at.desc(), runs.c.pk.desc())
    while True:
        keyed = [*conditions, *([_beyond(runs.c.created_at, runs.c.pk, below, older=True)]
                                if below else [])]
        walked = (sa.select(runs.c.pk, runs.c.created_at, vector.label("search"))
                  .where(*keyed).order_by(*order).limit(size).subquery())
        score = sa.case((walked.c.search.op("@@")(terms), sa.func.ts_rank(
            sa.literal_column(POSTGRESQL_WEIGHTS), walked.c.search, terms)))
        rows = conn.execute(sa.select(walked.c.pk, walked.c.created_at, score)
                            .order_by(walked.c.created_at.desc(), walked.c.pk.desc())).all()
        hits += [Hit(*row) for row in rows if row[2] is not None]
        read += len(rows)
        if len(hits) >= limit or len(rows) < size:
            return hits[:limit]
        below = Cursor("t", rows[-1][1], rows[-1][0])
        density = len(hits) / read
        if density < DENSE:
            break
        size = min(int((limit - len(hits)) / density * 1.5) + 100, LONGEST_WALK)
    # Rare words: the index gives every match of this owner (its lexeme is in the vector).
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    mine = sa.cast(sa.bindparam("owner_lexeme", f"'{owner_lexeme(owner)}'", sa.Text), TSQUERY)
    narrow = [c for c in runs.c if c.name not in ("data", "reply", "prompt", "turns")]
    matched = (sa.select(*narrow, sa.func.ts_rank(sa.literal_column(POSTGRESQL_WEIGHTS), vector,
                                                  terms).label("score"))
               .where(vector.op("@@")(mine.op("&&")(terms)))
               .cte("matched").prefix_with("MATERIALIZED"))
    adapt = sa.sql.util.ClauseAdapter(matched).traverse
    rest = conn.execute(
        sa.select(matched.c.pk, matched.c.created_at, matched.c.score)
        .where(*(adapt(c) for c in conditions),
               adapt(_beyond(runs.c.created_at, runs.c.pk, below, older=True)))
        .order_by(matched.c.created_at.desc(), matched.c.pk.desc())
        .limit(limit - len(hits))).all()
    return hits + [Hit(*row) for row in rest]


def ranked(hits: list[Hit], *, before: Cursor | None, after: Cursor | None,
           per_page: int) -> tuple[list[Hit], Cursor | None, Cursor | None]:
    """One page of ``hits`` best first (score, then newest pk), by cursor; and the cursors."""
    best = sorted(hits, key=lambda h: (-h.score, -h.pk))
    keys = [(-h.score, -h.pk) for h in best]
    start = 0
    if after is not None:
        start = max(bisect.bisect_left(keys, (-after.value, -after.pk)) - per_page, 0)
    elif before is not None:
        start = bisect.bisect_right(keys, (-before.value, -before.pk))
    shown = best[start:start + per_page]

    def cursor(hit: Hit) -> Cursor:
        return Cursor("s", hit.score, hit.pk)

    newer = cursor(shown[0]) if start > 0 and shown else (before if start > 0 else None)
    older = cursor(shown[-1]) if start + per_page < len(best) else None
    return shown, newer, older


def older_than(value, pk, cursor: Cursor):
    """Rows before ``cursor`` in the order (value, pk): the first condition alone is an index
    range, the rest only breaks ties."""
    return sa.and_(value <= cursor.value, sa.or_(value < cursor.value, pk < cursor.pk))


def newer_than(value, pk, cursor: Cursor):
    """Rows after ``cursor`` in the order (value, pk)."""
    return sa.and_(value >= cursor.value, sa.or_(value > cursor.value, pk > cursor.pk))


def _beyond(value, pk, cursor: Cursor, *, older: bool):
    return older_than(value, pk, cursor) if older else newer_than(value, pk, cursor)


def page(conn, statement: sa.Select, kind: str, key, *, before: Cursor | None = None,
         after: Cursor | None = None, per_page: int) -> Listing:
    """One page of ``statement`` ordered by ``key`` (value, pk), highest first, by cursor.

    ``before``: the page after that row (older, or worse matches); ``after``: the page
    before it. A ``sort_key`` column is added to each row: the cursor's value.
    """
    value, pk = key
    statement = statement.add_columns(value.label("sort_key"))

    def cursor(row) -> Cursor:
        return Cursor(kind, row.sort_key, row.pk)

    if after is not None:
        rows = conn.execute(statement.where(_beyond(value, pk, after, older=False))
                            .order_by(value.asc(), pk.asc()).limit(per_page + 1)).all()
        if len(rows) >= per_page:
            newest = list(reversed(rows[:per_page]))
            return Listing(newest, cursor(newest[0]) if len(rows) > per_page else None,
                           cursor(newest[-1]))
        before = None  # less than a page is newer than the cursor: that is the first page
    if before is not None:
        statement = statement.where(_beyond(value, pk, before, older=True))
    rows = conn.execute(statement.order_by(value.desc(), pk.desc()).limit(per_page + 1)).all()
    older = cursor(rows[per_page - 1]) if len(rows) > per_page else None
    rows = rows[:per_page]
    if before is None:
        return Listing(rows, None, older)
    # Past the end (the rows were deleted since): the way back is the page before the cursor.
    return Listing(rows, cursor(rows[0]) if rows else before, older)


def count_upto(conn, source, conditions: list, limit: int = COUNT_LIMIT) -> int:
    """How many rows match, exactly up to ``limit``; ``limit + 1`` means "more than that"."""
    found = sa.select(sa.literal(1)).select_from(source).where(*conditions).limit(limit + 1)
    return conn.execute(sa.select(sa.func.count()).select_from(found.subquery())).scalar_one()


MODELS = sa.text("""
WITH RECURSIVE found(model, n) AS (
    SELECT min(model), 1 FROM runs WHERE owner = :owner
    UNION ALL
    SELECT (SELECT min(model) FROM runs WHERE owner = :owner AND model > found.model), n + 1
    FROM found WHERE found.model IS NOT NULL AND n < :limit
)
SELECT model FROM found WHERE model IS NOT NULL
""")


def models(conn, owner: str, limit: int = MODELS_LIMIT) -> list[str]:
    """The owner's distinct models, one index step each (not a scan of every run)."""
    return list(conn.execute(MODELS, {"owner": owner, "limit": limit}).scalars())


OWNERS = sa.text("""
WITH RECURSIVE found(owner) AS (
    SELECT min(owner) FROM runs
    UNION ALL
    SELECT (SELECT min(owner) FROM runs WHERE owner > found.owner)
    FROM found WHERE found.owner IS NOT NULL
)
SELECT owner FROM found WHERE owner IS NOT NULL
""")


def owners(conn) -> list[str]:
    """Every owner with a run, one index step each."""
    return list(conn.execute(OWNERS).scalars())

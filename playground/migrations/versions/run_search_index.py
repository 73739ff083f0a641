"""Full-text search of the history: every turn kept as text, and an index of it per owner.

``runs.turns`` holds the text of every turn of the conversation. The index covers it (or the
prompt, for a row written without it) and the reply, with the owner in the index: on SQLite
an FTS5 table without content of its own (``runs_search``, rowid = ``runs.pk``), on PostgreSQL
a ``tsvector`` column (``runs.search``) with a GIN index. Triggers keep both in step with every
write, including the reply saved while a run streams. Existing runs get their turns from
their JSON and are indexed in batches, with progress shown.

Revision ID: run_search_index
Revises: run_heartbeat
"""

import json

import sqlalchemy as sa
from alembic import op

from playground.records import turns_of

revision = "run_search_index"
down_revision = "run_heartbeat"
branch_labels = None
depends_on = None

BATCH = 2_000
INDEXED = 100_000  # characters of the conversation and of the reply that search covers

# SQLite: the index keeps no copy of the text; a row leaves it by a "delete" that repeats
# exactly the values it was indexed with, so every trigger computes them the same way.
def _indexed(row: str) -> str:
    """The values a row is indexed with: its owner key, its conversation, its reply."""
    return (f"'o' || hex({row}.owner), substr(coalesce({row}.turns, {row}.prompt), 1, "
            f"{INDEXED}), substr({row}.reply, 1, {INDEXED})")


SQLITE_INDEX = ("CREATE VIRTUAL TABLE runs_search USING fts5(owner_key, turns, reply, "
                "content='', tokenize='unicode61 remove_diacritics 0')")
# Constants only (no value from anywhere else): the SQL is built, not injected.
SQLITE_ADD = ("INSERT INTO runs_search(rowid, owner_key, turns, reply) "  # noqa: S608
              f"VALUES (new.pk, {_indexed('new')});")
SQLITE_REMOVE = ("INSERT INTO runs_search(runs_search, rowid, owner_key, turns, reply) "  # noqa: S608
                 f"VALUES ('delete', old.pk, {_indexed('old')});")
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER runs_search_insert AFTER INSERT ON runs BEGIN {SQLITE_ADD} END",
    f"CREATE TRIGGER runs_search_delete AFTER DELETE ON runs BEGIN {SQLITE_REMOVE} END",
    "CREATE TRIGGER runs_search_update AFTER UPDATE OF owner, prompt, turns, reply ON runs "
    f"BEGIN {SQLITE_REMOVE} {SQLITE_ADD} END",
)

# PostgreSQL: the owner is one lexeme no word can be ('@' + md5), weight A is the
# conversation, weight B the reply. Punctuation becomes space first, so the parser sees only
# words, as FTS5 does: otherwise it drops what looks like an HTML tag ("<div>") and keeps
# "3.14", e-mail addresses and URLs whole, and a search would find other things than SQLite.
POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION runs_search_words(text) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT to_tsvector('simple', regexp_replace(left($1, {INDEXED}), '[[:punct:]]+', ' ', 'g'))
$$;
CREATE FUNCTION runs_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := array_to_tsvector(ARRAY['@' || md5(NEW.owner)])
        || setweight(runs_search_words(coalesce(NEW.turns, NEW.prompt)), 'A')
        || setweight(runs_search_words(NEW.reply), 'B');
    RETURN NEW;
END
$$"""
POSTGRESQL_TRIGGER = ("CREATE TRIGGER runs_search_document BEFORE INSERT OR UPDATE OF owner, "
                      "prompt, turns, reply ON runs FOR EACH ROW EXECUTE FUNCTION "
                      "runs_search_document()")


def _progress():
    """Where to say how far indexing got: `flask runs migrate` prints it, the app logs it."""
    return op.get_context().config.attributes.get("progress") or (lambda _line: None)


def _backfill(conn, postgresql: bool) -> None:
    """Give every existing run its turns and index it, BATCH rows per statement."""
    say = _progress()
    total = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one()
    if not total:
        return
    say(f"Indexing {total:,} runs for search, {BATCH:,} at a time")
    every = max(total // 10 // BATCH, 1) * BATCH  # about ten lines, whatever the size
    done, after = 0, 0
    select = sa.text("SELECT pk, data FROM runs WHERE pk > :after ORDER BY pk LIMIT :n")
    update = sa.text("UPDATE runs SET turns = :turns WHERE pk = :pk")
    index = sa.text("INSERT INTO runs_search(rowid, owner_key, turns, reply) SELECT pk, "  # noqa: S608
                    f"{_indexed('runs')} FROM runs "
                    "WHERE pk > :after AND pk <= :last")
    while True:
        rows = conn.execute(select, {"after": after, "n": BATCH}).all()
        if not rows:
            break
        conn.execute(update, [{"pk": pk, "turns": _turns(data)} for pk, data in rows])
        if not postgresql:  # PostgreSQL's trigger indexed each row as it was updated
            conn.execute(index, {"after": after, "last": rows[-1].pk})
        done, after = done + len(rows), rows[-1].pk
        if done % every < len(rows) or len(rows) < BATCH:
            say(f"  {done:,} of {total:,} runs indexed ({done / total:.0%})")


def _turns(data: str) -> str:
    """A stored run's turns, as the store writes them now (NUL removed, like every column)."""
    try:
        request = json.loads(data).get("request")
    except (ValueError, AttributeError):
        return ""
    return turns_of(request).replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("runs", sa.Column("turns", sa.Text, nullable=True))
    # Keyset pages of one owner read (owner, created_at, pk) straight from the index.
    op.drop_index("ix_runs_owner_created", "runs")
    op.create_index("ix_runs_owner_created", "runs", ["owner", "created_at", "pk"])
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE runs ADD COLUMN search tsvector")
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
        _backfill(conn, postgresql=True)
        # Built once the rows are in: faster than keeping it up to date row by row.
        op.execute("CREATE INDEX ix_runs_search ON runs USING gin (search)")
    else:
        op.execute(SQLITE_INDEX)
        _backfill(conn, postgresql=False)
        for trigger in SQLITE_TRIGGERS:  # created last: the backfill indexed each row once
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER runs_search_document ON runs")
        op.execute("DROP FUNCTION runs_search_document()")
        op.execute("DROP FUNCTION runs_search_words(text)")
        op.execute("DROP INDEX ix_runs_search")
        op.execute("ALTER TABLE runs DROP COLUMN search")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER runs_search_{name}")
        op.execute("DROP TABLE runs_search")
    op.drop_index("ix_runs_owner_created", "runs")
    op.create_index("ix_runs_owner_created", "runs", ["owner", "created_at"])
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("turns")

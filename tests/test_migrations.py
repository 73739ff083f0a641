"""Schema migrations (Alembic): new databases, and databases the release before Alembic wrote.

The release at commit 5d0fa66 created its tables with ``metadata.create_all`` and wrote
``schema_version`` 1. Its DDL is frozen below, and tests/fixtures/v1_history.json holds rows
and exports that release really wrote (a plain run, a billed one, an error, tool calls, a
streamed markdown reply, a dropped and a stopped stream, a shared run, non-ASCII text). After
the upgrade the app must list them, open them and export them exactly as that release did.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from playground import migrations
from playground.store import Store, engine_for, metadata
from tests.helpers import PROMPT, Page, submit
from tests.test_store import make_run

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "v1_history.json").read_text())
# The newest revision: runs_lz4, on compare_lanes, the merge point of the parallel branches
# before it (run_search_index beside conversations and spend_rollup; docs/storage.md,
# "Parallel branches").
HEADS = ("runs_lz4",)
LATER = ("compare_lanes", "conversations", "run_search_index", "runs_lz4",
         "spend_rollup")  # sorted

# -- the schema as the release before Alembic created it (store.py / runs.py at 5d0fa66) -------
v1 = sa.MetaData()
V1_RUNS = sa.Table(
    "runs", v1,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("reply", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("error_kind", sa.String(32)),
    sa.Column("stream", sa.Boolean, nullable=False),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("total_tokens", sa.Integer),
    sa.Column("latency_ms", sa.Float),
    sa.Column("cost_usd", sa.Float),
    sa.Column("share_token", sa.String(64), unique=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_runs_owner_created", "owner", "created_at"),
    sa.Index("ix_runs_owner_model", "owner", "model"),
    sa.Index("ix_runs_owner_state", "owner", "state"),
    sa.Index("ix_runs_created", "created_at"),
)
V1_SCHEMA = sa.Table("schema_version", v1, sa.Column("version", sa.Integer, nullable=False))


def write_v1(url: str, version: int = 1) -> None:
    """A database as that release left it: its tables, its version row, its runs."""
    engine = engine_for(url)
    rows = [{**{k: v for k, v in row.items() if k != "pk"}, "stream": bool(row["stream"])}
            for row in FIXTURE["rows"]]
    with engine.begin() as conn:
        v1.create_all(conn)
        conn.execute(V1_SCHEMA.insert().values(version=version))
        conn.execute(V1_RUNS.insert(), rows)
    engine.dispose()


def schema_of(conn) -> dict:
    """What a table is, as a database reports it: columns, keys, unique columns, indexes."""
    inspector = sa.inspect(conn)
    found = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        found[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)],
            "primary": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in
                             inspector.get_unique_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
        }
    return found


def to_apply(output: str) -> list[str]:
    """The revisions `flask runs migrate` said it would apply; those after run_heartbeat (the
    parallel branches) sorted, since Alembic's order among siblings is not the alphabet's."""
    line = next(line for line in output.splitlines() if line.startswith("To apply: "))
    said = line.removeprefix("To apply: ").split(", ")
    fixed = said.index("run_heartbeat") + 1 if "run_heartbeat" in said else 0
    return said[:fixed] + sorted(said[fixed:])


def at(url: str) -> tuple[str, ...]:
    engine = engine_for(url)
    with engine.connect() as conn:
        revisions = migrations.current(conn)
    engine.dispose()
    return revisions


@pytest.fixture
def v1_app(make_app, db_url):
    """The playground opened on a database the release before Alembic wrote."""
    write_v1(db_url)
    return make_app(DATABASE_URL=db_url, PLAYGROUND_SINGLE_USER=True)


# -- upgrading what the release before Alembic wrote ---------------------------------------
def test_its_runs_are_listed_opened_and_shared_after_the_upgrade(v1_app, db_url):
    client = v1_app.test_client()
    history = Page(client.get("/history"))
    assert history.status == 200 and "8 runs kept" in history.text(".history-head")
    prompts = [row["prompt"] for row in reversed(FIXTURE["rows"])]  # newest first
    assert history.all_text(".run-link") == [p.strip()[:120] for p in prompts]
    assert history.all_text(".run-row .pill")[:2] == ["Complete", "Stopped"]
    for row in FIXTURE["rows"]:
        page = Page(client.get(f"/runs/{row['id']}"))
        assert page.status == 200 and page.value(PROMPT) == row["prompt"]
        assert f"pill-{row['state']}" in page.html
        if row["reply"]:
            assert row["reply"].split()[0] in page.text(".result")
    shared = next(row for row in FIXTURE["rows"] if row["share_token"])
    stranger = v1_app.test_client()
    page = Page(stranger.get(f"/s/{shared['share_token']}"))
    assert page.status == 200 and shared["prompt"] in page.text("#shared-prompt")
    assert at(db_url) == HEADS


def test_the_upgrade_indexes_its_runs_for_search(v1_app, upstream):
    """Words of the old runs' prompts, replies and other turns are found once upgraded."""
    client = v1_app.test_client()

    def found(query: str) -> list[str]:
        page = Page(client.get("/history", query_string={"q": query}))
        assert page.status == 200
        return page.all_text(".run-link")

    unicode_prompt = FIXTURE["rows"][-1]["prompt"]
    assert found("weather") == ["Weather in Paris?"]
    assert found("javascript") == ["A plain run, no JavaScript"]  # the prompt
    assert found("title") == ["Stream markdown"]  # the reply
    assert found("terse") == [" ".join(unicode_prompt.split())]  # only the system turn
    assert set(found("stre*")) == {"Stream markdown", "Dropped stream"}
    assert len(found("help today")) == 3  # two words, both in three replies
    # And a run made after the upgrade is indexed by the triggers, next to the old ones.
    submit(client, prompt="Weather in Rome?")
    assert set(found("weather")) == {"Weather in Paris?", "Weather in Rome?"}


def test_its_runs_export_exactly_as_that_release_exported_them(v1_app):
    client = v1_app.test_client()
    for run_id, exported in FIXTURE["exports"].items():
        response = client.get(f"/runs/{run_id}.json")
        assert response.status_code == 200
        assert json.loads(response.get_data(as_text=True)) == exported
    lines = client.get("/history.jsonl").get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == \
        [json.loads(line) for line in FIXTURE["history_jsonl"].splitlines()]


def test_the_upgraded_database_takes_new_runs_next_to_the_old(v1_app, upstream):
    client = v1_app.test_client()
    page = submit(client, prompt="after the upgrade")
    assert page.status == 200 and "Hello! How can I help you today?" in page.text(".reply")
    history = Page(client.get("/history"))
    assert "9 runs kept" in history.text(".history-head")
    assert history.all_text(".run-link")[0] == "after the upgrade"


def test_the_conversations_revision_counts_the_turns_of_existing_runs(v1_app, db_url,
                                                                      upstream):
    """Rows older than the revision get their turn count from their JSON, no parent, and the
    history shows them; a continued run and an uploaded image then sit beside them."""
    client = v1_app.test_client()
    history = Page(client.get("/history"))  # the first request upgrades the database
    expected = {row["id"]: len(json.loads(row["data"])["request"]["messages"])
                for row in FIXTURE["rows"]}
    engine = engine_for(db_url)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT id, turn_count FROM runs")).all())
        parents = conn.execute(sa.text("SELECT count(*) FROM runs WHERE parent_id IS NOT NULL"))
        assert found == expected and parents.scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM images")).scalar() == 0
    engine.dispose()
    assert sorted(history.all_text(".turn-count")) == sorted(
        f"{n} turn{'s' if n != 1 else ''}" for n in expected.values())
    old = FIXTURE["rows"][-1]["id"]
    page = Page(client.get(f"/?continue={old}&choice=0"))
    assert page.status == 200 and page.value("parent_id") == old


def test_migrate_command_stamps_the_old_schema_then_upgrades(make_app, db_url):
    write_v1(db_url)
    cli = make_app(DATABASE_URL=db_url).test_cli_runner()
    result = cli.invoke(args=["runs", "migrate"])
    assert result.exit_code == 0, result.output
    assert "At: schema_version 1, written before Alembic" in result.output
    assert to_apply(result.output) == ["run_heartbeat", *LATER]
    assert "Stamped (already in place) runs_v1" in result.output
    assert "Applied run_heartbeat: Crash-safe runs" in result.output
    assert "Applied conversations: Conversations: a run's parent" in result.output
    assert "Applied spend_rollup: Cost per run labelled billed or estimated" in result.output
    # The existing runs are indexed for search, and it says how far it got.
    assert "Indexing 8 runs for search" in result.output
    assert "8 of 8 runs indexed (100%)" in result.output
    assert "Applied run_search_index: Full-text search" in result.output
    assert f"Now at: {', '.join(HEADS)}" in result.output
    assert "Up to date: nothing to do." in cli.invoke(args=["runs", "migrate"]).output
    engine = engine_for(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 8
        assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == 1
    engine.dispose()


def test_migrate_command_creates_a_new_database_from_empty(make_app, db_url):
    result = make_app(DATABASE_URL=db_url).test_cli_runner().invoke(args=["runs", "migrate"])
    assert result.exit_code == 0, result.output
    assert "At: nothing yet (a new database)" in result.output
    assert to_apply(result.output) == ["runs_v1", "run_heartbeat", *LATER]
    assert "Applied runs_v1" in result.output and "Applied run_heartbeat" in result.output
    assert "Stamped" not in result.output and "Indexing" not in result.output  # nothing to index
    assert at(db_url) == HEADS


def test_migrate_command_never_prints_the_database_password(make_app, pg_url):
    url = sa.make_url(pg_url).set(password="pw-not-for-logs").render_as_string(False)
    result = make_app(DATABASE_URL=url).test_cli_runner().invoke(args=["runs", "migrate"])
    assert result.exit_code == 0, result.output  # the test server trusts any password
    assert "Database: postgresql+psycopg://postgres:***@" in result.output
    assert "pw-not-for-logs" not in result.output


def test_an_unknown_schema_version_is_refused_and_runs_still_show(make_app, db_url, upstream):
    write_v1(db_url, version=7)
    app = make_app(DATABASE_URL=db_url)
    with pytest.raises(migrations.MigrationError, match="schema_version 7"):
        app.extensions["runs"].create()
    page = submit(app.test_client(), prompt="still answered")
    assert page.status == 200 and "Hello! How can I help you today?" in page.text(".reply")
    assert "could not be saved" in page.text(".banner-warn")
    assert at(db_url) == ()  # nothing was stamped or changed


# -- the revisions themselves ---------------------------------------------------------------
def test_revision_1_is_the_pre_alembic_schema_exactly(db_url):
    engine = engine_for(db_url)
    with engine.begin() as conn:
        v1.create_all(conn)
        frozen = schema_of(conn)
        v1.drop_all(conn)
    with engine.begin() as conn:
        command.upgrade(migrations.config(conn), migrations.LEGACY)
    with engine.connect() as conn:
        assert schema_of(conn) == frozen
        assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == 1
    engine.dispose()


def _indexed(conn, word: str) -> list[int]:
    """The runs the full-text index finds ``word`` in, asked directly (no store columns)."""
    if conn.dialect.name == "postgresql":
        query = "SELECT pk FROM runs WHERE search @@ to_tsquery('simple', :word) ORDER BY pk"
    else:
        query = "SELECT rowid FROM runs_search WHERE runs_search MATCH :word ORDER BY rowid"
    return list(conn.execute(sa.text(query), {"word": word}).scalars())


def test_each_sibling_revision_downgrades_alone_and_upgrades_again(db_url):
    """conversations (with spend_rollup on it) and run_search_index share a parent: either
    branch comes off without the other, with the merge above them (the index still follows
    every write: no downgrade copies the runs table), and the upgrade puts it back."""
    write_v1(db_url)
    store = Store(engine_for(db_url))
    store.create()
    owner = FIXTURE["rows"][0]["owner"]
    with store.engine.begin() as conn:
        command.downgrade(migrations.config(conn), "run_search_index")  # the merge comes off
        command.downgrade(migrations.config(conn), "spend_rollup@-2")
    with store.engine.begin() as conn:
        assert migrations.current(conn) == ("run_search_index",)
        columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
        assert {"parent_id", "turn_count", "cost_source"}.isdisjoint(columns)
        assert "turns" in columns and not sa.inspect(conn).has_table("spend")
        assert not sa.inspect(conn).has_table("images")
        conn.execute(sa.text("UPDATE runs SET reply = 'now zanzibar' WHERE pk = 1"))
        assert _indexed(conn, "zanzibar") == [1]  # the triggers survived the downgrade
        conn.execute(sa.text("DELETE FROM runs WHERE pk = 1"))
        assert _indexed(conn, "zanzibar") == []
        migrations.upgrade(conn)
    assert at(db_url) == HEADS
    with store.engine.begin() as conn:
        command.downgrade(migrations.config(conn), "spend_rollup")  # the merge comes off
        command.downgrade(migrations.config(conn), "run_search_index@-1")
    with store.engine.begin() as conn:
        assert migrations.current(conn) == ("spend_rollup",)
        columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
        assert {"turns", "search"}.isdisjoint(columns) and "turn_count" in columns
        assert not sa.inspect(conn).has_table("runs_search")
        migrations.upgrade(conn)
    assert at(db_url) == HEADS
    assert [row.prompt for row in store.history(owner, query="weather").rows] == [
        "Weather in Paris?"]
    store.engine.dispose()


def test_the_newest_revision_is_exactly_the_stores_tables(db_url):
    """store.py's tables and the revisions agree: autogenerate would find nothing to write."""
    store = Store(engine_for(db_url))
    store.create()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": migrations.include_name})  # as env.py configures it
        assert compare_metadata(context, metadata) == []
    store.engine.dispose()


def test_instances_starting_together_migrate_once(db_url):
    stores = [Store(engine_for(db_url)) for _ in range(4)]
    barrier, errors = threading.Barrier(len(stores)), []

    def first_use(store: Store) -> None:
        try:
            barrier.wait()
            store.count()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with stores[0].engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        assert sorted(versions) == list(HEADS)  # one row per head, each written once
        assert conn.execute(sa.text("SELECT count(*) FROM schema_version")).scalar() == 1
    for store in stores:
        store.engine.dispose()


BRANCH = '''"""{doc}

Revision ID: {rev}
Revises: {parents}
"""

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {parent_ids!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    pass
'''


def test_parallel_revisions_apply_and_then_merge(tmp_path, db_url):
    """Two branches each add a revision on the same parent; both apply, a merge joins them."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.HERE, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    versions = scripts / "versions"
    # On every current head (a merge point itself when there are several).
    parents = {"parents": ", ".join(migrations.heads()), "parent_ids": migrations.heads()}
    (versions / "branch_lanes.py").write_text(BRANCH.format(
        doc="Comparisons: a lanes table.", rev="branch_lanes", **parents,
        upgrade='op.create_table("lanes", sa.Column("id", sa.Integer, primary_key=True))'))
    engine = engine_for(db_url)
    with engine.begin() as conn:  # this database saw branch A first
        migrations.upgrade(conn, scripts)
    (versions / "run_tags.py").write_text(BRANCH.format(
        doc="Runs get tags.", rev="run_tags", **parents,
        upgrade='op.add_column("runs", sa.Column("tags", sa.Text))'))
    assert migrations.heads(scripts) == ("branch_lanes", "run_tags")
    with engine.begin() as conn:
        steps = migrations.upgrade(conn, scripts)
    assert [str(s) for s in steps] == ["Applied run_tags: Runs get tags."]
    with engine.connect() as conn:
        assert migrations.current(conn) == ("branch_lanes", "run_tags")
    merged = command.merge(migrations.config(directory=scripts), "heads",
                           message="merge lanes and tags", rev_id="merge_lanes_tags")
    assert Path(merged.path).name == "merge_lanes_tags.py"
    assert migrations.heads(scripts) == ("merge_lanes_tags",)
    with engine.begin() as conn:
        assert [s.revision for s in migrations.upgrade(conn, scripts)] == ["merge_lanes_tags"]
    with engine.connect() as conn:
        assert migrations.current(conn) == ("merge_lanes_tags",)
        columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
        assert {"tags", "heartbeat_at"} <= columns and sa.inspect(conn).has_table("lanes")
    engine.dispose()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"  # and a new database takes every branch
    engine = engine_for(fresh)
    with engine.begin() as conn:
        applied = [s.revision for s in migrations.upgrade(conn, scripts)]
    assert applied[:2] == ["runs_v1", "run_heartbeat"] and applied[-1] == "merge_lanes_tags"
    assert set(applied[2:-3]) == set(LATER) and set(applied[-3:-1]) == {"branch_lanes", "run_tags"}
    assert applied.index("conversations") < applied.index("spend_rollup")
    engine.dispose()


def test_a_revision_id_is_its_message_as_a_slug():
    assert migrations.slug("Add compare lanes!") == "add_compare_lanes"
    assert migrations.slug("   ") == "revision"


def test_the_spend_revision_rolls_up_the_runs_already_kept(v1_app, db_url):
    """Older runs join the rollup once, at the upgrade; their costs were all billed."""
    from playground import spend

    Page(v1_app.test_client().get("/history"))  # the first request upgrades the database
    engine = engine_for(db_url)
    with engine.connect() as conn:
        totals = spend.summary(conn, FIXTURE["owner"], days=100_000, now=2_000_000_000)
        sources = dict(conn.execute(sa.text("SELECT model, cost_source FROM runs "
                                            "WHERE cost_usd IS NOT NULL")).all())
    engine.dispose()
    assert totals.all.runs == len(FIXTURE["rows"]) and totals.all.billed_runs == 1
    assert totals.all.billed_usd == pytest.approx(0.000123) and totals.all.estimated_runs == 0
    assert sources == {"fake/cost": "billed"}


def _compression(conn) -> dict:
    """How each large text column of runs is compressed: its setting, and a new long value's."""
    settings = dict(conn.execute(sa.text(
        "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'runs'::regclass"
        " AND attname IN ('data', 'reply', 'turns')")).all())
    written = conn.execute(sa.text(
        "SELECT pg_column_compression(data) FROM runs ORDER BY pk DESC LIMIT 1")).scalar()
    return {**settings, "written": written}


def test_runs_new_long_values_are_compressed_with_lz4_where_the_server_has_it(db_url):
    """A long reply kept after the upgrade is stored LZ4-compressed on a PostgreSQL built with
    LZ4 (faster to read back for an export), pglz on one without; the downgrade puts the
    server's default back, and the run reads the same throughout. On SQLite the revision
    changes nothing and comes off and goes on again."""
    store = Store(engine_for(db_url))
    store.create()
    long_reply = " ".join(f"word{n}" for n in range(2000))  # ~18 KB: compressed, out of line
    run_id = store.save(make_run(reply=long_reply), "alice")
    with store.engine.begin() as conn:
        assert migrations.current(conn) == HEADS
        postgresql = conn.dialect.name == "postgresql"
        lz4 = postgresql and "lz4" in (conn.execute(sa.text(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
            .scalar() or [])
        if lz4:
            assert _compression(conn) == {"data": "l", "reply": "l", "turns": "l",
                                          "written": "lz4"}
        elif postgresql:
            assert _compression(conn) == {"data": "", "reply": "", "turns": "",
                                          "written": "pglz"}
        command.downgrade(migrations.config(conn), "compare_lanes")
    with store.engine.begin() as conn:
        assert migrations.current(conn) == ("compare_lanes",)
        if postgresql:  # the server's default again; the value written keeps its compression
            assert set(_compression(conn).values()) == {"", "lz4" if lz4 else "pglz"}
        row, _run = store.get(run_id, "alice")
        assert row.reply == long_reply
        migrations.upgrade(conn)
    assert at(db_url) == HEADS
    row, _run = store.get(run_id, "alice")
    assert row.reply == long_reply
    store.engine.dispose()

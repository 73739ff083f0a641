"""The store's tables, as SQLAlchemy Core: what the revisions in ``migrations/`` build.

``runs`` keeps every run (its whole ``Run`` as JSON in ``data``, and copies of what the history
lists and searches). Its full-text index is not declared here: the revision
``run_search_index`` made it (FTS5 ``runs_search`` on SQLite, ``runs.search`` with a GIN
index on PostgreSQL) and its triggers keep it in step with every write. ``images`` keeps
each visitor's uploads once, by the SHA-256 of their bytes; ``run_images`` says which runs
refer to which, so a share page serves only its run's images and ``flask runs prune``
removes the ones no run refers to.
"""

from __future__ import annotations

import sqlalchemy as sa

from playground import spend

metadata = sa.MetaData()
runs = sa.Table(
    "runs", metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    # Public ids are random, so guessing or counting reveals nothing; pk only orders rows.
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),  # unix seconds, when the run started
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),  # the last user turn's text
    sa.Column("reply", sa.Text, nullable=False),  # while running: the text received so far
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
    sa.Column("data", sa.Text, nullable=False),  # Run.to_dict() as JSON, images as references
    sa.Column("heartbeat_at", sa.Float),  # unix seconds; refreshed while the run is in flight
    sa.Column("parent_id", sa.String(32)),  # the run this one continues
    sa.Column("turn_count", sa.Integer),  # messages sent (NULL: a row older than the column)
    sa.Column("cost_source", sa.String(16)),  # "billed", "estimated" or NULL (cost unknown)
    # The text of every turn sent (search covers it); NULL: written before search existed.
    sa.Column("turns", sa.Text),
    sa.Column("comparison_id", sa.String(32)),  # the comparison this run is a lane of
    sa.Column("lane", sa.Integer),  # its lane there (0 stands for the comparison in lists)
    # Pages of one owner's runs, newest first, by keyset: (owner, created_at, pk) in order.
    sa.Index("ix_runs_owner_created", "owner", "created_at", "pk"),
    sa.Index("ix_runs_owner_model", "owner", "model"),
    sa.Index("ix_runs_owner_state", "owner", "state"),
    sa.Index("ix_runs_created", "created_at"),
    sa.Index("ix_runs_parent", "parent_id"),
    sa.Index("ix_runs_comparison", "comparison_id"),
)
images = sa.Table(
    "images", metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("ref", sa.String(64), nullable=False),  # SHA-256 of the bytes, hex
    sa.Column("mime", sa.String(32), nullable=False),  # sniffed from the bytes, never declared
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("owner", "ref", name="uq_images_owner_ref"),
)
run_images = sa.Table(
    "run_images", metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("ref", sa.String(64), primary_key=True),
    sa.Index("ix_run_images_ref", "ref"),
)
spend.table.to_metadata(metadata)  # the spending rollup (spend.py): one schema, one history
# A comparison groups 2 to 4 lane runs (runs.comparison_id); its own row keeps what its page
# and the history list show, and the form it was sent with (data), for Re-run.
comparisons = sa.Table(
    "comparisons", metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("models", sa.Text, nullable=False),  # the lanes' models, in lane order, JSON
    sa.Column("share_token", sa.String(64), unique=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_comparisons_owner_created", "owner", "created_at"),
)
# A lane token lets one /stream request send one lane whose budget place and in-flight slot
# were taken when its comparison was created. ``token`` is the SHA-256 of the secret the
# page holds; ``held`` says the slot is still taken, and flips once, whoever frees it.
lane_tokens = sa.Table(
    "lane_tokens", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("comparison_id", sa.String(32), nullable=False),
    sa.Column("lane", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("client", sa.String(100)),  # whose slot: cleared when it is freed
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("claimed_at", sa.Float),
    sa.Column("held", sa.Boolean, nullable=False),
    sa.Index("ix_lane_tokens_comparison", "comparison_id"),
)
# The release before Alembic kept its schema version here; Alembic's alembic_version is read.
schema = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

"""Compare: a comparison groups its lane runs; lane tokens carry its reserved places.

``runs`` gains ``comparison_id`` and ``lane`` (NULL for every older run: none was a lane).
``comparisons`` keeps one row per comparison (what its page and the history list show, and
the form it was sent with); ``lane_tokens`` the single-use tokens with which a page streams
each lane whose budget place and in-flight slot were taken when the comparison was made.

It is also the merge point of the branches before it (run_search_index; conversations and
spend_rollup), so the schema has one head again.

Revision ID: compare_lanes
Revises: run_search_index, spend_rollup
"""

import sqlalchemy as sa
from alembic import op

revision = "compare_lanes"
down_revision = ("run_search_index", "spend_rollup")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("comparison_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("lane", sa.Integer, nullable=True))
    op.create_index("ix_runs_comparison", "runs", ["comparison_id"])
    op.create_table(
        "comparisons",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("share_token", sa.String(64), unique=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_comparisons_owner_created", "comparisons", ["owner", "created_at"])
    op.create_table(
        "lane_tokens",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("comparison_id", sa.String(32), nullable=False),
        sa.Column("lane", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("client", sa.String(100)),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("claimed_at", sa.Float),
        sa.Column("held", sa.Boolean, nullable=False),
    )
    op.create_index("ix_lane_tokens_comparison", "lane_tokens", ["comparison_id"])


def downgrade() -> None:
    op.drop_index("ix_lane_tokens_comparison", "lane_tokens")
    op.drop_table("lane_tokens")
    op.drop_index("ix_comparisons_owner_created", "comparisons")
    op.drop_table("comparisons")
    op.drop_index("ix_runs_comparison", "runs")
    # In place, never a copy of runs: a copy would lose run_search_index's SQLite triggers.
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.drop_column("lane")
        batch.drop_column("comparison_id")

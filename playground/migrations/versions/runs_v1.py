"""The runs table and schema_version, exactly as the release before Alembic created them.

A database that release wrote (schema_version 1) is stamped as this revision, not re-run:
keep this DDL frozen, whatever the store's tables become.

Revision ID: runs_v1
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "runs_v1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
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
    )
    op.create_index("ix_runs_owner_created", "runs", ["owner", "created_at"])
    op.create_index("ix_runs_owner_model", "runs", ["owner", "model"])
    op.create_index("ix_runs_owner_state", "runs", ["owner", "state"])
    op.create_index("ix_runs_created", "runs", ["created_at"])
    # Kept for the release before Alembic: pointed at this database, it finds version 1 and
    # runs. alembic_version is what this code reads.
    schema = op.create_table("schema_version", sa.Column("version", sa.Integer, nullable=False))
    op.bulk_insert(schema, [{"version": 1}])


def downgrade() -> None:
    op.drop_table("schema_version")
    op.drop_table("runs")

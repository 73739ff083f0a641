"""Crash-safe runs: a heartbeat time, refreshed while a run is in flight.

A run is written when it starts (state "running") and its heartbeat is refreshed while it
streams; a "running" row whose heartbeat has gone quiet reads back as interrupted. Older rows
have no heartbeat (NULL): they were only ever written finished.

Revision ID: run_heartbeat
Revises: runs_v1
"""

import sqlalchemy as sa
from alembic import op

revision = "run_heartbeat"
down_revision = "runs_v1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("heartbeat_at", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("heartbeat_at")

"""Conversations: a run's parent and its number of turns; uploaded images and their runs.

``parent_id`` is the run a run continues (indexed: a run page walks its thread up), and
``turn_count`` the number of messages it sent. Rows written before this revision get their
turn count from their stored request. ``images`` keeps each visitor's uploads once, by the
SHA-256 of their bytes; ``run_images`` links a run to the images it sent.

Revision ID: conversations
Revises: run_heartbeat
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "conversations"
down_revision = "run_heartbeat"
branch_labels = None
depends_on = None
BATCH = 500


def _turn_counts(connection) -> None:
    """Count the messages of every existing run, reading its JSON in batches."""
    runs = sa.table("runs", sa.column("pk", sa.Integer), sa.column("data", sa.Text),
                    sa.column("turn_count", sa.Integer))
    after = 0
    while True:
        rows = connection.execute(sa.select(runs.c.pk, runs.c.data).where(runs.c.pk > after)
                                  .order_by(runs.c.pk).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            try:
                request = json.loads(row.data).get("request")
                messages = request.get("messages") if isinstance(request, dict) else None
            except (ValueError, AttributeError):
                messages = None
            if isinstance(messages, list):
                connection.execute(runs.update().where(runs.c.pk == row.pk)
                                   .values(turn_count=len(messages)))
        after = rows[-1].pk


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("turn_count", sa.Integer, nullable=True))
    op.create_index("ix_runs_parent", "runs", ["parent_id"])
    _turn_counts(op.get_bind())
    op.create_table(
        "images",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("mime", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("owner", "ref", name="uq_images_owner_ref"),
    )
    op.create_table(
        "run_images",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("ref", sa.String(64), primary_key=True),
    )
    op.create_index("ix_run_images_ref", "run_images", ["ref"])


def downgrade() -> None:
    op.drop_index("ix_run_images_ref", "run_images")
    op.drop_table("run_images")
    op.drop_table("images")
    op.drop_index("ix_runs_parent", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("turn_count")
        batch.drop_column("parent_id")

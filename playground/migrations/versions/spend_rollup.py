"""Cost per run labelled billed or estimated, and the spending rollup per owner, day and model.

``runs.cost_source`` says whether ``cost_usd`` was billed by the provider or estimated from the
catalogue's price. ``spend`` holds what each owner spent per day (UTC) and model, updated as
runs finish, so the history's totals never scan the runs. Runs finished before this revision
are rolled up once here (their costs were all billed: nothing was estimated then).

Revision ID: spend_rollup
Revises: conversations
"""

from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "spend_rollup"
down_revision = "conversations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("cost_source", sa.String(16), nullable=True))
    spend = op.create_table(
        "spend",
        sa.Column("owner", sa.String(100), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("billed_usd", sa.Float, nullable=False),
        sa.Column("billed_runs", sa.Integer, nullable=False),
        sa.Column("estimated_usd", sa.Float, nullable=False),
        sa.Column("estimated_runs", sa.Integer, nullable=False),
    )
    runs = sa.table("runs", sa.column("owner"), sa.column("created_at"), sa.column("model"),
                    sa.column("cost_usd"), sa.column("state"), sa.column("cost_source"))
    connection = op.get_bind()
    connection.execute(runs.update().where(runs.c.cost_usd.isnot(None))
                       .values(cost_source="billed"))
    totals: dict = defaultdict(lambda: [0, 0.0, 0])
    rows = connection.execute(sa.select(runs.c.owner, runs.c.created_at, runs.c.model,
                                        runs.c.cost_usd).where(runs.c.state != "running"))
    for owner, created_at, model, cost in rows:  # once, at upgrade: every later run adds itself
        day = datetime.fromtimestamp(created_at, UTC).strftime("%Y-%m-%d")
        entry = totals[(owner, day, model)]
        entry[0] += 1
        if cost is not None:
            entry[1] += cost
            entry[2] += 1
    if totals:
        op.bulk_insert(spend, [
            {"owner": owner, "day": day, "model": model, "runs": n, "billed_usd": usd,
             "billed_runs": billed, "estimated_usd": 0.0, "estimated_runs": 0}
            for (owner, day, model), (n, usd, billed) in totals.items()])


def downgrade() -> None:
    op.drop_table("spend")
    # In place, never a copy of runs: a copy would lose run_search_index's SQLite triggers.
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.drop_column("cost_source")

"""Alembic's environment: run the revisions on the connection ``migrations.upgrade`` passes.

There is no alembic.ini and no URL here: the store owns the engine and the transaction, and
hands Alembic one connection (``config.attributes["connection"]``) with the lock held.
"""

from __future__ import annotations

from alembic import context

from playground.migrations import Step, include_name
from playground.store import metadata  # the current schema, for `flask runs revision --auto`

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through `flask --app app runs migrate`, which passes "
                     "the database connection; there is no alembic.ini.")


def _record(*, ctx, step, heads, run_args) -> None:
    """Keep what each step did, so `flask runs migrate` can say it."""
    revision = step.up_revision
    doc = (revision.doc or "").strip().splitlines() if revision is not None else []
    config.attributes["steps"].append(
        Step(step.up_revision_id or "base", doc[0] if doc else "", stamped=step.is_stamp))


context.configure(connection=connection, target_metadata=metadata, on_version_apply=_record,
                  include_name=include_name,  # the search index is the triggers' own
                  render_as_batch=True)  # ALTERs on SQLite go through batch copies
with context.begin_transaction():
    context.run_migrations()

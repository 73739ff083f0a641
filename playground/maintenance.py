"""The ``flask runs`` commands: migrate the schema, prune the history, write revisions.

    flask --app app runs migrate            # apply the missing revisions, saying which
    flask --app app runs prune [--days N] [--keep N]   (also: images no run refers to)
    flask --app app runs revision "add compare lanes" [--autogenerate]
    flask --app app runs merge              # join parallel revisions after a git merge
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from playground import migrations
from playground.comparisons import Comparisons
from playground.store import Store, current_store


def _setting(value) -> float | None:
    return float(value) if value not in (None, "") else None


cli = AppGroup("runs", help="Manage the run history and its database schema.")


@cli.command("prune")
@click.option("--days", type=float, help="Delete runs older than this many days.")
@click.option("--keep", type=int, help="Keep only this many newest runs per owner.")
def prune_command(days: float | None, keep: int | None) -> None:
    """Apply the retention settings (or the options given) to the history; then delete the
    uploaded images no run refers to (a day after their upload: their form may be open)."""
    config = current_app.config
    days = days if days is not None else _setting(config.get("PLAYGROUND_RETENTION_DAYS"))
    keep_setting = _setting(config.get("PLAYGROUND_RETENTION_RUNS"))
    keep = keep if keep is not None else (int(keep_setting) if keep_setting else None)
    if days is None and keep is None:
        click.echo("Nothing to do: set PLAYGROUND_RETENTION_DAYS or PLAYGROUND_RETENTION_RUNS "
                   "(or pass --days / --keep).")
    else:
        deleted = current_store().prune(days=days, keep=keep)
        emptied = Comparisons(current_store()).prune()
        click.echo(f"Deleted {deleted} run{'s' if deleted != 1 else ''}"
                   + (f" and {emptied} comparison{'s' if emptied != 1 else ''} left without "
                      "lanes." if emptied else "."))
    loose = current_store().images.prune()
    click.echo(f"Deleted {loose} image{'s' if loose != 1 else ''} no run refers to.")


def _where(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)


@cli.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date (for deploys of several instances)."""
    store = current_store()
    with store.engine.connect() as conn:
        before, legacy = migrations.current(conn), migrations.legacy_version(conn)
        todo = migrations.pending(conn)
    click.echo(f"Database: {_where(store)}")
    if before:
        click.echo(f"At: {', '.join(before)}")
    elif legacy is not None:
        click.echo(f"At: schema_version {legacy}, written before Alembic (it is stamped as "
                   f"{migrations.LEGACY}, not created again)")
    else:
        click.echo("At: nothing yet (a new database)")
    if not todo:
        click.echo("Up to date: nothing to do.")
        return
    click.echo(f"To apply: {', '.join(todo)}")
    for step in store.migrate(progress=lambda line: click.echo(f"  {line}")):
        click.echo(f"  {step}")
    with store.engine.connect() as conn:
        click.echo(f"Now at: {', '.join(migrations.current(conn))}")


@cli.command("revision")
@click.argument("message")
@click.option("--autogenerate", is_flag=True,
              help="Fill it in from the difference between store.py's tables and the database.")
def revision_command(message: str, autogenerate: bool) -> None:
    """Write a new, empty schema revision in playground/migrations/versions/."""
    from alembic import command

    store = current_store()
    with store.engine.connect() as conn:
        script = command.revision(migrations.config(conn), message, autogenerate=autogenerate,
                                  rev_id=migrations.slug(message))
    click.echo(f"Wrote {script.path}")


@cli.command("merge")
@click.argument("message", default="merge parallel revisions")
def merge_command(message: str) -> None:
    """Join parallel revisions (two branches each added one) with a merge revision."""
    from alembic import command

    found = migrations.heads()
    if len(found) < 2:
        click.echo(f"One head ({', '.join(found)}): nothing to merge.")
        return
    script = command.merge(migrations.config(), "heads", message=message,
                           rev_id=migrations.slug(message))
    click.echo(f"Merged {', '.join(found)} in {script.path}")

"""Runs' large text compressed with LZ4 on PostgreSQL, where the server has it.

A run's JSON (``data``), its reply and its turns are usually kilobytes, so PostgreSQL keeps
them compressed out of line (TOAST), and an export decompresses every one it reads. LZ4
(PostgreSQL 14 and later, when built with it) decompresses faster than the default, pglz, at
about the same size: on the bench's million-run history the export read 15–31 % more runs per
second (bench/README.md, "The export, a third time").

Only values written from now on are compressed with LZ4; rows already kept stay as they are
and read the same (a rewrite, such as ``VACUUM FULL``, would not recompress them either).
SQLite stores the columns as they are, so there this revision changes nothing.

Revision ID: runs_lz4
Revises: compare_lanes
"""

import sqlalchemy as sa
from alembic import op

revision = "runs_lz4"
down_revision = "compare_lanes"
branch_labels = None
depends_on = None

COLUMNS = ("data", "reply", "turns")


def _has_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return False
    choices = bind.execute(sa.text(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
    return "lz4" in (choices or [])


def _compress(method: str) -> None:
    if _has_lz4():
        changes = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}"
                            for column in COLUMNS)
        op.execute(f"ALTER TABLE runs {changes}")


def upgrade() -> None:
    _compress("lz4")


def downgrade() -> None:
    _compress("DEFAULT")

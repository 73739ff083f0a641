"""Comparisons as kept: the record that groups 2 to 4 lane runs, and the lanes' tokens.

A comparison's lanes are ordinary runs (``runs.comparison_id``, ``runs.lane``), written as
"running" when the comparison is made, so its page, its export and the history find them
however far each got. Every query is scoped to its owner, as the store's are.

A lane token is what a page streams one lane with (``/stream``, form field ``lane``): its
budget place and in-flight slot were taken when the comparison was made. Only its SHA-256 is
kept. ``claim`` spends it once, for its owner, before it expires; ``free`` gives the slot back
exactly once, whichever process or path gets there first (the ``held`` flag flips once).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from playground import uploads
from playground.database import column_text, findable
from playground.run import Run
from playground.store import Store
from playground.tables import comparisons, lane_tokens, runs

TOKEN_SECONDS = 30.0  # a page opens its lanes' streams at once; a token unused this long expires


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Lane:
    """One claimed lane token: the run to send and whose slot to free after."""

    comparison_id: str
    lane: int
    run_id: str
    client: str | None


def _models(text: str) -> list[str]:
    try:
        models = json.loads(text)
    except ValueError:
        return []
    return [str(m) for m in models] if isinstance(models, list) else []


class Comparisons:
    """Comparison records and lane tokens, on the runs' own database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _begin(self):
        return self.store._begin()

    # -- the record ------------------------------------------------------------------------
    def create(self, owner: str, lanes: list[Run], *, prompt: str, data: dict,
               now: float | None = None) -> tuple[str, list[str]]:
        """Write the comparison and its lane runs (as running); return its id and theirs."""
        comparison_id = secrets.token_urlsafe(16)
        now = now or time.time()
        run_ids = []
        with self._begin() as conn:
            conn.execute(comparisons.insert(), {
                "id": comparison_id, "owner": owner, "created_at": now,
                "prompt": column_text(prompt), "models": json.dumps([run.model for run in lanes]),
                "data": json.dumps(data, default=str)})
            for number, run in enumerate(lanes):
                run.comparison_id, run.lane, run.started_at = comparison_id, number, now
                run_id = secrets.token_urlsafe(16)
                values, found = self.store._values(run, "running")
                values.update(reply="", heartbeat_at=now)
                conn.execute(runs.insert(), {"id": run_id, "owner": owner, **values})
                uploads.keep(conn, run_id, owner, found)
                run_ids.append(run_id)
        return comparison_id, run_ids

    def get(self, comparison_id: str, owner: str):
        """This owner's comparison row, or None (another owner's does not exist)."""
        if not findable(comparison_id):
            return None
        with self._begin() as conn:
            return conn.execute(sa.select(comparisons).where(
                comparisons.c.id == comparison_id, comparisons.c.owner == owner)).first()

    def get_shared(self, token: str):
        if not token or not findable(token):
            return None
        with self._begin() as conn:
            return conn.execute(sa.select(comparisons).where(
                comparisons.c.share_token == token)).first()

    def lanes(self, row) -> list[tuple[sa.Row, Run]]:
        """The comparison's lane runs, in lane order, read as the store reads any run."""
        with self._begin() as conn:
            ids = conn.execute(sa.select(runs.c.id).where(
                runs.c.comparison_id == row.id, runs.c.owner == row.owner)
                .order_by(runs.c.lane)).scalars().all()
        found = [self.store.get(run_id, row.owner) for run_id in ids]
        return [item for item in found if item is not None]

    def of_rows(self, owner: str, comparison_ids: list[str]) -> dict[str, dict]:
        """The comparisons of a history page's rows, by id, in one query (models as a list)."""
        ids = [i for i in comparison_ids if findable(i)]
        if not ids:
            return {}
        with self._begin() as conn:
            rows = conn.execute(sa.select(comparisons).where(
                comparisons.c.owner == owner, comparisons.c.id.in_(ids))).all()
        return {row.id: {**row._mapping, "models": _models(row.models)} for row in rows}

    def share(self, comparison_id: str, owner: str) -> str | None:
        token = secrets.token_urlsafe(24)
        if not findable(comparison_id):
            return None
        with self._begin() as conn:
            result = conn.execute(comparisons.update().where(
                comparisons.c.id == comparison_id, comparisons.c.owner == owner)
                .values(share_token=token))
        return token if result.rowcount else None

    def revoke(self, comparison_id: str, owner: str) -> bool:
        if not findable(comparison_id):
            return False
        with self._begin() as conn:
            return conn.execute(comparisons.update().where(
                comparisons.c.id == comparison_id, comparisons.c.owner == owner)
                .values(share_token=None)).rowcount > 0

    def delete(self, comparison_id: str, owner: str) -> bool:
        """Delete the comparison and its lane runs."""
        if not findable(comparison_id):
            return False
        with self._begin() as conn:
            gone = conn.execute(comparisons.delete().where(
                comparisons.c.id == comparison_id, comparisons.c.owner == owner)).rowcount
            if gone:
                conn.execute(runs.delete().where(runs.c.comparison_id == comparison_id,
                                                 runs.c.owner == owner))
                conn.execute(lane_tokens.delete().where(
                    lane_tokens.c.comparison_id == comparison_id))
        return gone > 0

    def delete_all(self, owner: str) -> int:
        with self._begin() as conn:
            conn.execute(lane_tokens.delete().where(lane_tokens.c.owner == owner))
            return conn.execute(comparisons.delete().where(
                comparisons.c.owner == owner)).rowcount

    def prune(self, now: float | None = None) -> int:
        """Delete the comparisons none of whose lanes is kept, and tokens long spent."""
        lanes_left = sa.select(runs.c.id).where(runs.c.comparison_id == comparisons.c.id)
        with self._begin() as conn:
            conn.execute(lane_tokens.delete().where(
                lane_tokens.c.expires_at < (now or time.time()) - 86400))
            return conn.execute(comparisons.delete().where(~lanes_left.exists())).rowcount

    # -- lane tokens -----------------------------------------------------------------------
    def issue(self, comparison_id: str, run_ids: list[str], owner: str, client: str,
              now: float | None = None) -> list[str]:
        """One secret token per lane, each holding that lane's slot until claimed or expired."""
        now = now or time.time()
        tokens = [secrets.token_urlsafe(24) for _ in run_ids]
        with self._begin() as conn:
            conn.execute(lane_tokens.insert(), [
                {"token": digest(token), "comparison_id": comparison_id, "lane": number,
                 "run_id": run_id, "owner": owner, "client": client,
                 "expires_at": now + TOKEN_SECONDS, "claimed_at": None, "held": True}
                for number, (token, run_id) in enumerate(zip(tokens, run_ids, strict=True))])
        return tokens

    def claim(self, token: str, owner: str, now: float | None = None) -> Lane | None:
        """Spend a lane token: its lane if it is this owner's, unused and unexpired; else None."""
        if not isinstance(token, str) or not 16 <= len(token) <= 100:
            return None
        now, key = now or time.time(), digest(token)
        with self._begin() as conn:
            claimed = conn.execute(lane_tokens.update().where(
                lane_tokens.c.token == key, lane_tokens.c.owner == owner,
                lane_tokens.c.claimed_at.is_(None), lane_tokens.c.held.is_(True),
                lane_tokens.c.expires_at > now).values(claimed_at=now)).rowcount
            if not claimed:
                return None
            row = conn.execute(sa.select(lane_tokens).where(lane_tokens.c.token == key)).one()
        return Lane(row.comparison_id, row.lane, row.run_id, row.client)

    def free(self, comparison_id: str, lane: int) -> str | None:
        """Mark a lane's slot free, once; the client whose slot it was (None: not held)."""
        condition = sa.and_(lane_tokens.c.comparison_id == comparison_id,
                            lane_tokens.c.lane == lane, lane_tokens.c.held.is_(True))
        with self._begin() as conn:
            row = conn.execute(sa.select(lane_tokens.c.client).where(condition)).first()
            if row is None or not conn.execute(lane_tokens.update().where(condition)
                                               .values(held=False, client=None)).rowcount:
                return None
        return row.client or ""

    def expire(self, comparison_id: str, now: float | None = None) -> list[tuple[int, str, str]]:
        """Free the lanes whose token was never used in time: (lane, run id, client) each."""
        now = now or time.time()
        condition = sa.and_(lane_tokens.c.comparison_id == comparison_id,
                            lane_tokens.c.claimed_at.is_(None), lane_tokens.c.held.is_(True),
                            lane_tokens.c.expires_at <= now)
        freed = []
        with self._begin() as conn:
            for row in conn.execute(sa.select(lane_tokens).where(condition)).all():
                if conn.execute(lane_tokens.update().where(
                        lane_tokens.c.token == row.token, lane_tokens.c.held.is_(True))
                        .values(held=False, client=None)).rowcount:
                    freed.append((row.lane, row.run_id, row.client or ""))
        return freed

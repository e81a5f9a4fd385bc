"""The audit's tables: the Merkle tree's order, signed checkpoints, and archived histories.

The tree's order (migration 019): an event gets its ``tree_index`` once it is known to be recorded
(seq <= its stream's ``recorded_through``); events entering together are numbered after every event
already in the tree, in ``global_position`` order. An index never changes, and no event at or
below ``recorded_through`` is ever replaced, so a leaf never changes once in the tree. The hashing
(and the proofs) are ``petitionflow.audit.merkle``'s; this module only stores and reads.

``latest_checkpoint`` is the query the echo wall's footer shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.common import PetitionId
from schemas.workflow import workflow_id
from store._db import Conn, Db, connection

_TREE_LOCK = 0x70666175  # pg_advisory_xact_lock key: one tree extension at a time ("pfau")


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A row of ``audit_checkpoints``."""

    id: int
    tree_size: int
    root_hash: bytes
    issued_at: datetime
    algorithm: str
    key_id: str
    public_key: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Leaf:
    """One event in the tree: where it is, and what its leaf stands for."""

    tree_index: int
    petition_id: PetitionId
    seq: int
    hash: bytes


async def extend_tree(conn: Conn) -> int:
    """Number the recorded events not yet in the tree; the tree's size after. ``conn`` must be in
    a transaction: the tree grows by one extension at a time."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _TREE_LOCK)
    base = await conn.fetchval("SELECT coalesce(max(tree_index) + 1, 0) FROM events")
    await conn.execute(
        "UPDATE events e SET tree_index = $1 + n.rank - 1 FROM"
        " (SELECT e.petition_id, e.seq, row_number() OVER (ORDER BY e.global_position) AS rank"
        "  FROM events e JOIN streams s ON s.petition_id = e.petition_id"
        "  WHERE e.tree_index IS NULL AND e.seq <= s.recorded_through) n"
        " WHERE e.petition_id = n.petition_id AND e.seq = n.seq",
        base,
    )
    size: int = await conn.fetchval("SELECT coalesce(max(tree_index) + 1, 0) FROM events")
    return size


async def leaves(db: Db, size: int | None = None) -> list[Leaf]:
    """The tree's leaves in order (the first ``size``; all without)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT tree_index, petition_id, seq, hash FROM events"
            " WHERE tree_index IS NOT NULL AND ($1::bigint IS NULL OR tree_index < $1) ORDER BY tree_index",
            size,
        )
    return [Leaf(r[0], r[1], r[2], bytes(r[3])) for r in rows]


async def save_checkpoint(
    db: Db,
    *,
    tree_size: int,
    root_hash: bytes,
    issued_at: datetime,
    algorithm: str,
    key_id: str,
    public_key: bytes,
    signature: bytes,
) -> StoredCheckpoint:
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "INSERT INTO audit_checkpoints"
            " (tree_size, root_hash, issued_at, algorithm, key_id, public_key, signature)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            tree_size,
            root_hash,
            issued_at,
            algorithm,
            key_id,
            public_key,
            signature,
        )
    assert row is not None
    return _checkpoint(row)


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        id=row["id"],
        tree_size=row["tree_size"],
        root_hash=bytes(row["root_hash"]),
        issued_at=row["issued_at"],
        algorithm=row["algorithm"],
        key_id=row["key_id"],
        public_key=bytes(row["public_key"]),
        signature=bytes(row["signature"]),
    )


async def latest_checkpoint(db: Db) -> StoredCheckpoint | None:
    """The last checkpoint issued, or None: what the echo wall's footer publishes."""
    async with connection(db) as conn:
        row = await conn.fetchrow("SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1")
    return None if row is None else _checkpoint(row)


async def checkpoint_of_size(db: Db, tree_size: int) -> StoredCheckpoint | None:
    """The latest checkpoint of a tree of ``tree_size`` leaves, or None."""
    async with connection(db) as conn:
        row = await conn.fetchrow(
            "SELECT * FROM audit_checkpoints WHERE tree_size = $1 ORDER BY id DESC LIMIT 1", tree_size
        )
    return None if row is None else _checkpoint(row)


async def list_checkpoints(db: Db, *, limit: int = 100) -> list[StoredCheckpoint]:
    """The latest ``limit`` checkpoints, newest first."""
    async with connection(db) as conn:
        rows = await conn.fetch("SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT $1", limit)
    return [_checkpoint(r) for r in rows]


async def mark_recorded(conn: Conn, petition_id: PetitionId, through: int) -> None:
    """The stream's events up to ``through`` are in Temporal's history (the ghost sweeper saw them)."""
    await conn.execute(
        "UPDATE streams SET recorded_through = greatest(recorded_through, $2) WHERE petition_id = $1",
        petition_id,
        through,
    )


# ----------------------------------------------------------------------------------- the archive


async def archive_runs(db: Db, workflow_id: str, runs: list[tuple[str, dict[str, Any]]]) -> None:
    """Keep every run (run id, ``WorkflowHistory.to_json_dict()``) of a closed workflow, first first."""
    async with connection(db) as conn, conn.transaction():
        await conn.execute("DELETE FROM history_archive WHERE workflow_id = $1", workflow_id)
        await conn.executemany(
            "INSERT INTO history_archive (workflow_id, position, run_id, history) VALUES ($1, $2, $3, $4)",
            [(workflow_id, i, run_id, json.dumps(history)) for i, (run_id, history) in enumerate(runs)],
        )


async def archived_runs(db: Db, workflow_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The archived runs of ``workflow_id``, first first (empty: not archived)."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT run_id, history::text AS history FROM history_archive WHERE workflow_id = $1"
            " ORDER BY position",
            workflow_id,
        )
    return [(r["run_id"], json.loads(r["history"])) for r in rows]


async def finished_unarchived(db: Db, *, limit: int = 1000) -> list[PetitionId]:
    """Petitions whose read model says finished and whose history is not archived yet."""
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT p.petition_id FROM petitions p WHERE p.finished AND NOT EXISTS"
            " (SELECT 1 FROM history_archive a WHERE a.workflow_id = $2 || p.petition_id)"
            " ORDER BY p.petition_id LIMIT $1",
            limit,
            workflow_id(""),
        )
    return [r[0] for r in rows]

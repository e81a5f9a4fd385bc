"""Signed checkpoints of the event log, and the proofs anyone can check against them.

``take_checkpoint`` grows the tree by the events now known to be recorded (``store.checkpoints``
says how the order is kept), computes its root (``audit.merkle``), signs size and root with the
deployment's key (``audit.signing``) and stores the checkpoint. ``petition_proof`` gives a
petition's events in a checkpoint's tree with their inclusion proofs, ``consistency_proof`` shows
a later checkpoint extends an earlier one; the ``verify_*`` functions check them offline, with
nothing but the documents and the trusted public key.

A proof's events are the public part of each event: seq, type, time and the chain hashes. The leaf
stands for (petition, seq, hash), and the hash covers the whole content, so whoever holds an event
(the household its own filing, an auditor the export) can check it is the one in the tree.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from petitionflow.audit import merkle
from petitionflow.audit.models import Check, Finding
from petitionflow.audit.signing import Checkpoint, Signer, sign_checkpoint, signature_problem
from schemas.common import PetitionId
from store import chain
from store import checkpoints as store
from store._db import Db, connection


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProvenEvent(_Model):
    """One of the petition's events in the tree, with its audit path (hex, leaf to root)."""

    seq: int
    type: str
    at: datetime
    prev_hash: str
    hash: str
    tree_index: int
    path: list[str]


class PetitionProof(_Model):
    """A petition's recorded events as of ``checkpoint``, each with its inclusion proof."""

    format: Literal["petitionflow.petition-proof/1"] = "petitionflow.petition-proof/1"
    petition_id: PetitionId
    checkpoint: Checkpoint
    events: list[ProvenEvent]


class ConsistencyProof(_Model):
    """That ``second`` extends ``first``: RFC 9162's PROOF(first.tree_size, D[second.tree_size])."""

    format: Literal["petitionflow.consistency-proof/1"] = "petitionflow.consistency-proof/1"
    first: Checkpoint
    second: Checkpoint
    path: list[str]


class TreeBroken(Exception):
    """The log no longer holds a leaf of the tree: recorded events were removed (tampering, or a
    conflict settled below the recorded mark). No checkpoint is signed until it is audited."""

    def __init__(self, position: int) -> None:
        super().__init__(
            f"the event log no longer holds leaf {position} of the audit's tree: recorded events were"
            " removed; no checkpoint is signed until `petitionflow audit verify --all` is looked into"
        )
        self.position = position


def as_checkpoint(row: store.StoredCheckpoint) -> Checkpoint:
    return Checkpoint(
        tree_size=row.tree_size,
        root_hash=row.root_hash.hex(),
        issued_at=row.issued_at,
        algorithm=row.algorithm,
        key_id=row.key_id,
        public_key=base64.b64encode(row.public_key).decode(),
        signature=base64.b64encode(row.signature).decode(),
    )


def _leaf(leaf: store.Leaf) -> merkle.Hash:
    return merkle.leaf_hash(merkle.leaf_input(leaf.petition_id, leaf.seq, leaf.hash))


async def take_checkpoint(db: Db, signer: Signer, *, now: datetime | None = None) -> Checkpoint:
    """Grow the tree, sign its head and store it; the checkpoint (the latest one again when the tree
    has not grown since it was signed with the same key)."""
    async with connection(db) as conn, conn.transaction():
        size = await store.extend_tree(conn)
    latest = await store.latest_checkpoint(db)
    if latest is not None and latest.tree_size == size and latest.public_key == signer.public_key():
        return as_checkpoint(latest)
    tree = await store.leaves(db, size)
    for position, leaf in enumerate(tree):
        if leaf.tree_index != position:
            raise TreeBroken(position)
    if len(tree) != size:
        raise TreeBroken(len(tree))
    root = merkle.root([_leaf(leaf) for leaf in tree])
    issued = sign_checkpoint(signer, size, root, (now or datetime.now(UTC)).astimezone(UTC))
    await store.save_checkpoint(
        db,
        tree_size=issued.tree_size,
        root_hash=root,
        issued_at=issued.issued_at,
        algorithm=issued.algorithm,
        key_id=issued.key_id,
        public_key=signer.public_key(),
        signature=base64.b64decode(issued.signature),
    )
    return issued


async def petition_proof(db: Db, petition_id: PetitionId, checkpoint: Checkpoint) -> PetitionProof:
    """The petition's events in ``checkpoint``'s tree (as the log holds them now), with their proofs."""
    tree = await store.leaves(db, checkpoint.tree_size)
    hashes = [_leaf(leaf) for leaf in tree]
    mine = [leaf for leaf in tree if leaf.petition_id == petition_id]
    async with connection(db) as conn:
        rows = await conn.fetch(
            "SELECT seq, type, at, prev_hash FROM events WHERE petition_id = $1 AND seq = any($2::int[])",
            petition_id,
            [leaf.seq for leaf in mine],
        )
    known = {r["seq"]: r for r in rows}
    events = [
        ProvenEvent(
            seq=leaf.seq,
            type=known[leaf.seq]["type"],
            at=known[leaf.seq]["at"],
            prev_hash=bytes(known[leaf.seq]["prev_hash"]).hex(),
            hash=leaf.hash.hex(),
            tree_index=leaf.tree_index,
            path=[h.hex() for h in merkle.inclusion_proof(leaf.tree_index, hashes)],
        )
        for leaf in sorted(mine, key=lambda leaf: leaf.seq)
    ]
    return PetitionProof(petition_id=petition_id, checkpoint=checkpoint, events=events)


async def consistency_proof(db: Db, first: Checkpoint, second: Checkpoint) -> ConsistencyProof:
    """The proof, from the log as it is now, that ``second`` extends ``first``."""
    small, large = sorted((first, second), key=lambda c: c.tree_size)
    hashes = [_leaf(leaf) for leaf in await store.leaves(db, large.tree_size)]
    path = merkle.consistency_proof(min(small.tree_size, len(hashes)), hashes)
    return ConsistencyProof(first=first, second=second, path=[h.hex() for h in path])


async def check_log(db: Db, checkpoint: Checkpoint) -> list[Finding]:
    """Does the log as it is now still hold ``checkpoint``'s tree, leaf for leaf?"""
    tree = await store.leaves(db, checkpoint.tree_size)
    if len(tree) < checkpoint.tree_size or any(leaf.tree_index != i for i, leaf in enumerate(tree)):
        return [
            _finding(
                f"the event log holds {len(tree)} of the {checkpoint.tree_size} recorded events of the"
                f" checkpoint of {chain.canonical_at(checkpoint.issued_at)}: events were removed",
                "tree_size",
                checkpoint.tree_size,
                len(tree),
            )
        ]
    root = merkle.root([_leaf(leaf) for leaf in tree]).hex()
    if root != checkpoint.root_hash:
        return [
            _finding(
                f"the event log's first {checkpoint.tree_size} recorded events no longer hash to the"
                f" root of the checkpoint of {chain.canonical_at(checkpoint.issued_at)}: rewritten",
                "root_hash",
                checkpoint.root_hash,
                root,
            )
        ]
    return []


# ------------------------------------------------------------------------------- offline checks


def _finding(
    message: str,
    field: str | None = None,
    expected: object = None,
    found: object = None,
    seq: int | None = None,
) -> Finding:
    return Finding(
        check=Check.CHECKPOINT, message=message, field=field, expected=expected, found=found, seq=seq
    )


def verify_checkpoint(checkpoint: Checkpoint, trusted_key: bytes) -> list[Finding]:
    """Is ``checkpoint`` signed by the holder of ``trusted_key``?"""
    problem = signature_problem(checkpoint, trusted_key)
    if problem is None:
        return []
    return [_finding(f"checkpoint of size {checkpoint.tree_size}: {problem}", "signature")]


def verify_petition_proof(proof: PetitionProof, checkpoint: Checkpoint, trusted_key: bytes) -> list[Finding]:
    """Does every event of ``proof`` sit in ``checkpoint``'s tree, and do they chain seq by seq?"""
    findings = verify_checkpoint(checkpoint, trusted_key)
    if (proof.checkpoint.tree_size, proof.checkpoint.root_hash) != (
        checkpoint.tree_size,
        checkpoint.root_hash,
    ):
        findings.append(
            _finding(
                "the proof is for another checkpoint than the one trusted",
                "root_hash",
                f"{checkpoint.tree_size}:{checkpoint.root_hash}",
                f"{proof.checkpoint.tree_size}:{proof.checkpoint.root_hash}",
            )
        )
        return findings
    root = bytes.fromhex(checkpoint.root_hash)
    previous = chain.GENESIS.hex()
    for event in proof.events:
        leaf = merkle.leaf_hash(merkle.leaf_input(proof.petition_id, event.seq, bytes.fromhex(event.hash)))
        path = [bytes.fromhex(h) for h in event.path]
        if not merkle.verify_inclusion(event.tree_index, checkpoint.tree_size, leaf, path, root):
            findings.append(
                _finding(
                    f"seq {event.seq} ({event.type}) is not at leaf {event.tree_index}"
                    " of the checkpoint's tree",
                    "hash",
                    None,
                    event.hash,
                    event.seq,
                )
            )
        if event.prev_hash != previous:
            findings.append(
                _finding(
                    f"seq {event.seq} does not link to the event before it",
                    "prev_hash",
                    previous,
                    event.prev_hash,
                    event.seq,
                )
            )
        previous = event.hash
    expected_seqs = list(range(1, len(proof.events) + 1))
    if [e.seq for e in proof.events] != expected_seqs:
        findings.append(
            _finding(
                "the proof's events are not seqs 1.. in order: some are missing",
                "seq",
                expected_seqs,
                [e.seq for e in proof.events],
            )
        )
    return findings


def verify_consistency(
    first: Checkpoint, second: Checkpoint, path: list[str], trusted_key: bytes
) -> list[Finding]:
    """Do both checkpoints carry the trusted signature, and does ``second`` extend ``first``?"""
    findings = verify_checkpoint(first, trusted_key) + verify_checkpoint(second, trusted_key)
    if first.tree_size > second.tree_size:
        first, second = second, first
    ok = merkle.verify_consistency(
        first.tree_size,
        second.tree_size,
        bytes.fromhex(first.root_hash),
        bytes.fromhex(second.root_hash),
        [bytes.fromhex(h) for h in path],
    )
    if not ok:
        findings.append(
            _finding(
                f"the checkpoint of {chain.canonical_at(second.issued_at)} (size {second.tree_size}) does not"
                f" extend the one of {chain.canonical_at(first.issued_at)} (size {first.tree_size}):"
                " recorded events were removed or rewritten in between",
                "root_hash",
                first.root_hash,
                second.root_hash,
            )
        )
    return findings

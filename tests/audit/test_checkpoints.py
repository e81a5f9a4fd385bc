"""Signed checkpoints: the petition's events proven included, a later checkpoint proven to extend an
earlier one, and tampering (a rewritten log, a petition deleted whole, another key) caught."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest

from petitionflow.audit import checkpoints as cp
from petitionflow.audit.signing import Ed25519Signer, sign_checkpoint
from petitionflow.audit.verify import verify_all
from store import checkpoints as store
from tests.audit.conftest import AuditStack, happy_petition

KEY = Ed25519Signer.generate()
TRUSTED = KEY.public_key()


async def _recorded(stack: AuditStack) -> int:
    """How many events are known to be recorded (at or below their stream's recorded_through)."""
    count: int = await stack.pool.fetchval(
        "SELECT count(*) FROM events e JOIN streams s USING (petition_id) WHERE e.seq <= s.recorded_through"
    )
    return count


async def test_a_petition_is_proven_in_the_tree_and_the_tree_only_grows(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "first")
    first = await cp.take_checkpoint(audit_stack.pool, KEY)
    assert first.tree_size == await _recorded(audit_stack) > 0
    assert cp.verify_checkpoint(first, TRUSTED) == []
    # Taken again with nothing new: the same checkpoint.
    assert await cp.take_checkpoint(audit_stack.pool, KEY) == first

    proof = await cp.petition_proof(audit_stack.pool, "first", first)
    assert [e.seq for e in proof.events] == list(range(1, first.tree_size + 1))
    assert [e.tree_index for e in proof.events] == list(range(first.tree_size))
    assert cp.verify_petition_proof(proof, first, TRUSTED) == []

    await happy_petition(audit_stack, "second")
    second = await cp.take_checkpoint(audit_stack.pool, KEY)
    assert second.tree_size == await _recorded(audit_stack) > first.tree_size
    consistency = await cp.consistency_proof(audit_stack.pool, first, second)
    assert cp.verify_consistency(first, second, consistency.path, TRUSTED) == []
    # The first petition's leaves kept their places.
    again = await cp.petition_proof(audit_stack.pool, "first", second)
    assert [e.tree_index for e in again.events] == [e.tree_index for e in proof.events]
    assert cp.verify_petition_proof(again, second, TRUSTED) == []
    assert await cp.check_log(audit_stack.pool, first) == []
    sweep = await verify_all(audit_stack.pool, client=audit_stack.env.client)
    assert (sweep.ok, sweep.findings) == (True, [])


async def test_a_rewritten_recorded_event_breaks_consistency_and_the_sweep(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "kept")
    first = await cp.take_checkpoint(audit_stack.pool, KEY)
    # An insider rewrites an event the tree holds, chain and all (as if hashes were recomputed).
    await audit_stack.pool.execute(
        "UPDATE events SET hash = sha256(hash) WHERE petition_id = 'kept' AND seq = 2"
    )
    await happy_petition(audit_stack, "later")
    second = await cp.take_checkpoint(audit_stack.pool, KEY)
    consistency = await cp.consistency_proof(audit_stack.pool, first, second)
    findings = cp.verify_consistency(first, second, consistency.path, TRUSTED)
    assert [(f.check.value, f.field) for f in findings] == [("checkpoint", "root_hash")]
    assert "does not extend the one of" in findings[0].message
    assert findings[0].message.endswith("recorded events were removed or rewritten in between")

    [rewritten] = await cp.check_log(audit_stack.pool, first)
    assert (rewritten.field, rewritten.expected) == ("root_hash", first.root_hash)
    assert "no longer hash to the root" in rewritten.message
    sweep = await verify_all(audit_stack.pool, client=None, checkpoint=first)
    assert not sweep.ok and [f.field for f in sweep.findings] == ["root_hash"]


async def test_a_petition_deleted_whole_is_caught_by_the_checkpoint(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "stays")
    await happy_petition(audit_stack, "gone")
    first = await cp.take_checkpoint(audit_stack.pool, KEY)
    for table in (
        "events",
        "streams",
        "petitions",
        "echo_wall",
        "tier_stints",
        "notifications",
        "petition_ids",
    ):
        await audit_stack.pool.execute(f"DELETE FROM {table} WHERE petition_id = 'gone'")
    sweep = await verify_all(audit_stack.pool, client=audit_stack.env.client)
    assert [r.petition_id for r in sweep.reports] == ["stays"]  # no table names it any more
    assert [r.ok for r in sweep.reports] == [True]
    [removed] = sweep.findings
    assert (removed.field, removed.expected) == ("tree_size", first.tree_size)
    assert removed.found < first.tree_size
    assert removed.message.endswith("events were removed")


async def test_a_signature_by_another_key_is_refused(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "signed")
    genuine = await cp.take_checkpoint(audit_stack.pool, KEY)
    other = Ed25519Signer.generate()
    forged = sign_checkpoint(other, genuine.tree_size, bytes.fromhex(genuine.root_hash), datetime.now(UTC))
    [by_other] = cp.verify_checkpoint(forged, TRUSTED)
    assert by_other.field == "signature"
    assert by_other.message.endswith(f"not by the trusted key {genuine.key_id}")
    # Claiming the trusted key does not help: the signature does not hold for it.
    posing = forged.model_copy(update={"public_key": genuine.public_key, "key_id": genuine.key_id})
    [bad] = cp.verify_checkpoint(posing, TRUSTED)
    assert "the signature does not hold for the trusted key" in bad.message
    # And a genuine signature over another root does not hold either.
    moved = genuine.model_copy(update={"root_hash": bytes(32).hex()})
    assert [f.field for f in cp.verify_checkpoint(moved, TRUSTED)] == ["signature"]
    assert base64.b64decode(genuine.public_key) == TRUSTED


async def test_the_schedule_takes_a_checkpoint_at_start_and_survives_a_failing_step(
    audit_stack: AuditStack,
) -> None:
    from petitionflow.audit import schedule

    await happy_petition(audit_stack, "scheduled")
    stop = asyncio.Event()
    ran: list[str] = []

    async def failing() -> None:
        ran.append("failing")
        raise RuntimeError("database away")

    async def last() -> None:
        ran.append("last")
        stop.set()

    await schedule.every(
        timedelta(hours=1), stop, failing, schedule.checkpointing(audit_stack.pool, KEY), last
    )
    assert ran == ["failing", "last"]
    latest = await store.latest_checkpoint(audit_stack.pool)
    assert latest is not None and latest.tree_size == await _recorded(audit_stack)


async def test_no_checkpoint_is_signed_over_a_tree_that_lost_a_leaf(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "holed")
    first = await cp.take_checkpoint(audit_stack.pool, KEY)
    await audit_stack.pool.execute("DELETE FROM events WHERE petition_id = 'holed' AND seq = 1")
    await happy_petition(audit_stack, "after")
    with pytest.raises(cp.TreeBroken, match="no longer holds leaf 0 of the audit's tree"):
        await cp.take_checkpoint(audit_stack.pool, KEY)
    latest = await store.latest_checkpoint(audit_stack.pool)
    assert latest is not None and latest.tree_size == first.tree_size

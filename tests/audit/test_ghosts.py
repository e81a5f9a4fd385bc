"""Ghost rows of a lost workflow task are swept and explained; kept tentative rows are confirmed;
an invented superseded row is caught."""

from __future__ import annotations

from datetime import timedelta

from petitionflow.audit import Check, verify
from petitionflow.audit import checkpoints as cp
from petitionflow.audit.ghosts import sweep_ghosts
from petitionflow.audit.signing import Ed25519Signer
from schemas.commands import AcknowledgeInput, AssessInput
from schemas.common import AssessmentDecision, Tier
from schemas.events import Envelope
from store.eventlog import Tentative, append
from tests.audit.conftest import AuditStack, happy_petition, settled
from tests.factories import filing, official
from workflows.lifecycle import decide

NOW = timedelta(0)


async def _with_ghost(stack: AuditStack, petition_id: str) -> int:
    """A petition at seq 2 whose lost workflow task wrote seq 3 (an assessment) that no retry replaced."""
    actor = official(Tier.VILLAGE)
    await stack.petitions.file(filing(petition_id))
    await stack.petitions.act(petition_id, AcknowledgeInput(actor=actor))
    seq = await settled(stack, petition_id)
    state = await stack.petitions.view(petition_id)
    decided = decide(state, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT), state.updated_at)
    zone = await stack.pool.fetchval("SELECT tentative_at FROM streams WHERE petition_id = $1", petition_id)
    envelopes = [Envelope(petition_id=petition_id, seq=seq + 1 + i, event=e) for i, e in enumerate(decided)]
    await append(stack.pool, envelopes, tentative=Tentative(from_seq=seq + 1, at=zone + timedelta(seconds=1)))
    return seq


async def test_a_ghost_is_superseded_with_its_reason_and_explained_by_the_audit(
    audit_stack: AuditStack,
) -> None:
    seq = await _with_ghost(audit_stack, "ghost")
    assert seq == 2
    before = await verify(audit_stack.env.client, audit_stack.pool, "ghost")
    assert [(f.check, f.seq) for f in before.findings][:1] == [(Check.HISTORY, 3)]  # never sent

    swept = await sweep_ghosts(audit_stack.env.client, audit_stack.pool, older_than=NOW)
    assert swept.superseded == {"ghost": 3}
    assert swept.confirmed == {}  # seqs 1-2 were shown recorded by the append of seq 3
    head = await audit_stack.pool.fetchrow(
        "SELECT last_seq, recorded_through FROM streams WHERE petition_id = 'ghost'"
    )
    assert tuple(head) == (2, 2)
    reason = await audit_stack.pool.fetchval(
        "SELECT reason FROM superseded_events WHERE petition_id = 'ghost'"
    )
    assert reason.startswith("ghost: written by a workflow task that was lost")
    owed = await audit_stack.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE petition_id = 'ghost' AND seq = 3"
    )
    assert owed == 0

    after = await verify(audit_stack.env.client, audit_stack.pool, "ghost")
    assert (after.ok, after.findings) == (True, [])
    assert Check.SUPERSEDED in after.checked
    [explained] = after.superseded
    assert explained.startswith("seq 3 (Assessed) written ")
    assert "by a workflow task that was lost" in explained
    assert explained.endswith("it is not in Temporal's history")

    # Swept again: nothing more to do.
    again = await sweep_ghosts(audit_stack.env.client, audit_stack.pool, older_than=NOW)
    assert (again.superseded, again.confirmed) == ({}, {})


async def test_kept_tentative_rows_are_confirmed_and_enter_the_tree(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "kept")
    tentative = await audit_stack.pool.fetchval(
        "SELECT last_seq - recorded_through FROM streams WHERE petition_id = 'kept'"
    )
    assert tentative > 0  # the last task's rows wait for an append that will never come
    swept = await sweep_ghosts(audit_stack.env.client, audit_stack.pool, older_than=NOW)
    assert (swept.confirmed, swept.superseded) == ({"kept": 6}, {})
    checkpoint = await cp.take_checkpoint(audit_stack.pool, Ed25519Signer.generate())
    assert checkpoint.tree_size == 6


async def test_young_tentative_rows_are_left_alone(audit_stack: AuditStack) -> None:
    await _with_ghost(audit_stack, "young")
    swept = await sweep_ghosts(audit_stack.env.client, audit_stack.pool, older_than=timedelta(hours=1))
    assert (swept.confirmed, swept.superseded) == ({}, {})
    assert await audit_stack.pool.fetchval("SELECT last_seq FROM streams WHERE petition_id = 'young'") == 3


async def test_an_invented_superseded_row_is_named(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "made-up")
    columns = "petition_id, seq, type, version, at, actor, body, prev_hash, hash, recorded_at"
    # A recorded event claimed replaced, and an event that never was, with a made-up body.
    await audit_stack.pool.execute(
        f"INSERT INTO superseded_events ({columns}) SELECT {columns} FROM events"
        " WHERE petition_id = 'made-up' AND seq = 2"
    )
    await audit_stack.pool.execute(
        f"INSERT INTO superseded_events ({columns}, reason) SELECT petition_id, 7, type, version, at, actor,"
        " body || '{\"public_summary\": \"Paid off.\"}', prev_hash, hash, recorded_at, 'ghost: trust me'"
        " FROM events WHERE petition_id = 'made-up' AND seq = 4"
    )
    report = await verify(audit_stack.env.client, audit_stack.pool, "made-up")
    found = [(f.check.value, f.table, f.seq, f.field) for f in report.findings]
    assert found == [
        ("superseded", "superseded_events", 2, None),
        ("superseded", "superseded_events", 2, None),
        ("superseded", "superseded_events", 7, "hash"),
        ("superseded", "superseded_events", 7, "prev_hash"),
    ]
    assert report.findings[0].message == "superseded seq 2 is still in the event log, unchanged: not replaced"
    assert report.findings[1].message.startswith("superseded seq 2 (Acknowledged) is in Temporal's history")
    assert len(report.superseded) == 2

"""verify catches every kind of tampering, and names where: seq, field, expected against found."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
from temporalio.api.enums.v1 import EventType

from petitionflow.audit import Check, Finding, read_export, verify, verify_export
from petitionflow.audit.exporting import histories
from store import chain
from tests.audit.conftest import AuditStack, happy_petition
from tests.audit.variants import ChangedPetitionWorkflow

GOLDEN = Path(__file__).parents[1] / "histories"


def _where(findings: list[Finding]) -> list[tuple[str, int | None, str | None, object, object]]:
    return [(f.check.value, f.seq, f.field, f.expected, f.found) for f in findings]


async def test_an_untouched_petition_verifies_on_every_check(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "clean")
    report = await verify(audit_stack.env.client, audit_stack.pool, "clean")
    assert (report.ok, report.findings, report.notes) == (True, [], [])
    assert [c.value for c in report.checked] == ["replay", "chain", "fold", "history", "read_model", "view"]
    assert (report.events, report.runs, report.history_events) == (6, 1, 6)
    head = await audit_stack.pool.fetchval("SELECT hash FROM events WHERE petition_id = 'clean' AND seq = 6")
    assert report.chain_head == bytes(head).hex()


async def test_a_changed_event_body_is_named_by_seq_and_field(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "edited")
    await audit_stack.pool.execute(
        "UPDATE events SET body = jsonb_set(body, '{public_summary}', '\"Nothing to do.\"')"
        " WHERE petition_id = 'edited' AND seq = 4"
    )
    report = await verify(audit_stack.env.client, audit_stack.pool, "edited")
    assert not report.ok
    hash_finding = report.findings[0]
    assert (hash_finding.check, hash_finding.seq, hash_finding.field) == (Check.CHAIN, 4, "hash")
    assert hash_finding.message == "seq 4 was altered after it was written: it does not hash to its hash"
    assert _where(report.findings[1:]) == [
        ("history", 4, "body.public_summary", "Bridge rebuilt.", "Nothing to do."),
        ("view", 4, "state.resolution.public_summary", "Bridge rebuilt.", "Nothing to do."),
        ("read_model", 6, "state.resolution.public_summary", "Nothing to do.", "Bridge rebuilt."),
        # The echo wall and the message to the household still hold what was decided.
        ("read_model", 4, "public_summary", "Nothing to do.", "Bridge rebuilt."),
        ("read_model", 4, "payload.public_summary", "Nothing to do.", "Bridge rebuilt."),
    ]
    assert report.findings[1].message == "seq 4: body.public_summary differs from what the workflow sent"


async def test_a_rewritten_chain_does_not_hide_an_edit_from_the_history(audit_stack: AuditStack) -> None:
    """Whoever can rewrite every hash still cannot rewrite Temporal's history."""
    await happy_petition(audit_stack, "rehashed")
    await audit_stack.pool.execute(
        "UPDATE events SET actor = jsonb_set(actor, '{id}', '\"someone-else\"')"
        " WHERE petition_id = 'rehashed' AND seq = 2"
    )
    await _rehash(audit_stack.pool, "rehashed")
    report = await verify(audit_stack.env.client, audit_stack.pool, "rehashed")
    assert [f for f in report.findings if f.check is Check.CHAIN] == []
    assert _where(report.findings) == [
        ("history", 2, "actor.id", "village-official", "someone-else"),
        ("view", 2, "state.acknowledged_by", "village-official", "someone-else"),
        ("read_model", 6, "acknowledged_by", "someone-else", "village-official"),
        ("read_model", 6, "state.acknowledged_by", "someone-else", "village-official"),
        ("read_model", None, "official_id", "someone-else", "village-official"),  # tier_stints
    ]


async def test_a_deleted_event_is_named(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "deleted")
    await audit_stack.pool.execute("DELETE FROM events WHERE petition_id = 'deleted' AND seq = 3")
    report = await verify(audit_stack.env.client, audit_stack.pool, "deleted")
    by_check = {f.check: f for f in report.findings}
    assert _where([by_check[Check.CHAIN]]) == [("chain", 4, "seq", 3, 4)]
    assert by_check[Check.CHAIN].message == "seq 3 missing before seq 4: deleted"
    assert by_check[Check.FOLD].seq == 4
    assert _where([by_check[Check.HISTORY]]) == [("history", 3, None, "Assessed", None)]
    assert by_check[Check.HISTORY].message == (
        "seq 3 (Assessed) was written to the event log (its activity completed) but is missing from it"
    )


async def test_a_reordered_pair_is_named_seq_by_seq(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "swapped")
    async with audit_stack.pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE events SET seq = 100 WHERE petition_id = 'swapped' AND seq = 2")
        await conn.execute("UPDATE events SET seq = 2 WHERE petition_id = 'swapped' AND seq = 3")
        await conn.execute("UPDATE events SET seq = 3 WHERE petition_id = 'swapped' AND seq = 100")
    report = await verify(audit_stack.env.client, audit_stack.pool, "swapped")
    chain_findings = [(f.seq, f.field) for f in report.findings if f.check is Check.CHAIN]
    assert chain_findings == [(2, "prev_hash"), (2, "hash"), (3, "prev_hash"), (3, "hash"), (4, "prev_hash")]
    history = [(f.seq, f.field, f.expected, f.found) for f in report.findings if f.check is Check.HISTORY]
    assert (2, "type", "Acknowledged", "Assessed") in history
    assert (3, "type", "Assessed", "Acknowledged") in history


async def test_a_changed_read_model_row_names_the_column(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "row")
    await audit_stack.pool.execute(
        "UPDATE petitions SET stage = 'feedback', overdue = true WHERE petition_id = 'row'"
    )
    report = await verify(audit_stack.env.client, audit_stack.pool, "row")
    assert _where(report.findings) == [
        ("read_model", 6, "overdue", False, True),
        ("read_model", 6, "stage", "closed", "feedback"),
    ]
    assert report.findings[1].message == "petitions row: stage differs from the fold of the event log"


async def test_a_petition_moved_to_another_office_in_the_read_model_is_named(audit_stack: AuditStack) -> None:
    """The holding office's columns (migration 020) feed the work queues: they are the fold's too."""
    await happy_petition(audit_stack, "moved")
    held = await audit_stack.pool.fetchrow(
        "SELECT office_id, office_kind FROM petitions WHERE petition_id = 'moved'"
    )
    assert (held["office_id"], held["office_kind"]) == ("village:v-dongshan", "territorial")
    await audit_stack.pool.execute(
        "UPDATE petitions SET office_id = 'water-yishui', office_kind = 'department'"
        " WHERE petition_id = 'moved'"
    )
    report = await verify(audit_stack.env.client, audit_stack.pool, "moved")
    assert _where(report.findings) == [
        ("read_model", 6, "office_id", "village:v-dongshan", "water-yishui"),
        ("read_model", 6, "office_kind", "territorial", "department"),
    ]


async def test_a_workflow_change_that_breaks_determinism_names_the_petition_and_the_event() -> None:
    exported = read_export(GOLDEN / "v1" / "happy-path.json")  # its first command is an activity
    first_activity = next(
        e.event_id
        for e in histories(exported)[0].events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    report = await verify_export(exported, workflows=[ChangedPetitionWorkflow])
    assert [f.check for f in report.findings] == [Check.REPLAY]
    failure = report.findings[0]
    assert failure.history_event_id == first_activity
    assert failure.run_id == exported.runs[0].run_id
    assert failure.message.startswith(
        f"petition petition-golden-happy, run {exported.runs[0].run_id} does not replay against today's code"
        f" at history event {first_activity} (ActivityTaskScheduled): [TMPRL1100] Nondeterminism error"
    )
    assert (await verify_export(exported)).ok, "today's code replays the same history"


async def _rehash(pool: asyncpg.Pool, petition_id: str) -> None:
    """Recompute every hash of a petition's chain, as someone covering an edit would."""
    rows = await pool.fetch(
        "SELECT seq, type, version, at, actor, body FROM events WHERE petition_id = $1 ORDER BY seq",
        petition_id,
    )
    prev = chain.GENESIS
    for r in rows:
        data = chain.content(
            petition_id,
            r["seq"],
            r["type"],
            r["version"],
            r["at"],
            json.loads(r["actor"]),
            json.loads(r["body"]),
        )
        new = chain.link(prev, data)
        await pool.execute(
            "UPDATE events SET prev_hash = $3, hash = $4 WHERE petition_id = $1 AND seq = $2",
            petition_id,
            r["seq"],
            prev,
            new,
        )
        prev = new

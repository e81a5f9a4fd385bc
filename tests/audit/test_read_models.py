"""The read models households and promotions rely on are verified against the fold of the events."""

from __future__ import annotations

from petitionflow.audit import Check, Finding, verify, verify_export
from petitionflow.audit.exporting import export
from petitionflow.audit.verify import verify_all
from tests.audit.conftest import AuditStack, happy_petition


def _where(findings: list[Finding]) -> list[tuple[str | None, str | None, str | None, object, object]]:
    return [(f.table, f.row, f.field, f.expected, f.found) for f in findings]


async def test_an_untouched_petition_verifies_every_read_model_live_and_offline(
    audit_stack: AuditStack,
) -> None:
    await happy_petition(audit_stack, "clean")
    report = await verify(audit_stack.env.client, audit_stack.pool, "clean")
    assert (report.ok, report.findings, report.notes) == (True, [], [])
    exported = await export(audit_stack.env.client, audit_stack.pool, "clean")
    assert exported.tables is not None
    assert [len(exported.tables[t]) for t in ("echo_wall", "tier_stints", "notifications")] == [1, 1, 6]
    offline = await verify_export(exported)
    assert (offline.ok, offline.findings) == (True, [])


async def test_a_rewritten_echo_wall_row_is_named(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "wall")
    await audit_stack.pool.execute(
        "UPDATE echo_wall SET public_summary = 'Solved in a day.', on_time = true, rating = 'satisfied'"
        " WHERE petition_id = 'wall'"
    )
    await audit_stack.pool.execute("UPDATE echo_wall SET on_time = NOT on_time WHERE petition_id = 'wall'")
    report = await verify(audit_stack.env.client, audit_stack.pool, "wall")
    assert not report.ok
    assert {f.check for f in report.findings} == {Check.READ_MODEL}
    assert _where(report.findings) == [
        ("echo_wall", "wall/4", "on_time", True, False),
        ("echo_wall", "wall/4", "public_summary", "Bridge rebuilt.", "Solved in a day."),
    ]
    assert report.findings[1].message == (
        "echo_wall row wall/4: public_summary differs from the fold of the event log"
    )


async def test_a_falsified_figures_fact_is_named(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "stint")
    await audit_stack.pool.execute(
        "UPDATE tier_stints SET official_id = 'someone-else', deadlines_missed = 0, reopened = 0"
        " WHERE petition_id = 'stint'"
    )
    await audit_stack.pool.execute(
        "UPDATE tier_stints SET rating = 'dissatisfied' WHERE petition_id = 'stint'"
    )
    report = await verify(audit_stack.env.client, audit_stack.pool, "stint")
    assert _where(report.findings) == [
        ("tier_stints", "stint/1", "official_id", "village-official", "someone-else"),
        ("tier_stints", "stint/1", "rating", "satisfied", "dissatisfied"),
    ]


async def test_a_removed_and_an_invented_notification_are_named(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "told")
    await audit_stack.pool.execute(
        "DELETE FROM notifications WHERE petition_id = 'told' AND kind = 'resolution_to_petitioner'"
    )
    await audit_stack.pool.execute(
        "INSERT INTO notifications (petition_id, seq, recipient_role, recipient_id, kind, payload)"
        " VALUES ('told', 6, 'official', 'village-official', 'praise', '{}')"
    )
    report = await verify(audit_stack.env.client, audit_stack.pool, "told")
    assert [(f.table, f.row, f.expected, f.found) for f in report.findings] == [
        ("notifications", "told/4/petitioner/hh-0042", "resolution_to_petitioner", None),
        ("notifications", "told/6/official/village-official", None, "praise"),
    ]
    assert report.findings[0].message == (
        "notifications row told/4/petitioner/hh-0042 is owed by the events but missing: removed"
    )


async def test_the_same_checks_run_offline_on_a_tampered_export(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "file")
    exported = await export(audit_stack.env.client, audit_stack.pool, "file")
    assert exported.tables is not None
    tables = {t: [dict(r) for r in rows] for t, rows in exported.tables.items()}
    tables["echo_wall"][0]["outcome"] = "no_action_needed"
    tables["notifications"].pop()
    report = await verify_export(exported.model_copy(update={"tables": tables}))
    assert [(f.table, f.field) for f in report.findings] == [
        ("echo_wall", "outcome"),
        ("notifications", None),
    ]
    old = await verify_export(exported.model_copy(update={"tables": None, "superseded": None}))
    assert old.ok
    assert old.notes == [
        "the export holds no echo_wall, tier_stints or notifications rows: not compared",
        "the export holds no superseded_events rows: not audited",
    ]


async def test_the_sweep_checks_every_read_model(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "a")
    await happy_petition(audit_stack, "b")
    await audit_stack.pool.execute("UPDATE echo_wall SET days_to_resolve = 0.5 WHERE petition_id = 'b'")
    sweep = await verify_all(audit_stack.pool, client=audit_stack.env.client)
    assert [(r.petition_id, r.ok) for r in sweep.reports] == [("a", True), ("b", False)]
    assert _where(sweep.reports[1].findings)[0][:3] == ("echo_wall", "b/4", "days_to_resolve")


async def test_a_petition_deleted_from_the_log_is_still_swept_by_the_rows_it_left(
    audit_stack: AuditStack,
) -> None:
    await happy_petition(audit_stack, "erased")
    for table in ("events", "streams", "petitions", "echo_wall", "tier_stints"):
        await audit_stack.pool.execute(f"DELETE FROM {table} WHERE petition_id = 'erased'")
    sweep = await verify_all(audit_stack.pool, client=audit_stack.env.client)
    [report] = sweep.reports
    assert (report.petition_id, report.ok, report.events) == ("erased", False, 0)
    missing = [f for f in report.findings if f.check is Check.HISTORY]
    assert [f.seq for f in missing] == [1, 2, 3, 4, 5, 6]
    assert missing[0].message == (
        "seq 1 (PetitionFiled) was written to the event log (its activity completed) but is missing from it"
    )
    # The messages it owed are still in the outbox, and no event owes them any more.
    assert {f.table for f in report.findings if f.check is Check.READ_MODEL} == {"notifications"}

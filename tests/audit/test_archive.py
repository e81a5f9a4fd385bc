"""Histories outlive Temporal's retention: archived when the workflow ends, used when Temporal has
forgotten them."""

from __future__ import annotations

from petitionflow.audit import verify
from petitionflow.audit.archive import archive_finished
from petitionflow.audit.exporting import export
from petitionflow.audit.verify import verify_all
from petitionflow.dev.testing import time_skipping
from schemas.commands import RecordReturnVisitInput
from store import checkpoints as store
from tests.audit.conftest import AuditStack, happy_petition, settled
from tests.factories import contact_cadre, filing


async def test_an_ended_workflow_is_archived_and_verified_from_the_archive(audit_stack: AuditStack) -> None:
    await happy_petition(audit_stack, "ended")
    await audit_stack.petitions.act("ended", RecordReturnVisitInput(actor=contact_cadre(), held=True))
    assert await settled(audit_stack, "ended") == 7
    await audit_stack.petitions.file(filing("open"))
    handle = audit_stack.env.client.get_workflow_handle("petition-ended")
    await handle.result()
    assert await archive_finished(audit_stack.env.client, audit_stack.pool) == ["ended"]
    assert await archive_finished(audit_stack.env.client, audit_stack.pool) == []  # once
    [(run_id, _)] = await store.archived_runs(audit_stack.pool, "petition-ended")
    assert run_id == (await handle.describe()).run_id

    # A Temporal that no longer has it (as after the namespace's retention): another server.
    async with time_skipping() as forgetful:
        report = await verify(forgetful.client, audit_stack.pool, "ended")
        assert (report.ok, report.findings) == (True, [])
        assert report.runs == 1 and report.history_events == 7
        assert (
            report.notes[-1]
            == "Temporal no longer has the history: the archived one was replayed and compared"
        )
        exported = await export(forgetful.client, audit_stack.pool, "ended")
        assert exported.archived and exported.view is None
        sweep = await verify_all(audit_stack.pool, client=forgetful.client)
        by_id = {r.petition_id: r for r in sweep.reports}
        assert by_id["ended"].ok and by_id["ended"].runs == 1
        assert by_id["open"].runs == 0  # never archived: Temporal forgot it, and so does the audit

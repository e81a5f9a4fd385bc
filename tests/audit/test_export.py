"""Export and offline verification: a petition across several runs verifies as one, from a file alone."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

from temporalio.client import WorkflowHistory
from typer.testing import CliRunner

from petitionflow.audit import AuditExport, export, verify, verify_export, write_export
from petitionflow.cli._audit import audit_app
from schemas.commands import AcknowledgeInput, AssessInput, RateInput, RecordReturnVisitInput, ResolveInput
from schemas.common import AssessmentDecision, Outcome, Rating, Tier
from tests.audit.conftest import AuditStack, happy_petition, settled
from tests.factories import contact_cadre, filing, official, petitioner

runner = CliRunner()


async def _long_petition(stack: AuditStack, petition_id: str) -> int:
    """Four failed fixes with history_limit=50: the petition continues as new more than once."""
    actor = official(Tier.VILLAGE)
    await stack.petitions.file(filing(petition_id), history_limit=50)
    await stack.petitions.act(petition_id, AcknowledgeInput(actor=actor))
    await stack.petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    for _ in range(4):
        await stack.petitions.act(
            petition_id, ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="Fixed.")
        )
        await stack.petitions.act(petition_id, RateInput(actor=petitioner(), rating=Rating.SATISFIED))
        await stack.petitions.act(petition_id, RecordReturnVisitInput(actor=contact_cadre(), held=False))
        await stack.petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    return await settled(stack, petition_id)


async def test_a_petition_over_several_runs_exports_replays_and_verifies_as_one(
    audit_stack: AuditStack,
) -> None:
    seq = await _long_petition(audit_stack, "long")
    exported = await export(audit_stack.env.client, audit_stack.pool, "long")
    assert len(exported.runs) >= 2  # how many depends on how events batch; two already spans runs
    assert [e.seq for e in exported.events] == list(range(1, seq + 1))
    # Each run reads back with WorkflowHistory.from_json, and the runs link up first to last.
    loaded = [WorkflowHistory.from_json(exported.workflow_id, run.history) for run in exported.runs]
    assert [h.run_id for h in loaded] == [run.run_id for run in exported.runs]
    links = [
        h.events[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        for h in loaded[:-1]
    ]
    # Each link names the next run; Temporal's time-skipping server sometimes leaves the last one
    # empty, and the export still ends with the latest run.
    assert [link or following.run_id for link, following in zip(links, exported.runs[1:], strict=True)] == [
        run.run_id for run in exported.runs[1:]
    ]
    assert exported.view is not None and exported.view["seq"] == seq

    live = await verify(audit_stack.env.client, audit_stack.pool, "long")
    offline = await verify_export(exported)
    for report in (live, offline):
        assert (report.ok, report.findings, report.notes) == (True, [], [])
        assert (report.runs, report.events, report.history_events) == (len(exported.runs), seq, seq)


async def test_export_then_verify_offline_passes_and_a_tampered_file_fails(
    audit_stack: AuditStack, tmp_path: Path
) -> None:
    await happy_petition(audit_stack, "filed-away")
    path = tmp_path / "filed-away.json"
    write_export(await export(audit_stack.env.client, audit_stack.pool, "filed-away"), path)

    # The CLI, with no server configured to reach: --from needs none.
    ok = await asyncio.to_thread(runner.invoke, audit_app, ["verify", "--from", str(path), "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert (report["ok"], report["petition_id"], report["events"], report["findings"]) == (
        True,
        "filed-away",
        6,
        [],
    )

    tampered = json.loads(path.read_text())
    tampered["events"][4]["body"]["rating"] = "dissatisfied"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    failed = await asyncio.to_thread(runner.invoke, audit_app, ["verify", "--from", str(bad), "--json"])
    assert failed.exit_code == 1, failed.output
    findings = [(f["check"], f["seq"], f["field"]) for f in json.loads(failed.stdout)["findings"]]
    assert findings[:2] == [("chain", 5, "hash"), ("history", 5, "body.rating")]
    assert ("read_model", 6, "rating") in findings

    human = await asyncio.to_thread(runner.invoke, audit_app, ["verify", "--from", str(bad)])
    assert human.exit_code == 1
    assert "petition filed-away:" in human.stdout and "body.rating" in human.stdout


async def test_a_tampered_history_in_the_file_fails_too(audit_stack: AuditStack) -> None:
    """The history is evidence as well: an edited local activity result (what the event log
    acknowledged storing) no longer matches the stored row."""
    await happy_petition(audit_stack, "history-edit")
    exported = (await export(audit_stack.env.client, audit_stack.pool, "history-edit")).model_dump(
        mode="json"
    )
    marker = next(
        attributes
        for e in exported["runs"][0]["history"]["events"]
        if (attributes := e.get("markerRecordedEventAttributes", {})).get("markerName")
        == "core_local_activity"
        and b'"append_events"' in base64.b64decode(attributes["details"]["data"]["payloads"][0]["data"])
    )
    payload = marker["details"]["result"]["payloads"][0]
    batch = json.loads(base64.b64decode(payload["data"]))
    batch["stored"][0]["event"]["description"] = "Something else entirely."
    payload["data"] = base64.b64encode(json.dumps(batch).encode()).decode()

    report = await verify_export(AuditExport.model_validate(exported))
    assert [(f.check.value, f.seq, f.field, f.found) for f in report.findings] == [
        ("history", 1, "body.description", filing().description)
    ]
    assert report.findings[0].expected == "Something else entirely."

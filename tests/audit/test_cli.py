"""``petitionflow audit`` against the live servers: export, verify one, verify --all, exit codes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from petitionflow.audit import read_export
from petitionflow.cli._audit import audit_app
from tests.audit.conftest import AuditStack, happy_petition


async def _invoke(stack: AuditStack, database_url: str, *args: str) -> Result:
    env = {
        "PETITIONFLOW_TEMPORAL_ADDRESS": stack.env.client.service_client.config.target_host,
        "PETITIONFLOW_DATABASE_URL": database_url,
    }
    # In a thread: the CLI runs its own event loop while this one keeps the worker answering.
    return await asyncio.to_thread(CliRunner().invoke, audit_app, list(args), env=env)


async def test_export_verify_and_sweep_from_the_command_line(
    audit_stack: AuditStack, database_url: str, tmp_path: Path
) -> None:
    await happy_petition(audit_stack, "one")
    await happy_petition(audit_stack, "two")
    await audit_stack.pool.execute("UPDATE petitions SET rating = 'dissatisfied' WHERE petition_id = 'two'")

    out = tmp_path / "one.json"
    exported = await _invoke(audit_stack, database_url, "export", "one", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert [e.type for e in read_export(out).events][-2:] == ["FeedbackReceived", "Closed"]

    one = await _invoke(audit_stack, database_url, "verify", "one")
    assert one.exit_code == 0, one.output
    assert one.stdout.startswith("petition one: verified — 6 event(s), 1 run(s), checks: replay, chain,")

    sweep = await _invoke(audit_stack, database_url, "verify", "--all", "--json")
    assert sweep.exit_code == 1, sweep.output
    printed = json.loads(sweep.stdout)
    assert [(r["petition_id"], r["ok"]) for r in printed["reports"]] == [("one", True), ("two", False)]
    assert [
        (f["check"], f["field"], f["expected"], f["found"]) for f in printed["reports"][1]["findings"]
    ] == [("read_model", "rating", "satisfied", "dissatisfied")]
    assert printed["notes"] == [
        "Temporal cannot list workflows here: petitions known only to Temporal are not swept",
        "no checkpoint was taken yet: the log's growth was not checked",
    ]

    table = await _invoke(audit_stack, database_url, "verify", "--all", "--processes", "1")
    assert table.exit_code == 1
    assert "petitions with differences" in table.stdout and "two" in table.stdout

    alone = await _invoke(audit_stack, database_url, "verify", "one", "--processes", "2")
    assert (alone.exit_code, "--processes goes with --all" in alone.output) == (2, True)

    missing = await _invoke(audit_stack, database_url, "verify", "nobody")
    assert missing.exit_code == 2
    assert "not found in Temporal" in missing.output

    neither = await _invoke(audit_stack, database_url, "verify")
    assert (neither.exit_code, "give exactly one of" in neither.output) == (2, True)

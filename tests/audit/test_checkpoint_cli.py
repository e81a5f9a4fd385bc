"""The checkpoint round trip from the command line, and over HTTP for anyone holding the public key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from click.testing import Result
from typer.testing import CliRunner

from petitionflow.api.app import create_app
from petitionflow.audit.signing import Checkpoint
from petitionflow.cli._audit import audit_app
from tests.audit.conftest import AuditStack, happy_petition


async def _invoke(stack: AuditStack, database_url: str, *args: str, key: Path | None = None) -> Result:
    env = {
        "PETITIONFLOW_TEMPORAL_ADDRESS": stack.env.client.service_client.config.target_host,
        "PETITIONFLOW_DATABASE_URL": database_url,
    }
    if key is not None:
        env["PETITIONFLOW_CHECKPOINT_KEY_FILE"] = str(key)
    return await asyncio.to_thread(CliRunner().invoke, audit_app, list(args), env=env)


async def test_the_checkpoint_round_trip_from_the_command_line(
    audit_stack: AuditStack, database_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "checkpoint-key.pem"
    made = await _invoke(audit_stack, database_url, "keygen", key=key)
    assert made.exit_code == 0, made.output
    public = tmp_path / "checkpoint-key.pem.pub"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = await _invoke(audit_stack, database_url, "keygen", key=key)
    assert (again.exit_code, "exists" in again.output) == (2, True)

    await happy_petition(audit_stack, "mine")
    first = tmp_path / "first.json"
    taken = await _invoke(audit_stack, database_url, "checkpoint", "--out", str(first), key=key)
    assert taken.exit_code == 0, taken.output
    assert Checkpoint.model_validate_json(first.read_text()).tree_size > 0

    proof = tmp_path / "proof.json"
    proven = await _invoke(
        audit_stack, database_url, "proof", "mine", "--checkpoint", str(first), "-o", str(proof)
    )
    assert proven.exit_code == 0, proven.output
    offline = await _invoke(
        audit_stack,
        database_url,
        "verify",
        "--proof",
        str(proof),
        "--checkpoint",
        str(first),
        "--public-key",
        str(public),
    )
    assert offline.exit_code == 0, offline.output
    assert "petition mine:" in offline.stdout and "verified" in offline.stdout

    live = await _invoke(
        audit_stack, database_url, "verify", "mine", "--checkpoint", str(first), "--public-key", str(public)
    )
    assert live.exit_code == 0, live.output
    assert "checkpoint" in live.stdout.replace("\n", " ")

    await happy_petition(audit_stack, "theirs")
    second = tmp_path / "second.json"
    assert (await _invoke(audit_stack, database_url, "checkpoint", "-o", str(second), key=key)).exit_code == 0
    both = await _invoke(
        audit_stack,
        database_url,
        "verify",
        "--checkpoint",
        str(first),
        "--checkpoint",
        str(second),
        "--public-key",
        str(public),
    )
    assert both.exit_code == 0, both.output
    consistency = tmp_path / "consistency.json"
    written = await _invoke(
        audit_stack, database_url, "consistency", str(first), str(second), "-o", str(consistency)
    )
    assert written.exit_code == 0, written.output
    checked = await _invoke(
        audit_stack, database_url, "verify", "--consistency", str(consistency), "--public-key", str(public)
    )
    assert checked.exit_code == 0, checked.output

    # Another deployment's key: every proof is refused.
    other = tmp_path / "other.pem"
    assert (await _invoke(audit_stack, database_url, "keygen", "-o", str(other))).exit_code == 0
    refused = await _invoke(
        audit_stack,
        database_url,
        "verify",
        "--proof",
        str(proof),
        "--checkpoint",
        str(first),
        "--public-key",
        str(tmp_path / "other.pem.pub"),
        "--json",
    )
    assert refused.exit_code == 1
    assert [f["field"] for f in json.loads(refused.stdout)["findings"]] == ["signature"]

    # A tampered proof: one event's hash is not in the tree.
    document = json.loads(proof.read_text())
    document["events"][0]["hash"] = "00" * 32
    proof.write_text(json.dumps(document))
    tampered = await _invoke(
        audit_stack,
        database_url,
        "verify",
        "--proof",
        str(proof),
        "--checkpoint",
        str(first),
        "--public-key",
        str(public),
        "--json",
    )
    assert tampered.exit_code == 1
    assert [(f["seq"], f["field"]) for f in json.loads(tampered.stdout)["findings"]] == [
        (1, "hash"),
        (2, "prev_hash"),
    ]

    missing_key = await _invoke(audit_stack, database_url, "verify", "mine", "--checkpoint", str(first))
    assert (missing_key.exit_code, "need --public-key" in missing_key.output) == (2, True)


async def test_anyone_reads_the_checkpoints_and_a_petitions_proof_over_http(
    audit_stack: AuditStack, database_url: str, tmp_path: Path
) -> None:
    app = create_app(temporal_client=audit_stack.env.client, pool=audit_stack.pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pf.test") as http:
        none_yet = await http.get("/v1/audit/petitions/web/proof")
        assert none_yet.status_code == 404
        await happy_petition(audit_stack, "web")
        key = tmp_path / "k.pem"
        assert (await _invoke(audit_stack, database_url, "keygen", "-o", str(key))).exit_code == 0
        assert (await _invoke(audit_stack, database_url, "checkpoint", "--key", str(key))).exit_code == 0
        listed = await http.get("/v1/audit/checkpoints")
        assert listed.status_code == 200
        [published] = listed.json()
        (tmp_path / "cp.json").write_text(json.dumps(published))
        proof = await http.get("/v1/audit/petitions/web/proof")
        assert proof.status_code == 200
        assert proof.json()["checkpoint"] == published
        assert "body" not in proof.json()["events"][0] and "actor" not in proof.json()["events"][0]
        (tmp_path / "proof.json").write_text(proof.text)
        unknown = await http.get("/v1/audit/petitions/nobody/proof")
        assert unknown.status_code == 404
        wrong = await http.get("/v1/audit/checkpoints/consistency", params={"first": 5, "second": 1})
        assert wrong.status_code == 422 and "first" in wrong.json()["error"]["reason"]
    checked = await _invoke(
        audit_stack,
        database_url,
        "verify",
        "--proof",
        str(tmp_path / "proof.json"),
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--public-key",
        str(tmp_path / "k.pem.pub"),
    )
    assert checked.exit_code == 0, checked.output

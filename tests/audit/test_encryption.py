"""Encrypted payloads end to end: nothing personal in clear in Temporal, key rotation, audit with keys."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from click.testing import Result
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

import worker
from petitionflow.audit import Check, export, verify, verify_export, write_export
from petitionflow.audit.ghosts import sweep_ghosts
from petitionflow.audit.history import decoded, fetch_runs
from petitionflow.cli._audit import audit_app
from petitionflow.client import PetitionClient
from petitionflow.codec import Keyring, new_key
from petitionflow.converter import data_converter
from petitionflow.dev.testing import time_skipping
from schemas.commands import AcknowledgeInput, AssessInput, RateInput, RecordReturnVisitInput, ResolveInput
from schemas.common import AssessmentDecision, Outcome, Rating, Tier
from tests.factories import contact_cadre, filing, official, petitioner

KEY_A = new_key("key-a")
KEY_B = new_key("key-b", "sm4-gcm")
RING_A = Keyring([KEY_A], KEY_A.id)
RING_AB = RING_A.with_primary(KEY_B)
"""Key B became the primary; key A stays listed to read what was written under it."""

IN_CLEAR = ("Wang Fang", "139 0000 0042", "3 East Lane", "bridge on the east lane")
"""The petitioner's name, phone and address and the petition's text, as ``filing()`` writes them."""


@pytest.fixture
async def encrypted_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping(keyring=RING_A) as environment:
        yield environment


def _client(env: WorkflowEnvironment, keyring: Keyring | None) -> Client:
    """A client of the same server whose payloads go through ``keyring`` (none: the raw bytes)."""
    return Client(**{**env.client.config(), "data_converter": data_converter(keyring)})


async def _settled(petitions: PetitionClient, pool: asyncpg.Pool, petition_id: str) -> None:
    for _ in range(400):
        seq = (await petitions.view(petition_id)).seq
        if await pool.fetchval("SELECT max(seq) FROM events WHERE petition_id = $1", petition_id) == seq:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the event log of {petition_id} never caught up")


async def _take_to_closed(petitions: PetitionClient, petition_id: str) -> None:
    actor = official(Tier.VILLAGE)
    await petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        petition_id, ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="Bridge rebuilt.")
    )
    await petitions.act(petition_id, RateInput(actor=petitioner(), rating=Rating.SATISFIED))


async def test_the_raw_history_holds_nothing_personal_in_clear(
    encrypted_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    task_queue = str(uuid.uuid4())
    petitions = PetitionClient(encrypted_env.client, task_queue=task_queue)
    async with worker.build_worker(encrypted_env.client, pool, task_queue=task_queue, sandboxed=True):
        await petitions.file(filing("p-secret"))
        await petitions.act("p-secret", AcknowledgeInput(actor=official(Tier.VILLAGE)))
        await _take_to_closed(petitions, "p-secret")
        await _settled(petitions, pool, "p-secret")

    raw_runs = await fetch_runs(_client(encrypted_env, None), "petition-p-secret")
    raw = b"".join(event.SerializeToString() for run in raw_runs for event in run.events)
    assert [text for text in IN_CLEAR if text.encode() in raw] == []
    assert b"binary/encrypted" in raw and b"key-a" in raw

    # The same history decrypted: the personal data was there, under the codec.
    plain = await decoded(raw_runs, data_converter(RING_A))
    clear = b"".join(event.SerializeToString() for run in plain for event in run.events)
    assert [text for text in IN_CLEAR if text.encode() in clear] == list(IN_CLEAR)


async def test_petitions_filed_under_key_a_replay_and_verify_after_key_b_becomes_primary(
    encrypted_env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    task_queue = str(uuid.uuid4())
    before = PetitionClient(encrypted_env.client, task_queue=task_queue)
    # No sticky cache: the next worker gets the petition's tasks at once (the test server's clock
    # would hold them on this worker's sticky queue until its timeout passed in virtual time).
    async with worker.build_worker(encrypted_env.client, pool, task_queue=task_queue, max_cached_workflows=0):
        await before.file(filing("p-old"))
        await before.act("p-old", AcknowledgeInput(actor=official(Tier.VILLAGE)))
        await _settled(before, pool, "p-old")

    # Rotation: workers and clients restart with key B primary, key A still listed.
    rotated = _client(encrypted_env, RING_AB)
    after = PetitionClient(rotated, task_queue=task_queue)
    async with worker.build_worker(rotated, pool, task_queue=task_queue):
        await _take_to_closed(after, "p-old")
        await after.file(filing("p-new"))
        await _settled(after, pool, "p-old")
        await _settled(after, pool, "p-new")

        report = await verify(rotated, pool, "p-old")
        assert (report.ok, report.findings) == (True, [])
        assert Check.REPLAY in report.checked and report.events == 6
        exported = await export(rotated, pool, "p-old")
        assert exported.key_ids == ["key-a", "key-b"]
        assert (await export(rotated, pool, "p-new")).key_ids == ["key-b"]

    assert (await verify_export(exported, converter=data_converter(RING_AB))).ok

    # Without key A the old payloads do not decrypt, and the report says which key is missing.
    ring_b = Keyring([KEY_B], KEY_B.id)
    lacking = await verify_export(exported, converter=data_converter(ring_b))
    assert not lacking.ok
    assert lacking.findings[0].check is Check.HISTORY
    assert lacking.findings[0].message.startswith(
        "the history does not decrypt: payload encrypted with key 'key-a', which the keyring does not"
        " hold (it holds key-b)"
    )

    # Offline, from the command line: the export and a key file, no server.
    path, keys, only_b = tmp_path / "p-old.json", tmp_path / "keys.json", tmp_path / "only-b.json"
    write_export(exported, path)
    RING_AB.write(keys)
    ring_b.write(only_b)

    def invoke(*args: str) -> Result:  # in a thread: the CLI runs an event loop of its own
        return CliRunner().invoke(audit_app, list(args))

    ok = await asyncio.to_thread(invoke, "verify", "--from", str(path), "--keys", str(keys))
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("petition p-old: verified — 6 event(s), 1 run(s), checks: replay, chain,")
    no_keys = await asyncio.to_thread(invoke, "verify", "--from", str(path))
    assert no_keys.exit_code == 2
    assert "the export's histories are encrypted (keys key-a, key-b): pass --keys KEYFILE" in " ".join(
        no_keys.output.split()
    )
    short = await asyncio.to_thread(invoke, "verify", "--from", str(path), "--keys", str(only_b))
    assert short.exit_code == 2
    assert "lacks the key(s) key-a that the export's histories need" in " ".join(short.output.split())
    assert json.loads(path.read_text())["key_ids"] == ["key-a", "key-b"]


async def test_the_ghost_sweep_over_an_encrypted_history_supersedes_nothing_recorded(
    encrypted_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """With the codec on, a running petition's recorded rows are no ghosts. (The sweep decodes the
    history as the client does; for a running petition the workflow's view protects the rows too,
    so this guards the whole sweep, not the decoding alone.)"""
    task_queue = str(uuid.uuid4())
    petitions = PetitionClient(encrypted_env.client, task_queue=task_queue)
    async with worker.build_worker(encrypted_env.client, pool, task_queue=task_queue):
        await petitions.file(filing("p-swept"))
        await petitions.act("p-swept", AcknowledgeInput(actor=official(Tier.VILLAGE)))
        await _settled(petitions, pool, "p-swept")
        stored = await pool.fetchval("SELECT last_seq FROM streams WHERE petition_id = 'p-swept'")

        swept = await sweep_ghosts(encrypted_env.client, pool, older_than=timedelta(0))

    assert "p-swept" not in swept.superseded
    assert await pool.fetchval("SELECT count(*) FROM superseded_events WHERE petition_id = 'p-swept'") == 0
    assert await pool.fetchval("SELECT last_seq FROM streams WHERE petition_id = 'p-swept'") == stored


async def test_the_ghost_sweep_of_an_ended_encrypted_workflow_confirms_its_last_rows(
    encrypted_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """An ended workflow has no view to protect its rows: the sweep judges them by the history alone,
    so that history must be read decrypted. Its last task's rows, still tentative, are confirmed (read
    without the codec, none would match, and all would be swept as ghosts)."""
    task_queue = str(uuid.uuid4())
    petitions = PetitionClient(encrypted_env.client, task_queue=task_queue)
    async with worker.build_worker(encrypted_env.client, pool, task_queue=task_queue):
        await petitions.file(filing("p-ended"))
        await petitions.act("p-ended", AcknowledgeInput(actor=official(Tier.VILLAGE)))
        await _take_to_closed(petitions, "p-ended")
        await petitions.act("p-ended", RecordReturnVisitInput(actor=contact_cadre(), held=True))
        await encrypted_env.client.get_workflow_handle("petition-p-ended").result()
        await _settled(petitions, pool, "p-ended")
    head = await pool.fetchrow("SELECT last_seq, recorded_through FROM streams WHERE petition_id = 'p-ended'")
    assert head["last_seq"] == 7 and head["recorded_through"] < 7  # the last task's rows wait

    swept = await sweep_ghosts(encrypted_env.client, pool, older_than=timedelta(0))

    assert (swept.confirmed, swept.superseded, swept.waiting) == ({"p-ended": 7}, {}, [])
    assert await pool.fetchval("SELECT recorded_through FROM streams WHERE petition_id = 'p-ended'") == 7
    assert await pool.fetchval("SELECT count(*) FROM superseded_events WHERE petition_id = 'p-ended'") == 0
    report = await verify(encrypted_env.client, pool, "p-ended")
    assert (report.ok, report.findings) == (True, [])

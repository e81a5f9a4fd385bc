"""Workflow tests run the real Petition workflow on Temporal's time-skipping test server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from petitionflow.client import PetitionClient
from schemas.commands import PetitionerContact
from schemas.events import Envelope
from schemas.workflow import AppendEventsInput, AppendEventsResult
from workflows.petition import PetitionWorkflow


@dataclass
class FakeEventLog:
    """Stands in for the PostgreSQL append activity: keeps events in memory, idempotent by seq.

    With ``refuse_local`` it fails every local attempt, as a database that is down would; with
    ``stall_local`` it makes each local attempt wait that many seconds first, as a slow one would.
    """

    events: dict[str, list[Envelope]] = field(default_factory=dict)
    petitioners: dict[str, PetitionerContact] = field(default_factory=dict)
    calls: int = 0
    refuse_local: bool = False
    stall_local: float = 0.0

    async def _maybe_refuse(self) -> None:
        if activity.info().is_local:
            if self.refuse_local:
                raise ConnectionRefusedError("the event log is down (local attempts refused)")
            await asyncio.sleep(self.stall_local)

    @activity.defn(name="append_events")
    async def append_events(self, input: AppendEventsInput) -> AppendEventsResult:
        await self._maybe_refuse()
        self.calls += 1
        if input.petitioner is not None:
            self.petitioners.setdefault(input.petitioner.petitioner_id, input.petitioner)
        appended = duplicates = 0
        for envelope in input.events:
            stream = self.events.setdefault(envelope.petition_id, [])
            if envelope.seq <= len(stream):
                assert stream[envelope.seq - 1] == envelope, f"conflict at seq {envelope.seq}"
                duplicates += 1
            else:
                assert envelope.seq == len(stream) + 1, f"gap before seq {envelope.seq}"
                stream.append(envelope)
                appended += 1
        return AppendEventsResult(appended=appended, duplicates=duplicates, stored=tuple(input.events))

    @activity.defn(name="record_petitioner")
    async def record_petitioner(self, contact: PetitionerContact) -> None:
        await self._maybe_refuse()
        self.petitioners.setdefault(contact.petitioner_id, contact)

    def types(self, petition_id: str) -> list[str]:
        return [e.event.type for e in self.events.get(petition_id, [])]


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client
    petitions: PetitionClient
    log: FakeEventLog
    task_queue: str


@asynccontextmanager
async def running(
    env: WorkflowEnvironment, log: FakeEventLog, workflow: type = PetitionWorkflow
) -> AsyncIterator[Stack]:
    """A worker for ``workflow`` on a fresh task queue, storing into ``log``."""
    task_queue = str(uuid.uuid4())
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[workflow],
        activities=[log.append_events, log.record_petitioner],
    ):
        yield Stack(env, env.client, PetitionClient(env.client, task_queue=task_queue), log, task_queue)


@pytest.fixture
async def stack(env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    """A worker on a fresh task queue with an in-memory event log."""
    async with running(env, FakeEventLog()) as started:
        yield started

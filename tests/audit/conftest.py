"""Audit tests: the real workflow and the real event log (time-skipping Temporal, PostgreSQL 18)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow.client import PetitionClient
from schemas.commands import AcknowledgeInput, AssessInput, RateInput, ResolveInput
from schemas.common import AssessmentDecision, Outcome, Rating, Tier
from tests.factories import filing, official, petitioner

__all__ = ["AuditStack", "happy_petition", "settled"]


@dataclass
class AuditStack:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    petitions: PetitionClient


@pytest.fixture
async def audit_stack(env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[AuditStack]:
    """A worker with the real event-log activity on a fresh task queue and database."""
    task_queue = str(uuid.uuid4())
    async with worker.build_worker(env.client, pool, task_queue=task_queue):
        yield AuditStack(env, pool, PetitionClient(env.client, task_queue=task_queue))


async def settled(stack: AuditStack, petition_id: str) -> int:
    """Wait until the event log holds every event of the workflow's view; the seq reached."""
    for _ in range(400):
        seq = (await stack.petitions.view(petition_id)).seq
        stored = await stack.pool.fetchval(
            "SELECT coalesce(max(seq), 0) FROM events WHERE petition_id = $1", petition_id
        )
        if stored == seq:
            return seq
        await asyncio.sleep(0.05)
    raise AssertionError(f"the event log of {petition_id} never caught up with the workflow")


async def happy_petition(stack: AuditStack, petition_id: str) -> int:
    """File ``petition_id`` and take it to closed-satisfied at the village; the seq reached (6)."""
    actor = official(Tier.VILLAGE)
    await stack.petitions.file(filing(petition_id))
    await stack.petitions.act(petition_id, AcknowledgeInput(actor=actor))
    await stack.petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    await stack.petitions.act(
        petition_id, ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="Bridge rebuilt.")
    )
    await stack.petitions.act(petition_id, RateInput(actor=petitioner(), rating=Rating.SATISFIED))
    return await settled(stack, petition_id)

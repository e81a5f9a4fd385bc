"""People and places change while petitions are open: a re-import with a merger map, and a cadre's
households reassigned. The real workflow on the time-skipping server, the real store and read models;
the directory written as SQL rows (tests/directory.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow.changes import notify_open
from petitionflow.client import PetitionClient, Refusal
from schemas.commands import AcknowledgeInput, AssessInput, DirectoryChangeInput
from schemas.common import Actor, AssessmentDecision, RefusalCode, Tier
from schemas.events import ContactCadreChanged, RegionRenamed
from schemas.workflow import workflow_id
from store import auth, eventlog
from tests import directory
from tests.directory import DONGSHAN, TOWNSHIP, XISHAN, Directory
from tests.factories import REGION, filing
from tests.workflows.conftest import Stack
from workflows import search
from workflows.petition import DIRECTORY_CHANGES


@asynccontextmanager
async def _petitions(env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[PetitionClient]:
    task_queue = str(uuid.uuid4())
    async with worker.build_worker(env.client, pool, task_queue=task_queue, sandboxed=True):
        yield PetitionClient(env.client, pool=pool, task_queue=task_queue)


async def _in_read_model(pool: asyncpg.Pool, petition_id: str, seq: int) -> None:
    for _ in range(400):
        last = await pool.fetchval("SELECT last_seq FROM petitions WHERE petition_id = $1", petition_id)
        if last is not None and last >= seq:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"the read model never reached seq {seq} of {petition_id}")


async def _roster_actor(pool: asyncpg.Pool, person_id: str) -> Actor:
    found = await auth.roster_actor(pool, person_id)
    assert found is not None
    return found[0]


async def test_after_a_merger_an_official_of_the_merged_village_acts_on_its_open_petition(
    env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await directory.insert(pool, 1)
    old_token = await auth.issue_token(pool, await _roster_actor(pool, "li-village"))
    merged = Directory(
        villages={XISHAN: TOWNSHIP},
        households={"hh-0042": (XISHAN, "cadre-zhang")},
        people={
            "cadre-zhang": ("cadre", f"o-{XISHAN}"),
            "li-xishan": ("official", f"o-{XISHAN}"),
            "wu-township": ("official", f"o-{TOWNSHIP}"),
        },
        duty={XISHAN: "cadre-zhang"},
        successors={DONGSHAN: XISHAN},
    )
    async with _petitions(env, pool) as petitions:
        await petitions.file(filing("merge-1"))
        await _in_read_model(pool, "merge-1", 1)
        stranger = Actor.official("li-xishan", Tier.VILLAGE, XISHAN)
        with pytest.raises(Refusal) as before:  # before the re-import, Xishan has no say over it
            await petitions.act("merge-1", AcknowledgeInput(actor=stranger))
        assert before.value.code is RefusalCode.WRONG_REGION

        await directory.insert(pool, 2, merged)
        notified = await notify_open(pool, petitions)
        again = await notify_open(pool, petitions)

        successor = await _roster_actor(pool, "li-xishan")
        view = await petitions.act("merge-1", AcknowledgeInput(actor=successor))
        view = await petitions.act(
            "merge-1", AssessInput(actor=successor, decision=AssessmentDecision.ACCEPT)
        )
        history = await env.client.get_workflow_handle(workflow_id("merge-1")).fetch_history()
        await _in_read_model(pool, "merge-1", view.seq)
        listed_under_successor = await petitions.list_petitions(region_id=XISHAN)
        listed_under_filed = await petitions.list_petitions(region_id=DONGSHAN)

    assert (notified.version, notified.changed, notified.unchanged) == (2, {"merge-1": ["RegionRenamed"]}, 0)
    assert notified.revoked == ["li-village"]  # Dongshan's committee is gone from the roster
    assert await auth.authenticate(pool, old_token) is None
    assert (again.changed, again.unchanged) == ({}, 1)  # told once: nothing differs any more
    assert (view.region, view.answering, view.acknowledged_by) == (
        REGION,
        REGION.model_copy(update={"village": XISHAN}),
        "li-xishan",
    )
    assert [r.petition_id for r in listed_under_successor] == ["merge-1"]  # Xishan's officials find it
    assert [r.petition_id for r in listed_under_filed] == ["merge-1"]
    stored = [e.event for e in await eventlog.read_events(pool, "merge-1")]
    (renamed,) = [e for e in stored if isinstance(e, RegionRenamed)]
    assert (renamed.renamed, renamed.directory_version, renamed.actor.role.value) == (
        {DONGSHAN: XISHAN},
        2,
        "system",
    )
    patches = [
        e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert f'{{"id":"{DIRECTORY_CHANGES}","deprecated":false}}'.encode() in patches
    outbox = await pool.fetch("SELECT recipient_id, kind FROM notifications WHERE petition_id = 'merge-1'")
    assert ("village:" + XISHAN, "region_renamed") in [(r["recipient_id"], r["kind"]) for r in outbox]


async def test_a_cadres_households_reassigned_while_a_petition_is_open(
    env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await directory.insert(pool, 1)
    reassigned = Directory()
    reassigned.households["hh-0042"] = (DONGSHAN, "cadre-wang")
    reassigned.people["cadre-wang"] = ("cadre", f"o-{DONGSHAN}")
    async with _petitions(env, pool) as petitions:
        await petitions.file(filing("cadre-1"))
        await _in_read_model(pool, "cadre-1", 1)

        await directory.insert(pool, 2, reassigned)
        notified = await notify_open(pool, petitions)

        former = await _roster_actor(pool, "cadre-zhang")  # still a cadre of Dongshan, other households
        with pytest.raises(Refusal) as refused:
            await petitions.act("cadre-1", AcknowledgeInput(actor=former))
        new = await _roster_actor(pool, "cadre-wang")
        view = await petitions.act("cadre-1", AcknowledgeInput(actor=new))
        await _in_read_model(pool, "cadre-1", view.seq)

    assert notified.changed == {"cadre-1": ["ContactCadreChanged"]}
    assert (refused.value.code, refused.value.reason) == (
        RefusalCode.NOT_AN_OFFICIAL,
        "cadre-zhang is no longer the household's contact cadre (cadre-wang is, since the directory changed)",
    )
    assert (view.contact_cadre_id, view.acknowledged_by) == ("cadre-wang", "cadre-wang")
    stored = [e.event for e in await eventlog.read_events(pool, "cadre-1")]
    assert [e.type for e in stored] == ["PetitionFiled", "ContactCadreChanged", "Acknowledged"]
    changed = stored[1]
    assert isinstance(changed, ContactCadreChanged)
    assert (changed.from_cadre_id, changed.to_cadre_id, changed.directory_version) == (
        "cadre-zhang",
        "cadre-wang",
        2,
    )
    row = await pool.fetchrow("SELECT contact_cadre_id FROM petitions WHERE petition_id = 'cadre-1'")
    assert row["contact_cadre_id"] == "cadre-wang"
    told = await pool.fetch(
        "SELECT recipient_id FROM notifications WHERE petition_id = 'cadre-1' AND kind = 'cadre_assigned'"
    )
    assert [r["recipient_id"] for r in told] == ["cadre-wang"]


async def test_the_successor_path_stays_listed_in_temporal_across_continue_as_new(stack: Stack) -> None:
    await stack.petitions.file(filing("renamed-long"), history_limit=50)
    handle = stack.petitions.handle("renamed-long")
    merged = REGION.model_copy(update={"village": XISHAN})
    system = Actor.system()
    await stack.petitions.directory_changed(
        "renamed-long", DirectoryChangeInput(actor=system, directory_version=2, answering=merged)
    )
    listed = (await handle.describe()).typed_search_attributes.get(search.REGION)
    for version in range(3, 23):  # households reassigned back and forth: a long history
        cadre = "cadre-a" if version % 2 else "cadre-b"
        await stack.petitions.directory_changed(
            "renamed-long",
            DirectoryChangeInput(actor=system, directory_version=version, contact_cadre_id=cadre),
        )

    latest = (await handle.fetch_history()).events
    carried = json.loads(latest[0].workflow_execution_started_event_attributes.input.payloads[0].data)
    after = (await handle.describe()).typed_search_attributes.get(search.REGION)
    view = await stack.petitions.view("renamed-long")

    assert listed == [*[REGION.at(t) for t in Tier], XISHAN]
    assert carried["filing"] is None, "the petition should have continued as new"
    assert after == listed
    assert (view.answering, view.contact_cadre_id, view.former_contact_cadres) == (
        merged,
        "cadre-b",
        ("cadre-zhang", "cadre-a"),
    )

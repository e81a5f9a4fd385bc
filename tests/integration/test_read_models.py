"""Read models written with each append equal a rebuild from the log; the echo wall stays public."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from schemas.commands import (
    AssessInput,
    EscalateInput,
    ProvideInfoInput,
    RecordReturnVisitInput,
    WithdrawInput,
)
from schemas.common import Actor, AssessmentDecision, Outcome, Rating, Stage, Tier, Urgency
from store import rebuild
from store.eventlog import append, record_petitioner
from store.models import RebuildResult
from store.queries import echo_wall, get_petition, list_petitions
from store.rebuild import dump_read_models, rebuild_read_models
from tests.integration.story import (
    ADDRESS,
    CADRE_ID,
    COMMENT,
    DESCRIPTION,
    NAME,
    OTHER_REGION,
    PHONE,
    T0,
    Story,
)


def _mix() -> list[Story]:
    """Escalations (automatic and explicit), resolutions, ratings, a reopen, return visits, info."""
    happy = Story("p-happy")
    happy.acknowledge()
    happy.accept()
    happy.resolve(after=timedelta(days=2))
    happy.rate(Rating.SATISFIED, comment=COMMENT)
    happy.wait(timedelta(days=31))  # ReturnVisitDue
    happy.act(RecordReturnVisitInput(actor=Actor.contact_cadre(CADRE_ID, happy.region.village), held=True))

    auto = Story("p-auto", at=T0 + timedelta(minutes=10))
    auto.wait(timedelta(days=2))  # reminders, respond deadline missed, escalated to the township
    auto.acknowledge()
    auto.accept()
    auto.resolve(after=timedelta(days=3))
    auto.rate(Rating.DISSATISFIED, comment=COMMENT)  # reopened at the township
    auto.resolve(after=timedelta(days=2), outcome=Outcome.NOT_FEASIBLE)
    auto.rate(Rating.BASICALLY_SATISFIED)

    explicit = Story("p-explicit", at=T0 + timedelta(minutes=20), region=OTHER_REGION)
    explicit.acknowledge()
    reason = "needs the county's roads budget"
    explicit.act(
        AssessInput(actor=explicit.official(), decision=AssessmentDecision.BEYOND_TIER, reason=reason)
    )
    explicit.acknowledge()
    explicit.act(EscalateInput(actor=explicit.official(), reason="a county matter"))
    explicit.acknowledge()
    explicit.accept()
    explicit.resolve(after=timedelta(days=5))
    explicit.wait(timedelta(days=8))  # feedback window passes: closed unrated
    explicit.wait(timedelta(days=31))  # return visit due
    cadre = Actor.contact_cadre(CADRE_ID, explicit.region.village)
    explicit.act(RecordReturnVisitInput(actor=cadre, held=False, note="the road washed out again"))

    info = Story("p-info", at=T0 + timedelta(minutes=30), urgency=Urgency.URGENT)
    info.acknowledge(after=timedelta(minutes=30))
    question = "which section of the lane?"
    info.act(AssessInput(actor=info.official(), decision=AssessmentDecision.NEEDS_INFO, reason=question))
    info.act(ProvideInfoInput(actor=info.petitioner, info="between houses 3 and 9"), after=timedelta(hours=3))
    info.act(WithdrawInput(actor=info.petitioner, reason="my neighbours fixed it"))

    top = Story("p-top", at=T0 + timedelta(minutes=40), tier=Tier.CITY)
    top.wait(timedelta(days=5))  # respond deadline missed at the top: overdue, reminded daily
    return [happy, auto, explicit, info, top]


async def _append_in_batches(pool: asyncpg.Pool, stories: list[Story]) -> None:
    """One call per story step of three events, interleaving petitions as a busy worker would."""
    longest = max(len(s.envelopes) for s in stories)
    for start in range(0, longest, 3):
        batch = [e for s in stories for e in s.envelopes[start : start + 3]]
        await append(pool, batch)


async def test_read_models_equal_a_rebuild_from_the_log(pool: asyncpg.Pool) -> None:
    stories = _mix()
    await _append_in_batches(pool, stories)
    written = await dump_read_models(pool)
    assert {table: len(rows) > 0 for table, rows in written.items()} == {
        "petitions": True,
        "tier_stints": True,
        "echo_wall": True,
        "notifications": True,
        "office_facts": False,  # no office in this mix: tests/integration/test_office_figures.py
    }
    events = sum(len(s.envelopes) for s in stories)
    progress: list[RebuildResult] = []
    result = await rebuild_read_models(pool, on_progress=progress.append)
    assert result == RebuildResult(petitions=5, events=events)
    assert progress[-1] == result
    assert await dump_read_models(pool) == written

    # From nothing: the outbox rows come back too (and nothing is doubled when they are there).
    await pool.execute("TRUNCATE petitions, tier_stints, echo_wall, notifications")
    await rebuild_read_models(pool)
    assert await dump_read_models(pool) == written


async def test_a_rebuild_in_worker_processes_writes_the_same_rows(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers refolding slices of one petition each in the rebuild's snapshot write what the
    appends wrote, and what a rebuild in one process writes, the missing outbox rows included."""
    monkeypatch.setattr(rebuild, "SLICE_EVENTS", 8)  # about a petition a slice
    monkeypatch.setattr(rebuild, "WORKER_EVENTS", 1)  # workers however small the log
    stories = _mix()
    await _append_in_batches(pool, stories)
    written = await dump_read_models(pool)
    progress: list[RebuildResult] = []
    result = await rebuild_read_models(pool, on_progress=progress.append, workers=2, dsn=database_url)
    events = sum(len(s.envelopes) for s in stories)
    assert result == RebuildResult(petitions=5, events=events)
    assert [p.petitions for p in progress] == [1, 2, 3, 4, 5, 5]
    assert await dump_read_models(pool) == written

    await pool.execute("TRUNCATE petitions, tier_stints, echo_wall, notifications")
    await rebuild_read_models(pool, workers=2, dsn=database_url)
    in_workers = await dump_read_models(pool)
    await pool.execute("TRUNCATE petitions, tier_stints, echo_wall, notifications")
    await rebuild_read_models(pool)
    assert in_workers == written
    assert await dump_read_models(pool) == written


async def test_a_worker_that_cannot_fold_its_slice_leaves_the_read_models_as_they_were(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rebuild, "SLICE_EVENTS", 8)
    monkeypatch.setattr(rebuild, "WORKER_EVENTS", 1)
    await _append_in_batches(pool, _mix())
    before = await dump_read_models(pool)
    await pool.execute("UPDATE events SET seq = 99 WHERE petition_id = 'p-info' AND seq = 3")
    with pytest.raises(ValueError, match=r"^event 4 folded where 3 was due$"):
        await rebuild_read_models(pool, workers=2, dsn=database_url)
    assert await dump_read_models(pool) == before


async def test_each_petition_row_holds_the_deciders_fold(pool: asyncpg.Pool) -> None:
    stories = _mix()
    await _append_in_batches(pool, stories)
    for story in stories:
        row = await get_petition(pool, story.petition_id)
        assert row is not None
        assert row.state == story.current
        assert (row.tier, row.stage, row.last_seq) == (
            story.current.tier,
            story.current.stage,
            story.current.seq,
        )
    top = await get_petition(pool, "p-top")
    assert top is not None and top.overdue is True and top.current_deadline == top.state.resolve_by
    stints = await pool.fetch(
        "SELECT petition_id, stint_no, tier, escalated, escalated_automatically FROM tier_stints"
        " WHERE petition_id IN ('p-auto', 'p-explicit') ORDER BY petition_id, stint_no"
    )
    assert [tuple(r) for r in stints] == [
        ("p-auto", 1, "village", True, True),
        ("p-auto", 2, "township", False, False),
        ("p-explicit", 1, "village", True, False),
        ("p-explicit", 2, "township", True, False),
        ("p-explicit", 3, "county", False, False),
    ]


async def test_list_petitions_filters_and_pages_by_id(pool: asyncpg.Pool) -> None:
    await _append_in_batches(pool, _mix())

    async def ids(**filters: object) -> list[str]:
        return [p.petition_id for p in await list_petitions(pool, **filters)]  # type: ignore[arg-type]

    assert await ids() == ["p-auto", "p-explicit", "p-happy", "p-info", "p-top"]
    assert await ids(limit=2) == ["p-auto", "p-explicit"]
    assert await ids(limit=2, after="p-explicit") == ["p-happy", "p-info"]
    assert await ids(tier=Tier.TOWNSHIP) == ["p-auto"]
    assert await ids(tier=Tier.COUNTY, stage=Stage.ASSESS) == ["p-explicit"]
    assert await ids(overdue=True) == ["p-top"]
    assert await ids(region_id=OTHER_REGION.county) == ["p-explicit"]
    assert await ids(region_id="v-dongshan", stage=Stage.CLOSED) == ["p-auto", "p-happy", "p-info"]
    assert await ids(official_id="county-official") == ["p-explicit"]


async def test_the_echo_wall_carries_no_personal_data(pool: asyncpg.Pool) -> None:
    stories = _mix()
    for story in stories:
        await record_petitioner(pool, story.contact)
    await _append_in_batches(pool, stories)
    entries = await echo_wall(pool, limit=100)
    assert [(e.petition_id, e.seq, e.tier, e.outcome, e.rating) for e in entries] == [
        ("p-auto", 12, Tier.TOWNSHIP, Outcome.NOT_FEASIBLE, Rating.BASICALLY_SATISFIED),
        ("p-explicit", 9, Tier.COUNTY, Outcome.RESOLVED, None),
        ("p-auto", 9, Tier.TOWNSHIP, Outcome.RESOLVED, Rating.DISSATISFIED),
        ("p-happy", 4, Tier.VILLAGE, Outcome.RESOLVED, Rating.SATISFIED),
    ]
    happy = entries[-1]
    assert (happy.days_to_resolve, happy.on_time, happy.category) == (2.08, True, "roads")
    raw = await pool.fetch("SELECT echo_wall::text AS row FROM echo_wall")
    secrets = [NAME, PHONE, ADDRESS, DESCRIPTION, COMMENT, "hh-p-", "Wang", "139", "East Lane"]
    for row in raw:
        for secret in secrets:
            assert secret not in row["row"]
    columns = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'echo_wall'"
        " ORDER BY ordinal_position"
    )
    assert [c["column_name"] for c in columns] == [
        "petition_id",
        "seq",
        "tier",
        "village_id",
        "township_id",
        "county_id",
        "city_id",
        "category",
        "outcome",
        "public_summary",
        "resolved_at",
        "days_to_resolve",
        "on_time",
        "rating",
    ]
    assert [e.petition_id for e in await echo_wall(pool, region_id=OTHER_REGION.village)] == ["p-explicit"]
    assert [e.seq for e in await echo_wall(pool, tier=Tier.VILLAGE)] == [4]

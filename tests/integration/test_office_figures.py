"""Figures by office (issue 12) on PostgreSQL: dispatch time, timely receipt, send-backs and summons
from ``office_facts``, the existing rates from the stints of each holding office, and a rebuild that
gives the same rows as the appends did."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from schemas.commands import AnswerSummonsInput, DispatchInput, SendBackInput, SignForInput, SummonInput
from schemas.events import Envelope
from schemas.offices import OfficeRef
from store.eventlog import append
from store.queries import figures
from store.rebuild import dump_read_models, rebuild_read_models
from tests.unit._offices import CENTRE, CHAINS, ROADS, TOWNSHIP, WATER, at_centre, staff
from tests.unit._petitions import T0, Petition, filing

MINUTE = timedelta(minutes=1)


def dispatch(office: OfficeRef) -> DispatchInput:
    return DispatchInput(actor=staff(CENTRE), office=office, chain=CHAINS[office.office_id])


def envelopes(petition: Petition) -> list[Envelope]:
    pid = petition.state.petition_id
    return [Envelope(petition_id=pid, seq=i, event=e) for i, e in enumerate(petition.history, start=1)]


async def offices_at_work(pool: asyncpg.Pool, prefix: str = "f") -> None:
    """A: dispatched after 4 minutes to the water bureau, which sends it back; then to the
    township after 10 more (on time), which signs for it and summons the bureaus: water answers,
    roads misses. B: the centre lets its hour pass, dispatches after 90 minutes to roads, which
    lets its sign-for limit pass. C: filed before offices (the village's government). Petitions
    ``<prefix>-a``, ``-b`` and ``-c``, decided by the pure decider and appended to the log."""
    a = at_centre(petition_id=f"{prefix}-a")
    a.act(dispatch(WATER), T0 + 4 * MINUTE)
    a.act(SendBackInput(actor=staff(WATER), reason="A road."), T0 + 20 * MINUTE)
    a.act(dispatch(TOWNSHIP), T0 + 30 * MINUTE)
    a.act(SignForInput(actor=staff(TOWNSHIP)), T0 + 40 * MINUTE)
    a.act(SummonInput(actor=staff(TOWNSHIP), offices=(WATER, ROADS)), T0 + 50 * MINUTE)
    a.act(AnswerSummonsInput(actor=staff(WATER), part="Pump."), T0 + 60 * MINUTE)
    a.wait_until(T0 + 90 * MINUTE)

    b = at_centre(petition_id=f"{prefix}-b", at=T0 + MINUTE)
    b.wait_until(T0 + 91 * MINUTE)
    b.act(dispatch(ROADS), T0 + 91 * MINUTE)
    b.wait_until(T0 + 4 * 60 * MINUTE)

    c = Petition(filing(petition_id=f"{prefix}-c"), at=T0)
    await append(pool, envelopes(a) + envelopes(b) + envelopes(c))


async def test_figures_by_office(pool: asyncpg.Pool) -> None:
    await offices_at_work(pool)

    rows = {row.group: row for row in await figures(pool, "office")}

    assert sorted(str(group) for group in rows) == sorted(
        ["centre-yishui", "water-yishui", "roads-yishui", "township:t-xujiahu", "village:v-dongli"]
    )
    centre = rows["centre-yishui"].office
    assert centre is not None
    assert (centre.office_kind, centre.dispatched, centre.dispatched_on_time) == ("centre", 3, 2)
    # 4 minutes, 10 minutes (from the send-back), 90 minutes (from filing at +1)
    assert centre.average_dispatch_minutes == (4 + 10 + 90) / 3
    assert centre.dispatch_on_time_rate == 2 / 3
    water = rows["water-yishui"].office
    assert water is not None
    assert (water.received, water.signed_for, water.sent_back, water.send_back_rate) == (1, 0, 1, 1.0)
    assert (water.summoned, water.summons_answered_on_time, water.summons_on_time_rate) == (1, 1, 1.0)
    roads = rows["roads-yishui"].office
    assert roads is not None
    assert (roads.received, roads.sign_for_missed, roads.timely_receipt_rate) == (1, 1, 0.0)
    assert (roads.summoned, roads.summons_missed, roads.summons_on_time_rate) == (1, 1, 0.0)
    township = rows["township:t-xujiahu"]
    assert township.office is not None and township.office.timely_receipt_rate == 1.0
    assert (township.stints, township.responded_on_time, township.response_rate) == (1, 1, 1.0)
    # The petition filed before offices counts for its village's government, with no office facts.
    village = rows["village:v-dongli"]
    assert (village.stints, village.office) == (1, None)


async def test_a_rebuild_gives_the_office_facts_the_appends_gave(pool: asyncpg.Pool) -> None:
    await offices_at_work(pool)
    appended = await dump_read_models(pool)

    await rebuild_read_models(pool)

    rebuilt = await dump_read_models(pool)
    assert len(appended["office_facts"]) == 13  # A: 10, B: 3, C: none
    assert rebuilt == appended

"""Figures by tier, region and official, on a hand-built scenario whose answers are known."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from schemas.common import Rating, Tier
from store.eventlog import append
from store.models import FigureRow
from store.queries import figures
from tests.integration.story import CADRE_ID, OTHER_REGION, REGION, T0, Story


async def _scenario(pool: asyncpg.Pool) -> None:
    """A: answered at the village, on time, rated satisfied. B: the village misses its respond
    deadline and it escalates automatically; the township resolves it on time, unrated.
    C: filed at the city, acknowledged, resolved two days past its resolve deadline, rated
    dissatisfied, so it is reopened."""
    a = Story("p-a")
    a.acknowledge()
    a.accept()
    a.resolve(after=timedelta(days=2))
    a.rate(Rating.SATISFIED)

    b = Story("p-b", at=T0 + timedelta(minutes=1))
    b.wait(timedelta(days=1, hours=1))
    b.acknowledge()
    b.accept()
    b.resolve(after=timedelta(days=1))

    c = Story("p-c", at=T0 + timedelta(minutes=2), region=OTHER_REGION, tier=Tier.CITY)
    c.acknowledge()
    c.accept()
    c.resolve(after=timedelta(days=32))
    c.rate(Rating.DISSATISFIED)
    await append(pool, a.envelopes + b.envelopes + c.envelopes)


def _row(group: str | None, **counts: int) -> FigureRow:
    n = {
        k: counts.get(k, 0)
        for k in (
            "petitions",
            "stints",
            "responded_on_time",
            "resolved",
            "resolved_on_time",
            "rated",
            "satisfied",
            "escalated",
            "escalated_automatically",
            "reopened",
            "deadlines_missed",
        )
    }

    def rate(part: str, whole: str) -> float | None:
        return None if n[whole] == 0 else n[part] / n[whole]

    return FigureRow(
        group=group,
        **n,
        response_rate=rate("responded_on_time", "stints"),
        resolution_rate=rate("resolved", "stints"),
        on_time_rate=rate("resolved_on_time", "resolved"),
        satisfaction_rate=rate("satisfied", "rated"),
        escalation_rate=rate("escalated", "stints"),
        reopen_rate=rate("reopened", "resolved"),
    )


VILLAGE = _row(
    "village",
    petitions=2,
    stints=2,
    responded_on_time=1,
    resolved=1,
    resolved_on_time=1,
    rated=1,
    satisfied=1,
    escalated=1,
    escalated_automatically=1,
    deadlines_missed=1,
)
TOWNSHIP = _row("township", petitions=1, stints=1, responded_on_time=1, resolved=1, resolved_on_time=1)
CITY = _row(
    "city", petitions=1, stints=1, responded_on_time=1, resolved=1, rated=1, reopened=1, deadlines_missed=1
)


async def test_figures_by_tier(pool: asyncpg.Pool) -> None:
    await _scenario(pool)
    assert await figures(pool, "tier") == [VILLAGE, TOWNSHIP, CITY]
    village, township, city = VILLAGE, TOWNSHIP, CITY
    # The same answers, spelled out.
    assert (village.response_rate, village.resolution_rate, village.on_time_rate) == (0.5, 0.5, 1.0)
    assert (village.satisfaction_rate, village.escalation_rate, village.reopen_rate) == (1.0, 0.5, 0.0)
    assert (township.satisfaction_rate, township.escalation_rate) == (None, 0.0)
    assert (city.on_time_rate, city.satisfaction_rate, city.reopen_rate) == (0.0, 0.0, 1.0)


async def test_figures_by_region_and_official(pool: asyncpg.Pool) -> None:
    await _scenario(pool)
    by_region = await figures(pool, "region")
    assert [(r.group, r.stints, r.response_rate) for r in by_region] == [
        (REGION.township, 1, 1.0),
        (REGION.village, 2, 0.5),
        (OTHER_REGION.city, 1, 1.0),
    ]
    by_official = await figures(pool, "official")
    assert [(r.group, r.stints, r.deadlines_missed, r.satisfaction_rate) for r in by_official] == [
        (CADRE_ID, 1, 1, None),  # B's missed respond deadline is charged to the contact cadre
        ("city-official", 1, 1, 0.0),
        ("township-official", 1, 0, None),
        ("village-official", 1, 0, 1.0),
    ]


async def test_figures_filters(pool: asyncpg.Pool) -> None:
    await _scenario(pool)
    assert await figures(pool, "tier", tier=Tier.CITY) == [CITY]
    assert await figures(pool, "tier", region_id=REGION.village) == [VILLAGE]
    only_a = await figures(pool, "official", official_id="village-official")
    assert [(r.group, r.petitions, r.satisfaction_rate) for r in only_a] == [("village-official", 1, 1.0)]
    assert await figures(pool, "tier", since=T0 + timedelta(days=1)) == [TOWNSHIP]
    assert await figures(pool, "tier", until=T0) == []

"""`petitionflow dev --demo`: the demo petitions are filed once and set out on their paths."""

from __future__ import annotations

from datetime import timedelta

from petitionflow.dev.demo import file_demo
from schemas.common import ClosedReason, Stage, Tier
from tests.workflows.conftest import Stack


async def test_the_demo_files_five_petitions_once_each_on_its_own_path(stack: Stack) -> None:
    filed = await file_demo(stack.petitions)
    assert filed == ["demo-road", "demo-water", "demo-subsidy", "demo-clinic", "demo-dispute"]
    assert await file_demo(stack.petitions) == [], "filing the demo again files nothing new"

    views = {petition_id: await stack.petitions.view(petition_id) for petition_id in filed}
    assert (views["demo-water"].stage, views["demo-water"].closed_reason) == (
        Stage.CLOSED,
        ClosedReason.SATISFIED,
    )
    assert views["demo-subsidy"].tier is Tier.TOWNSHIP
    assert views["demo-clinic"].paused
    assert (views["demo-dispute"].stage, views["demo-dispute"].reopen_count) == (Stage.ASSESS, 1)

    # Left alone on the demo's minutes-long clock, demo-road climbs a tier every few minutes.
    await stack.env.sleep(timedelta(minutes=10))
    assert (await stack.petitions.view("demo-road")).tier is Tier.CITY

"""Petitions in known states, made through the real client (the rules decide every step)."""

from __future__ import annotations

from schemas.commands import (
    AcknowledgeInput,
    DispatchInput,
    RateInput,
    ResolveInput,
    SendBackInput,
    SignForInput,
)
from schemas.common import Outcome, Rating, Tier
from schemas.state import PetitionState
from store import auth, offices
from tests.factories import REGION, filing, filing_body, official, petitioner
from tests.web.conftest import CENTRE_DESK, CENTRE_ID, WATER_DESK, WATER_ID, Site

SECRET_TEXT = "The bridge on the east lane collapsed in the rain; children cannot reach school."
PETITIONER_NAME = "Wang Fang"
PETITIONER_PHONE = "+86 139 0000 0042"


async def filed(site: Site, petition_id: str, **kwargs: object) -> None:
    await site.petitions.file(filing(petition_id, **kwargs))  # type: ignore[arg-type]
    await site.stored(petition_id, 1)


async def answered(
    site: Site, petition_id: str, summary: str, *, rating: Rating | None = None, region=REGION
) -> None:
    """Filed, acknowledged and resolved at the village, and rated when ``rating`` is given."""
    await filed(site, petition_id, region=region)
    cadre = official(Tier.VILLAGE, region=region)
    await site.petitions.act(petition_id, AcknowledgeInput(actor=cadre))
    state = await site.petitions.act(
        petition_id, ResolveInput(actor=cadre, outcome=Outcome.RESOLVED, public_summary=summary)
    )
    if rating is not None:
        state = await site.petitions.act(petition_id, RateInput(actor=petitioner(), rating=rating))
    await site.stored(petition_id, state.seq)


async def filed_at_centre(site: Site, petition_id: str) -> None:
    """Filed through the county's 12345 centre (a filing key bound to it, through ``/v1``): held by
    the centre in stage dispatch."""
    key = await auth.issue_api_key(site.pool, f"12345-{petition_id}", tier=Tier.COUNTY, centre_id=CENTRE_ID)
    body = filing_body(petition_id)
    body.pop("tier", None)
    answer = await site.http.post("/v1/petitions", json=body, headers={"X-API-Key": key})
    assert answer.status_code == 201, answer.text
    assert answer.json()["petition"]["stage"] == "dispatch"
    await site.stored(petition_id, 2)


async def dispatched(site: Site, petition_id: str, office_id: str) -> PetitionState:
    """The centre's desk dispatches the petition to ``office_id``, resolved from the directory."""
    region = (await site.petitions.view(petition_id)).region
    office, chain = await offices.resolve(site.pool, office_id, region)
    return await site.petitions.act(petition_id, DispatchInput(actor=CENTRE_DESK, office=office, chain=chain))


async def offices_at_work(site: Site) -> None:
    """Two petitions filed through the centre: one dispatched to the township, which signs for it;
    one dispatched to the water bureau, which sends it back."""
    await filed_at_centre(site, "p-ow-1")
    await dispatched(site, "p-ow-1", "o-xiazhuang")
    signed = await site.petitions.act("p-ow-1", SignForInput(actor=official(Tier.TOWNSHIP)))
    await site.stored("p-ow-1", signed.seq)
    await filed_at_centre(site, "p-ow-2")
    await dispatched(site, "p-ow-2", WATER_ID)
    back = await site.petitions.act("p-ow-2", SendBackInput(actor=WATER_DESK, reason="桥梁不属水利部门管养"))
    await site.stored("p-ow-2", back.seq)

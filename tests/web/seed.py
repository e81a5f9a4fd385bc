"""Petitions in known states, made through the real client (the rules decide every step)."""

from __future__ import annotations

from schemas.commands import AcknowledgeInput, RateInput, ResolveInput
from schemas.common import Outcome, Rating, Tier
from store import auth
from tests.factories import REGION, filing, filing_body, official, petitioner
from tests.web.conftest import CENTRE_ID, Site

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

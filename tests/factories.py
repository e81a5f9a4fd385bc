"""Builders for realistic petitions, actors and times, shared by every test folder."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.commands import FilePetitionInput, PetitionerContact
from schemas.common import Actor, Channel, RegionPath, Role, Tier, Urgency
from schemas.policy import Policy

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

REGION = RegionPath(village="v-dongshan", township="t-xiazhuang", county="c-yishui", city="x-linyi")
OTHER_REGION = RegionPath(village="v-xishan", township="t-shangzhuang", county="c-mengyin", city="x-jining")

PETITIONER_ID = "hh-0042"
CADRE_ID = "cadre-zhang"


def filing(
    petition_id: str = "p-1",
    *,
    urgency: Urgency = Urgency.NORMAL,
    policy: Policy | None = None,
    region: RegionPath = REGION,
    petitioner_id: str = PETITIONER_ID,
) -> FilePetitionInput:
    return FilePetitionInput(
        petition_id=petition_id,
        petitioner=PetitionerContact(
            petitioner_id=petitioner_id, name="Wang Fang", phone="+86 139 0000 0042", address="3 East Lane"
        ),
        region=region,
        description="The bridge on the east lane collapsed in the rain; children cannot reach school.",
        channel=Channel.HOTLINE,
        category="roads",
        contact_cadre_id=CADRE_ID,
        urgency=urgency,
        policy=policy or Policy(),
    )


def filing_body(petition_id: str = "p-1", **changes: object) -> dict[str, object]:
    """``filing(petition_id)`` as a filing door takes it (JSON, no policy: the deployment's is used)."""
    return filing(petition_id, **changes).model_dump(mode="json", exclude={"policy", "intake"})  # type: ignore[arg-type]


def official(tier: Tier, *, region: RegionPath = REGION, official_id: str | None = None) -> Actor:
    """An official of ``tier`` serving ``region``'s office at that tier."""
    return Actor.official(official_id or f"{tier.value}-official", tier, region.at(tier))


def petitioner(petitioner_id: str = PETITIONER_ID) -> Actor:
    return Actor.petitioner(petitioner_id)


def contact_cadre(region: RegionPath = REGION) -> Actor:
    return Actor(role=Role.CONTACT_CADRE, id=CADRE_ID, tier=Tier.VILLAGE, region_id=region.village)

"""Demo petitions for ``petitionflow dev --demo``: a few households, a fast clock, every path."""

from __future__ import annotations

from datetime import timedelta

from petitionflow.client import PetitionClient
from schemas.commands import (
    AcknowledgeInput,
    AssessInput,
    FilePetitionInput,
    PetitionerContact,
    RateInput,
    ResolveInput,
)
from schemas.common import (
    Actor,
    AssessmentDecision,
    Channel,
    Outcome,
    Rating,
    RegionPath,
    Tier,
    Urgency,
)
from schemas.policy import Policy, TierDeadlines

REGION = RegionPath(village="v-dongshan", township="t-xiazhuang", county="c-yishui", city="x-linyi")


def _minutes(respond: int, resolve: int) -> TierDeadlines:
    return TierDeadlines(respond_within=timedelta(minutes=respond), resolve_within=timedelta(minutes=resolve))


DEMO_POLICY = Policy(
    normal={
        Tier.VILLAGE: _minutes(2, 10),
        Tier.TOWNSHIP: _minutes(3, 15),
        Tier.COUNTY: _minutes(4, 20),
        Tier.CITY: _minutes(5, 20),
    },
    urgent={
        Tier.VILLAGE: _minutes(1, 5),
        Tier.TOWNSHIP: _minutes(1, 8),
        Tier.COUNTY: _minutes(2, 10),
        Tier.CITY: _minutes(2, 10),
    },
    overdue_reminder_every=timedelta(minutes=2),
    feedback_window=timedelta(minutes=10),
    return_visit_after=timedelta(minutes=15),
    return_visit_window=timedelta(minutes=15),
    info_wait_limit=timedelta(minutes=10),
)
"""Minutes instead of days, so a newcomer watches petitions climb while the stack runs."""


def official(tier: Tier) -> Actor:
    return Actor.official(f"demo-{tier.value}-official", tier, REGION.at(tier))


def _filing(
    petition_id: str, household: str, category: str, description: str, **extra: object
) -> FilePetitionInput:
    return FilePetitionInput.model_validate(
        {
            "petition_id": petition_id,
            "petitioner": PetitionerContact(petitioner_id=household, name=f"Household {household}"),
            "region": REGION,
            "description": description,
            "channel": Channel.HOTLINE,
            "category": category,
            "contact_cadre_id": "demo-cadre",
            "policy": DEMO_POLICY,
            **extra,
        }
    )


async def file_demo(petitions: PetitionClient) -> list[str]:
    """File the demo petitions (once: filing them again changes nothing) and move some along."""
    village = official(Tier.VILLAGE)
    filed: list[str] = []

    async def new(filing: FilePetitionInput) -> bool:
        created = (await petitions.file(filing)).created
        if created:
            filed.append(filing.petition_id)
        return created

    # Left alone: misses the village's 2-minute respond deadline and climbs on its own.
    await new(_filing("demo-road", "hh-101", "roads", "The east lane bridge collapsed in the rain."))

    if await new(_filing("demo-water", "hh-102", "water", "The well pump has been broken for a week.")):
        await petitions.act("demo-water", AcknowledgeInput(actor=village))
        await petitions.act("demo-water", AssessInput(actor=village, decision=AssessmentDecision.ACCEPT))
        await petitions.act(
            "demo-water",
            ResolveInput(
                actor=village, outcome=Outcome.RESOLVED, public_summary="Pump replaced by the village."
            ),
        )
        await petitions.act(
            "demo-water", RateInput(actor=Actor.petitioner("hh-102"), rating=Rating.SATISFIED)
        )

    if await new(
        _filing("demo-subsidy", "hh-103", "subsidies", "Our farm subsidy was refused without reason.")
    ):
        await petitions.act("demo-subsidy", AcknowledgeInput(actor=village))
        await petitions.act(
            "demo-subsidy",
            AssessInput(
                actor=village,
                decision=AssessmentDecision.BEYOND_TIER,
                reason="Subsidy decisions are made by the township.",
            ),
        )

    if await new(
        _filing(
            "demo-clinic",
            "hh-104",
            "health",
            "The clinic has had no doctor for a month.",
            urgency=Urgency.URGENT,
        )
    ):
        await petitions.act("demo-clinic", AcknowledgeInput(actor=village))
        await petitions.act(
            "demo-clinic",
            AssessInput(
                actor=village, decision=AssessmentDecision.NEEDS_INFO, reason="Which days is it closed?"
            ),
        )

    if await new(_filing("demo-dispute", "hh-105", "disputes", "A neighbour built a wall on our land.")):
        await petitions.act("demo-dispute", AcknowledgeInput(actor=village))
        await petitions.act("demo-dispute", AssessInput(actor=village, decision=AssessmentDecision.ACCEPT))
        await petitions.act(
            "demo-dispute",
            ResolveInput(
                actor=village,
                outcome=Outcome.NOT_FEASIBLE,
                public_summary="The land survey shows the wall on the boundary; no change is possible.",
            ),
        )
        await petitions.act(
            "demo-dispute", RateInput(actor=Actor.petitioner("hh-105"), rating=Rating.DISSATISFIED)
        )
    return filed

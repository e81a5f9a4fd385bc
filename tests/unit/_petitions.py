"""Builders for the unit tests: one household's grid path, its people, and a petition driven by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.commands import (
    FilePetitionInput,
    PetitionerContact,
    TimerFired,
)
from schemas.common import Actor, Channel, RegionPath, Tier, Urgency
from schemas.events import Event
from schemas.policy import Policy
from schemas.state import PetitionState
from workflows.lifecycle import Command, decide, fold, next_timer

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
"""When the petition in every scenario is filed: a Monday morning."""

HOME = RegionPath(village="v-dongli", township="t-xujiahu", county="c-yishui", city="m-linyi")
ELSEWHERE = RegionPath(village="v-xiaoli", township="t-sizhuang", county="c-mengyin", city="m-rizhao")

PETITIONER_ID = "household-0042"
PETITIONER = Actor.petitioner(PETITIONER_ID)
NEIGHBOUR = Actor.petitioner("household-0043")
CADRE_ID = "cadre-wang"
CADRE = Actor.contact_cadre(CADRE_ID, HOME.village)
POLICY = Policy()


def days(n: float) -> timedelta:
    return timedelta(days=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def official(tier: Tier, region: RegionPath = HOME) -> Actor:
    """The official of ``tier`` serving ``region``; the id says which, to keep refusals readable."""
    where = "home" if region is HOME else "elsewhere"
    return Actor.official(f"{tier.value}-official-{where}", tier, region.at(tier))


def filing(
    *,
    petition_id: str = "pet-1",
    tier: Tier = Tier.VILLAGE,
    urgency: Urgency = Urgency.NORMAL,
    policy: Policy = POLICY,
) -> FilePetitionInput:
    return FilePetitionInput(
        petition_id=petition_id,
        petitioner=PetitionerContact(petitioner_id=PETITIONER_ID, name="Li Hua", phone="+86 539 1234567"),
        region=HOME,
        description="The road between the village and the school floods every time it rains.",
        channel=Channel.HOTLINE,
        category="roads",
        contact_cadre_id=CADRE_ID,
        urgency=urgency,
        tier=tier,
        policy=policy,
    )


class Petition:
    """A petition driven the way the workflow drives it: actions through ``decide``, and time
    through one ``TimerFired`` per due timer. Keeps the state and the whole history."""

    def __init__(self, command: FilePetitionInput | None = None, *, at: datetime = T0) -> None:
        self.history: list[Event] = decide(None, command or filing(), at)
        self.state: PetitionState = fold(self.history)

    def act(self, command: Command, at: datetime) -> list[Event]:
        """Decide ``command`` at ``at`` and fold what it caused; returns those events."""
        events = decide(self.state, command, at)
        self.state = fold(events, self.state)
        self.history += events
        return events

    def wait_until(self, until: datetime) -> list[Event]:
        """Let every timer due up to ``until`` fire at its own time, as the workflow's timers do."""
        fired: list[Event] = []
        while (timer := next_timer(self.state)) is not None and timer.at <= until:
            fired += self.act(TimerFired(timer=timer), timer.at)
        return fired

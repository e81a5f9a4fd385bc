"""Petitions driven through the real decider, collecting the envelopes a workflow would append."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.commands import (
    AcknowledgeInput,
    Action,
    AssessInput,
    FilePetitionInput,
    PetitionerContact,
    RateInput,
    ResolveInput,
    TimerFired,
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
from schemas.events import Envelope
from schemas.state import PetitionState
from workflows.lifecycle import Command, decide, fold, next_timer

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REGION = RegionPath(village="v-dongshan", township="t-xiazhuang", county="c-yishui", city="x-linyi")
OTHER_REGION = RegionPath(village="v-xishan", township="t-shangzhuang", county="c-mengyin", city="x-jining")
CADRE_ID = "cadre-zhang"
NAME = "Wang Fang"
PHONE = "+86 139 0000 0042"
ADDRESS = "3 East Lane, Dongshan"
DESCRIPTION = "The bridge on the east lane collapsed in the rain; Wang Fang's children cannot reach school."
COMMENT = "Wang Fang: the new planks are already loose, call me on +86 139 0000 0042"


def official(tier: Tier, region: RegionPath = REGION) -> Actor:
    return Actor.official(f"{tier.value}-official", tier, region.at(tier))


class Story:
    """One petition: each step runs ``decide`` on the current state and keeps the new envelopes."""

    def __init__(
        self,
        petition_id: str,
        *,
        at: datetime = T0,
        region: RegionPath = REGION,
        tier: Tier = Tier.VILLAGE,
        urgency: Urgency = Urgency.NORMAL,
        petitioner_id: str | None = None,
    ) -> None:
        self.petition_id = petition_id
        self.region = region
        self.now = at
        self.state: PetitionState | None = None
        self.envelopes: list[Envelope] = []
        self.contact = PetitionerContact(
            petitioner_id=petitioner_id or f"hh-{petition_id}", name=NAME, phone=PHONE, address=ADDRESS
        )
        self.filing = FilePetitionInput(
            petition_id=petition_id,
            petitioner=self.contact,
            region=region,
            description=DESCRIPTION,
            channel=Channel.HOTLINE,
            category="roads",
            contact_cadre_id=CADRE_ID,
            urgency=urgency,
            tier=tier,
        )
        self._run(self.filing, at)

    @property
    def current(self) -> PetitionState:
        assert self.state is not None
        return self.state

    @property
    def petitioner(self) -> Actor:
        return Actor.petitioner(self.contact.petitioner_id)

    def official(self, tier: Tier | None = None) -> Actor:
        return official(tier or self.current.tier, self.region)

    def _run(self, command: Command, now: datetime) -> list[Envelope]:
        events = decide(self.state, command, now)
        self.state = fold(events, self.state)
        start = len(self.envelopes) + 1
        new = [Envelope(petition_id=self.petition_id, seq=start + i, event=e) for i, e in enumerate(events)]
        self.envelopes += new
        self.now = now
        return new

    def act(self, action: Action, *, after: timedelta = timedelta(hours=1)) -> list[Envelope]:
        """A person's action, ``after`` the last step (timers due meanwhile fire first)."""
        return self._run(action, self.now + after)

    def wait(self, duration: timedelta) -> list[Envelope]:
        """Let ``duration`` pass, firing every timer due in it at its own time."""
        until = self.now + duration
        new: list[Envelope] = []
        while (timer := next_timer(self.current)) is not None and timer.at <= until:
            new += self._run(TimerFired(timer=timer), max(timer.at, self.now))
        self.now = until
        return new

    # The common steps, by the official of the petition's current tier.

    def acknowledge(self, *, after: timedelta = timedelta(hours=1)) -> list[Envelope]:
        return self.act(AcknowledgeInput(actor=self.official()), after=after)

    def accept(self, *, after: timedelta = timedelta(hours=1)) -> list[Envelope]:
        return self.act(AssessInput(actor=self.official(), decision=AssessmentDecision.ACCEPT), after=after)

    def resolve(
        self, *, after: timedelta = timedelta(days=1), outcome: Outcome = Outcome.RESOLVED
    ) -> list[Envelope]:
        summary = f"The {self.current.tier} office repaired the east-lane bridge."
        return self.act(
            ResolveInput(actor=self.official(), outcome=outcome, public_summary=summary), after=after
        )

    def rate(
        self, rating: Rating, *, after: timedelta = timedelta(days=1), comment: str | None = None
    ) -> list[Envelope]:
        return self.act(RateInput(actor=self.petitioner, rating=rating, comment=comment), after=after)

"""Realistic petition lives made by the real decider, to be copied under fresh petition ids.

Each life is kept as the list of *steps* a workflow would send to the event log: the events one
action (or one timer) caused, in order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

from schemas.commands import (
    AcknowledgeInput,
    AssessInput,
    EscalateInput,
    FilePetitionInput,
    PetitionerContact,
    ProvideInfoInput,
    RateInput,
    RequestInfoInput,
    ResolveInput,
    TimerFired,
)
from schemas.common import Actor, AssessmentDecision, Channel, Outcome, Rating, RegionPath, Urgency
from schemas.events import Envelope, Event, PetitionFiled
from schemas.state import PetitionState
from workflows.lifecycle import Command, Refused, decide, fold, next_timer

Step = list[Event]
Life = list[Step]

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CATEGORIES = ("roads", "water", "sanitation", "housing", "land", "pensions", "schools", "noise")
DESCRIPTION = (
    "The bridge on the east lane collapsed in the rain; children cannot reach school and the "
    "lorries that bring feed to the farms go round by the river road."
)


class _Petition:
    def __init__(self, petition_id: str, rng: random.Random) -> None:
        self.rng = rng
        village = rng.randrange(40)
        self.region = RegionPath(
            village=f"v-{village}", township=f"t-{village // 8}", county=f"c-{village // 20}", city="x-linyi"
        )
        self.now = T0 + timedelta(minutes=rng.randrange(60 * 24 * 60))
        self.state: PetitionState | None = None
        self.steps: Life = []
        urgency = Urgency.URGENT if rng.random() < 0.1 else Urgency.NORMAL
        self.petitioner = Actor.petitioner(f"hh-{rng.randrange(10**6)}")
        self._run(
            FilePetitionInput(
                petition_id=petition_id,
                petitioner=PetitionerContact(petitioner_id=self.petitioner.id, name="Wang Fang"),
                region=self.region,
                description=DESCRIPTION,
                channel=rng.choice(list(Channel)),
                category=rng.choice(CATEGORIES),
                contact_cadre_id=f"cadre-{village}",
                urgency=urgency,
            ),
            self.now,
        )

    @property
    def current(self) -> PetitionState:
        assert self.state is not None
        return self.state

    def _run(self, command: Command, now: datetime) -> None:
        events = decide(self.state, command, now)
        self.state = fold(events, self.state)
        self.steps.append(events)
        self.now = now

    def wait(self, duration: timedelta) -> None:
        """Let ``duration`` pass, each timer due in it firing at its own time (one step each)."""
        until = self.now + duration
        while (timer := next_timer(self.current)) is not None and timer.at <= until:
            self._run(TimerFired(timer=timer), max(timer.at, self.now))
        self.now = until

    def act(self, command: Callable[[Actor], Command], hours: float) -> None:
        """After ``hours``, the command made for the official now holding the petition. When a
        deadline moved it up meanwhile, the new tier acknowledges and accepts it first."""
        self.wait(timedelta(hours=hours))
        try:
            self._run(command(self.official()), self.now)
        except Refused:
            official = self.official()
            self._run(AcknowledgeInput(actor=official), self.now)
            self._run(AssessInput(actor=official, decision=AssessmentDecision.ACCEPT), self.now)
            self._run(command(official), self.now)

    def official(self) -> Actor:
        tier = self.current.tier
        return Actor.official(f"{tier.value}-official-{self.rng.randrange(3)}", tier, self.region.at(tier))


def life(petition_id: str, rng: random.Random) -> Life:
    """One petition's life: mostly answered at the village, some escalated, reopened or paused."""
    p = _Petition(petition_id, rng)
    if rng.random() < 0.25:  # nobody answers in time: escalated by its deadlines
        p.wait(timedelta(days=rng.choice((1.5, 4, 7))))
    if rng.random() < 0.05 and p.current.tier.above is not None:
        p.act(lambda o: EscalateInput(actor=o, reason="Needs the county's budget."), 0)
    p.act(lambda o: AcknowledgeInput(actor=o, note="On it."), rng.uniform(0.5, 6))
    p.act(lambda o: AssessInput(actor=o, decision=AssessmentDecision.ACCEPT), rng.uniform(1, 12))
    if rng.random() < 0.2:
        p.act(lambda o: RequestInfoInput(actor=o, question="Which end of the lane?"), 3)
        p.act(lambda _: ProvideInfoInput(actor=p.petitioner, info="The east end, by the school."), 24)
    rounds = 2 if rng.random() < 0.15 else 1
    summary = "The office repaired the bridge; the road is open again."
    for round_ in range(rounds):
        p.act(lambda o: ResolveInput(actor=o, outcome=Outcome.RESOLVED, public_summary=summary), 20)
        last = round_ == rounds - 1
        if last and rng.random() < 0.1:
            p.wait(timedelta(days=8))  # never rated: the feedback window closes it
        else:
            rating = Rating.SATISFIED if last else Rating.DISSATISFIED
            p.act(partial(_rate, p.petitioner, rating), 30)
    p.wait(timedelta(days=31))  # the return visit comes due
    return p.steps


def _rate(petitioner: Actor, rating: Rating, _: Actor) -> RateInput:
    return RateInput(actor=petitioner, rating=rating, comment="Thank you.")


def lives(count: int, *, seed: int = 2026) -> list[Life]:
    rng = random.Random(seed)
    return [life(f"template-{i}", rng) for i in range(count)]


def renamed(template: Life, petition_id: str) -> list[list[Envelope]]:
    """``template``'s steps as envelopes of ``petition_id`` (its filing renamed to match)."""
    steps: list[list[Envelope]] = []
    seq = 0
    for step in template:
        envelopes = []
        for event in step:
            seq += 1
            if isinstance(event, PetitionFiled):
                event = event.model_copy(update={"petition_id": petition_id})
            envelopes.append(Envelope(petition_id=petition_id, seq=seq, event=event))
        steps.append(envelopes)
    return steps


def petitions(templates: list[Life], prefix: str, start: int, stop: int) -> Iterator[list[list[Envelope]]]:
    """Petitions ``start..stop`` of a run: each a template's life under a fresh id."""
    for i in range(start, stop):
        yield renamed(templates[i % len(templates)], f"{prefix}-{i:07d}")

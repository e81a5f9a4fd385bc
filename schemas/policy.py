"""The rules of time: deadlines per tier, reminders and callbacks, as data copied into each petition."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Self

from pydantic import Field, model_validator

from schemas.common import Clock, Contract, Fraction, Tier, Urgency

Positive = Annotated[timedelta, Field(gt=timedelta(0))]


class TierDeadlines(Contract):
    """How long a tier has, from the moment it receives a petition, to respond and to resolve."""

    respond_within: Positive
    resolve_within: Positive

    @model_validator(mode="after")
    def _respond_before_resolve(self) -> Self:
        if self.respond_within > self.resolve_within:
            raise ValueError("respond_within must not exceed resolve_within")
        return self

    def within(self, clock: Clock) -> timedelta:
        return self.respond_within if clock is Clock.RESPOND else self.resolve_within


def _days(n: float) -> timedelta:
    return timedelta(days=n)


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


class Policy(Contract):
    """Every duration a petition lives by. Copied into the petition when it is filed, so a running
    petition keeps the rules it was filed under when the defaults change."""

    normal: dict[Tier, TierDeadlines] = Field(
        default_factory=lambda: {
            Tier.VILLAGE: TierDeadlines(respond_within=_days(1), resolve_within=_days(7)),
            Tier.TOWNSHIP: TierDeadlines(respond_within=_days(2), resolve_within=_days(15)),
            Tier.COUNTY: TierDeadlines(respond_within=_days(3), resolve_within=_days(30)),
            Tier.CITY: TierDeadlines(respond_within=_days(3), resolve_within=_days(30)),
        }
    )
    urgent: dict[Tier, TierDeadlines] = Field(
        default_factory=lambda: {
            Tier.VILLAGE: TierDeadlines(respond_within=_hours(2), resolve_within=_days(1)),
            Tier.TOWNSHIP: TierDeadlines(respond_within=_hours(4), resolve_within=_days(3)),
            Tier.COUNTY: TierDeadlines(respond_within=_hours(8), resolve_within=_days(7)),
            Tier.CITY: TierDeadlines(respond_within=_hours(8), resolve_within=_days(7)),
        }
    )
    reminder_points: tuple[Fraction, ...] = (0.5, 0.75)
    """Fractions of each deadline's window at which the responsible office is reminded."""
    overdue_reminder_every: Positive = _days(1)
    """At the city tier nothing is above: an overdue petition is reminded this often instead."""
    feedback_window: Positive = _days(7)
    """How long the petitioner has to rate a resolution before it closes unrated."""
    return_visit_after: Positive = _days(30)
    """When, after closing, the contact cadre goes back to check that the fix held."""
    return_visit_window: Positive = _days(30)
    """How long a due return visit stays open before the petition's record is finished without it."""
    info_wait_limit: Positive = _days(14)
    """How long the resolve clock stays paused waiting for the petitioner's information."""
    reopen_rounds: Annotated[int, Field(ge=0, le=10)] = 1
    """How many times a dissatisfied petition goes round again at the same tier before moving up."""

    @model_validator(mode="after")
    def _every_tier_has_deadlines(self) -> Self:
        for name, table in (("normal", self.normal), ("urgent", self.urgent)):
            missing = [t.value for t in Tier if t not in table]
            if missing:
                raise ValueError(f"{name} has no deadlines for {', '.join(missing)}")
        if list(self.reminder_points) != sorted(set(self.reminder_points)):
            raise ValueError("reminder_points must be strictly increasing")
        return self

    def deadlines(self, tier: Tier, urgency: Urgency) -> TierDeadlines:
        return (self.urgent if urgency is Urgency.URGENT else self.normal)[tier]


class DispatchRules(Contract):
    """The limits of central intake and dispatch. Copied into a petition filed through a centre (or
    held by an office), apart from ``Policy``: petitions filed before offices keep their policy as
    it was stored."""

    dispatch_within: Positive = _hours(1)
    """How long a centre has to dispatch a petition it holds (Beijing averages 3.7 minutes)."""
    sign_for_within: Positive = _hours(2)
    """How long the receiving office has to sign for it (签收) before it goes back to the centre."""
    send_back_within: Positive = _hours(24)
    """How long after receiving it the office may send it back (退单) as not its own."""
    send_backs_before_supervisor: Annotated[int, Field(ge=1, le=10)] = 2
    """After this many send-backs the centre's supervising office decides where it goes."""
    summons_answer_within: Positive = _minutes(30)
    """How long a summoned office has to answer (吹哨报到: Pinggu's rule was 30 minutes)."""

"""A petition's timeline for people: each event with who, when, where it left the petition, what
changed and which deadline it met or missed; and the petition as it stood at any moment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from petitionflow.audit.models import Change, DeadlineOutcome, TimelineEntry
from schemas.common import Clock, PetitionId
from schemas.events import (
    Acknowledged,
    Assessed,
    Closed,
    ContactCadreChanged,
    DeadlineMissed,
    Dispatched,
    DispatchMissed,
    Envelope,
    Escalated,
    Event,
    FeedbackClosingSoon,
    FeedbackReceived,
    HandedUp,
    InfoProvided,
    InfoRequested,
    InfoWaitLapsed,
    IntakeOpened,
    OfficeReturnVisitDue,
    PetitionFiled,
    ReferredToSupervisor,
    RegionRenamed,
    ReminderDue,
    Reopened,
    Resolved,
    ReturnVisitDue,
    ReturnVisitLapsed,
    ReturnVisitRecorded,
    SentBack,
    SignedFor,
    SignForMissed,
    Summoned,
    SummonsAnswered,
    SummonsMissed,
    Withdrawn,
)
from schemas.state import PetitionState
from store import eventlog
from store._db import Db
from workflows.lifecycle import evolve

_UNCHANGING = frozenset({"seq", "updated_at"})
"""Fields every event moves on: not worth a line of the diff."""


def timeline(events: Iterable[Envelope], *, as_of: datetime | None = None) -> list[TimelineEntry]:
    """One entry per event in seq order; with ``as_of``, only the events that happened by then."""
    entries: list[TimelineEntry] = []
    state: PetitionState | None = None
    for envelope in events:
        event = envelope.event
        if as_of is not None and event.at > as_of:
            break
        before = state
        state = evolve(state, event)
        entries.append(
            TimelineEntry(
                seq=envelope.seq,
                at=event.at,
                type=event.type,
                actor=event.actor,
                tier=state.tier,
                stage=state.stage,
                summary=summary(event),
                changes=_changes(before, state),
                deadlines=_deadlines(before, event),
            )
        )
    return entries


def state_as_of(events: Iterable[Envelope], at: datetime) -> PetitionState | None:
    """The petition as it stood at ``at``: the fold of the events that happened by then (None: not
    filed yet)."""
    state: PetitionState | None = None
    for envelope in events:
        if envelope.event.at > at:
            break
        state = evolve(state, envelope.event)
    return state


async def petition_timeline(
    pool: Db, petition_id: PetitionId, *, as_of: datetime | None = None
) -> list[TimelineEntry]:
    """``timeline`` of the events stored in the event log."""
    return timeline(await eventlog.read_events(pool, petition_id), as_of=as_of)


async def petition_state_as_of(pool: Db, petition_id: PetitionId, at: datetime) -> PetitionState | None:
    """``state_as_of`` over the events stored in the event log."""
    return state_as_of(await eventlog.read_events(pool, petition_id), at)


def _changes(before: PetitionState | None, after: PetitionState) -> list[Change]:
    if before is None:  # the filing: the summary says what was filed
        return []
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return [
        Change(field=name, before=old[name], after=new[name])
        for name in new
        if name not in _UNCHANGING and old[name] != new[name]
    ]


def _deadlines(before: PetitionState | None, event: Event) -> list[DeadlineOutcome]:
    match event:
        case Acknowledged() if before is not None and before.respond_by is not None:
            return [
                DeadlineOutcome(
                    clock=Clock.RESPOND,
                    tier=event.tier,
                    due_at=before.respond_by,
                    met=event.at <= before.respond_by,
                )
            ]
        case Resolved() if before is not None and before.resolve_by is not None:
            return [
                DeadlineOutcome(
                    clock=Clock.RESOLVE, tier=event.tier, due_at=before.resolve_by, met=event.on_time
                )
            ]
        case DeadlineMissed():
            return [DeadlineOutcome(clock=event.clock, tier=event.tier, due_at=event.due_at, met=False)]
    return []


def summary(event: Event) -> str:
    """The event in a few words."""
    match event:
        case PetitionFiled():
            return (
                f"filed via {event.channel.value} at the {event.tier.value} tier ({event.category});"
                f" respond by {_when(event.respond_by)}, resolve by {_when(event.resolve_by)}"
            )
        case Acknowledged():
            return f"acknowledged by {event.actor.id}"
        case Assessed():
            urgent = ", urgent" if event.urgency.value == "urgent" else ""
            reason = f": {event.reason}" if event.reason else ""
            return f"assessed: {event.decision.value}{urgent}{reason}"
        case InfoRequested():
            return f"asked the petitioner: {event.question}"
        case InfoProvided():
            return "the petitioner answered; the resolve clock runs again"
        case InfoWaitLapsed():
            return "no answer in time; the resolve clock runs again"
        case Resolved():
            timing = "on time" if event.on_time else "late"
            return f"resolved ({event.outcome.value}, {timing}): {event.public_summary}"
        case Escalated():
            how = "automatically" if event.automatic else f"by {event.actor.id}"
            return f"escalated {event.from_tier.value} → {event.to_tier.value} {how}: {event.reason}"
        case ReminderDue():
            point = "overdue" if event.point is None else f"{event.point:.0%} of the window"
            return f"reminder ({point}): {event.clock.value} deadline {_when(event.due_at)}"
        case DeadlineMissed():
            charged = event.official_id or "nobody"
            return f"{event.clock.value} deadline missed at the {event.tier.value} tier, charged to {charged}"
        case FeedbackReceived():
            return f"rated {event.rating.value}" + (f": {event.comment}" if event.comment else "")
        case Reopened():
            return f"reopened (round {event.round} at this tier): {event.reason}"
        case Closed():
            return f"closed: {event.reason.value}"
        case Withdrawn():
            return "withdrawn by the petitioner"
        case ReturnVisitDue():
            return f"return visit due by {_when(event.visit_by)} ({event.contact_cadre_id})"
        case ReturnVisitRecorded():
            return "return visit: the fix " + ("held" if event.held else "did not hold")
        case ReturnVisitLapsed():
            return "no return visit recorded in time"
        case ContactCadreChanged():
            return (
                f"contact cadre {event.from_cadre_id} → {event.to_cadre_id} "
                f"(directory version {event.directory_version})"
            )
        case RegionRenamed():
            moved = ", ".join(f"{old} → {new}" for old, new in event.renamed.items())
            return f"regions renamed (directory version {event.directory_version}): {moved}"
        case FeedbackClosingSoon():
            return f"reminder: the feedback window closes {_when(event.closes_at)}"
        case IntakeOpened():
            if event.centre:
                return (
                    f"held by {event.office} to be dispatched by {_when(event.dispatch_by)}"
                    if event.dispatch_by
                    else f"held by {event.office}"
                )
            return f"held by {event.office}, one level up: the complaint is about the {event.about}"
        case Dispatched():
            timing = "in time" if event.on_time else "late"
            final = "; the supervisor's decision, final" if event.final else ""
            return (
                f"dispatched {timing} by {event.actor.id} of {event.from_office} to {event.to_office}{final}"
            )
        case DispatchMissed():
            return f"{event.office} let its dispatch limit pass ({_when(event.due_at)})"
        case SignedFor():
            return f"signed for by {event.actor.id} of {event.office}; resolve by {_when(event.resolve_by)}"
        case SignForMissed():
            return f"{event.office} did not sign for it by {_when(event.due_at)}; back to {event.to_office}"
        case SentBack():
            return (
                f"sent back by {event.office} to {event.to_office} (send-back {event.count}): {event.reason}"
            )
        case ReferredToSupervisor():
            return f"after {event.send_backs} send-backs {event.to_office} decides where it goes"
        case Summoned():
            helpers = ", ".join(str(o) for o in event.offices)
            return f"{event.office} summoned {helpers} to answer by {_when(event.answer_by)}"
        case SummonsAnswered():
            timing = "in time" if event.on_time else "late"
            return f"{event.office} answered the summons {timing}: {event.part}"
        case SummonsMissed():
            return f"{event.office} did not answer the summons by {_when(event.due_at)}"
        case HandedUp():
            how = "automatically" if event.automatic else f"by {event.actor.id}"
            return f"handed up {event.from_office} → {event.to_office} {how}: {event.reason}"
        case OfficeReturnVisitDue():
            return f"return visit due by {_when(event.visit_by)} ({event.office})"
    raise AssertionError(f"no summary for {type(event).__name__}")  # pragma: no cover


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")

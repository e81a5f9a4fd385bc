"""The rules of a petition as a pure decider: ``decide`` and ``evolve`` over plain data.

No Temporal, no I/O, no clock: time comes in as ``now``. The workflow, the auditor's replay of the
event log, the read-model projections and the property tests all run these same functions.

- ``decide(state, command, now)`` returns the events the command causes, or raises ``Refused``;
- ``evolve(state, event)`` folds one event into the state;
- ``next_timer(state)`` is the earliest reminder, deadline or callback still pending.

Time passing is a command like any other (``TimerFired``). Before deciding a person's action,
``decide`` first lets every timer already due at ``now`` fire, so an action is always judged against
the petition as it stands at that moment (a tier whose deadline passed has already lost it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas.commands import (
    AcknowledgeInput,
    Action,
    AssessInput,
    EscalateInput,
    FilePetitionInput,
    ProvideInfoInput,
    RateInput,
    RecordReturnVisitInput,
    RequestInfoInput,
    ResolveInput,
    TimerFired,
    WithdrawInput,
)
from schemas.common import (
    SYSTEM,
    Actor,
    AssessmentDecision,
    Clock,
    ClosedReason,
    Rating,
    RefusalCode,
    Role,
    Stage,
    Tier,
    Urgency,
    copy_with,
)
from schemas.events import (
    Acknowledged,
    Assessed,
    Closed,
    DeadlineMissed,
    Escalated,
    Event,
    FeedbackReceived,
    InfoProvided,
    InfoRequested,
    InfoWaitLapsed,
    PetitionFiled,
    ReminderDue,
    Reopened,
    Resolved,
    ReturnVisitDue,
    ReturnVisitLapsed,
    ReturnVisitRecorded,
    Withdrawn,
)
from schemas.policy import Policy
from schemas.state import PetitionState, Resolution
from schemas.timers import Timer, TimerKind

Command = FilePetitionInput | Action | TimerFired


class Refused(Exception):
    """The rules do not allow the command. Nothing happened.

    ``reason`` is the English sentence; ``key`` (default: the code) names the sentence for a
    translation, and ``params`` fill its ``%(name)s`` blanks (tiers, stages, ids, what was tried).
    """

    def __init__(self, code: RefusalCode, reason: str, *, key: str | None = None, **params: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.key = key or code.value
        self.params = params

    def __repr__(self) -> str:
        return f"Refused({self.code.value!r}, {self.reason!r})"


# --------------------------------------------------------------------------------------- decide


def decide(state: PetitionState | None, command: Command, now: datetime) -> list[Event]:
    """The events ``command`` causes at ``now``.

    Raises:
        Refused: the command is not allowed; the reason names the rule.
    """
    if isinstance(command, FilePetitionInput):
        if state is not None:
            raise Refused(
                RefusalCode.ALREADY_FILED,
                f"petition {state.petition_id} is already filed",
                petition_id=state.petition_id,
            )
        return [_file(command, now)]
    if state is None:
        raise Refused(RefusalCode.NOT_FILED, "no petition has been filed")
    if now < state.updated_at:
        raise Refused(
            RefusalCode.CLOCK_WENT_BACK,
            f"{now.isoformat()} is before the petition's last event at {state.updated_at.isoformat()}",
            now=now.isoformat(),
            last=state.updated_at.isoformat(),
        )
    if isinstance(command, TimerFired):
        pending = next_timer(state)
        if pending != command.timer or now < pending.at:
            raise Refused(RefusalCode.STALE_TIMER, "that timer is not the one due now")
        return _on_timer(state, pending, now)
    events = catch_up(state, now)
    return events + _on_action(fold(events, state), command, now)


def catch_up(state: PetitionState, now: datetime) -> list[Event]:
    """The events of every timer due at or before ``now``, in order."""
    events: list[Event] = []
    while (timer := next_timer(state)) is not None and timer.at <= now:
        fired = _on_timer(state, timer, now)
        events += fired
        state = fold(fired, state)
    return events


def _file(command: FilePetitionInput, now: datetime) -> PetitionFiled:
    respond_by, resolve_by = _deadlines(command.policy, command.tier, command.urgency, now)
    return PetitionFiled(
        at=now,
        actor=Actor.petitioner(command.petitioner.petitioner_id),
        petition_id=command.petition_id,
        petitioner_id=command.petitioner.petitioner_id,
        region=command.region,
        description=command.description,
        channel=command.channel,
        category=command.category,
        contact_cadre_id=command.contact_cadre_id,
        urgency=command.urgency,
        tier=command.tier,
        policy=command.policy,
        respond_by=respond_by,
        resolve_by=resolve_by,
    )


def _deadlines(policy: Policy, tier: Tier, urgency: Urgency, start: datetime) -> tuple[datetime, datetime]:
    table = policy.deadlines(tier, urgency)
    return start + table.respond_within, start + table.resolve_within


def _on_action(state: PetitionState, command: Command, now: datetime) -> list[Event]:
    if state.finished:
        raise Refused(RefusalCode.FINISHED, "the petition's record is finished: nothing more can be done")
    if state.stage is Stage.CLOSED and not isinstance(command, RecordReturnVisitInput):
        raise Refused(RefusalCode.CLOSED, "the petition is closed: only a return visit can be recorded")
    match command:
        case AcknowledgeInput():
            return _acknowledge(state, command, now)
        case AssessInput():
            return _assess(state, command, now)
        case RequestInfoInput():
            _check_official(state, command.actor, "request information")
            _check_working(state, "request information", allowed=(Stage.ASSESS, Stage.RESOLVE))
            return [InfoRequested(at=now, actor=command.actor, tier=state.tier, question=command.question)]
        case ProvideInfoInput():
            _check_petitioner(state, command.actor, "provide information")
            if not state.paused:
                raise Refused(
                    RefusalCode.WRONG_STAGE,
                    "no information was requested",
                    key="wrong_stage.no_info_requested",
                )
            return [
                InfoProvided(
                    at=now,
                    actor=command.actor,
                    tier=state.tier,
                    info=command.info,
                    resolve_by=_resumed_deadline(state, now),
                )
            ]
        case ResolveInput():
            return _resolve(state, command, now)
        case EscalateInput():
            _check_official(state, command.actor, "escalate")
            _check_stage(state, "escalate", allowed=(Stage.COLLECT, Stage.ASSESS, Stage.RESOLVE))
            _check_not_top(state)
            return [_escalation(state, command.actor, command.reason, now, automatic=False)]
        case RateInput():
            return _rate(state, command, now)
        case WithdrawInput():
            _check_petitioner(state, command.actor, "withdraw")
            return [Withdrawn(at=now, actor=command.actor, tier=state.tier, reason=command.reason)]
        case RecordReturnVisitInput():
            return _record_return_visit(state, command, now)
    raise TypeError(f"not a command: {command!r}")  # pragma: no cover


def _acknowledge(state: PetitionState, command: AcknowledgeInput, now: datetime) -> list[Event]:
    _check_official(state, command.actor, "acknowledge")
    if state.stage is not Stage.COLLECT:
        raise Refused(
            RefusalCode.WRONG_STAGE,
            f"the petition was already acknowledged at the {state.tier} tier",
            key="wrong_stage.already_acknowledged",
            tier=state.tier.value,
        )
    return [Acknowledged(at=now, actor=command.actor, tier=state.tier, note=command.note)]


def _assess(state: PetitionState, command: AssessInput, now: datetime) -> list[Event]:
    _check_official(state, command.actor, "assess")
    _check_working(state, "assess", allowed=(Stage.ASSESS,))
    decision = command.decision
    if decision is not AssessmentDecision.ACCEPT and command.reason is None:
        raise Refused(
            RefusalCode.REASON_REQUIRED,
            f"an assessment of {decision.value} needs a reason"
            + (" (the question for the petitioner)" if decision is AssessmentDecision.NEEDS_INFO else ""),
            key="reason_required.needs_info"
            if decision is AssessmentDecision.NEEDS_INFO
            else "reason_required.assessment",
            decision=decision.value,
        )
    if decision is AssessmentDecision.BEYOND_TIER:
        _check_not_top(state)
    urgency = command.urgency or state.urgency
    resolve_by = state.resolve_by
    if urgency is Urgency.URGENT and resolve_by is not None:
        resolve_by = min(resolve_by, now + state.policy.deadlines(state.tier, urgency).resolve_within)
    events: list[Event] = [
        Assessed(
            at=now,
            actor=command.actor,
            tier=state.tier,
            decision=decision,
            category=command.category or state.category,
            urgency=urgency,
            common_issue=command.common_issue,
            reason=command.reason,
            resolve_by=resolve_by,
        )
    ]
    if decision is AssessmentDecision.NEEDS_INFO:
        assert command.reason is not None
        events.append(InfoRequested(at=now, actor=command.actor, tier=state.tier, question=command.reason))
    elif decision is AssessmentDecision.BEYOND_TIER:
        assert command.reason is not None
        escalating = fold(events, state)
        events.append(_escalation(escalating, command.actor, command.reason, now, automatic=False))
    return events


def _resolve(state: PetitionState, command: ResolveInput, now: datetime) -> list[Event]:
    _check_official(state, command.actor, "resolve")
    if state.stage is Stage.COLLECT:
        raise Refused(
            RefusalCode.WRONG_STAGE,
            "acknowledge the petition before resolving it",
            key="wrong_stage.not_acknowledged",
        )
    _check_stage(state, "resolve", allowed=(Stage.ASSESS, Stage.RESOLVE))
    deadline = _resumed_deadline(state, now)
    return [
        Resolved(
            at=now,
            actor=command.actor,
            tier=state.tier,
            outcome=command.outcome,
            public_summary=command.public_summary,
            note=command.note,
            on_time=deadline is not None and now <= deadline,
            feedback_by=now + state.policy.feedback_window,
        )
    ]


def _rate(state: PetitionState, command: RateInput, now: datetime) -> list[Event]:
    _check_petitioner(state, command.actor, "rate")
    _check_stage(state, "rate", allowed=(Stage.FEEDBACK,))
    events: list[Event] = [
        FeedbackReceived(
            at=now, actor=command.actor, tier=state.tier, rating=command.rating, comment=command.comment
        )
    ]
    if command.rating is Rating.SATISFIED:
        events.append(_closing(state, ClosedReason.SATISFIED, command.actor, now))
    elif command.rating is Rating.BASICALLY_SATISFIED:
        events.append(_closing(state, ClosedReason.BASICALLY_SATISFIED, command.actor, now))
    elif state.rounds_at_tier < state.policy.reopen_rounds:
        events.append(_reopening(state, "the petitioner was dissatisfied", command.actor, now))
    elif state.tier.above is not None:
        rounds = state.rounds_at_tier + 1
        reason = f"the petitioner was dissatisfied {rounds} time{'s' * (rounds > 1)} at the {state.tier} tier"
        events.append(_escalation(state, SYSTEM, reason, now, automatic=True))
    else:
        events.append(_closing(state, ClosedReason.DISSATISFIED_AT_TOP, command.actor, now))
    return events


def _record_return_visit(state: PetitionState, command: RecordReturnVisitInput, now: datetime) -> list[Event]:
    actor = command.actor
    is_contact_cadre = actor.role is Role.CONTACT_CADRE and actor.id == state.contact_cadre_id
    if not is_contact_cadre:
        _check_official(state, actor, "record a return visit")
    if state.stage is not Stage.CLOSED:
        raise Refused(
            RefusalCode.WRONG_STAGE,
            f"a return visit follows closing; the petition is in stage {state.stage}",
            key="wrong_stage.return_visit_before_closing",
            stage=state.stage.value,
        )
    visit = ReturnVisitRecorded(at=now, actor=actor, held=command.held, note=command.note)
    if command.held:
        return [visit]
    return [visit, _reopening(state, "the return visit found that the fix did not hold", actor, now)]


# ---------------------------------------------------------------------------------------- timers


def next_timer(state: PetitionState) -> Timer | None:
    """The earliest timer still pending, or None when nothing more is due on its own."""
    if state.finished:
        return None
    if state.stage is Stage.CLOSED:
        if not state.return_visit_notified:
            assert state.return_visit_due is not None
            return Timer(kind=TimerKind.RETURN_VISIT, at=state.return_visit_due)
        assert state.return_visit_by is not None
        return Timer(kind=TimerKind.RETURN_VISIT_WINDOW, at=state.return_visit_by)
    if state.stage is Stage.FEEDBACK:
        assert state.feedback_by is not None
        return Timer(kind=TimerKind.FEEDBACK_WINDOW, at=state.feedback_by)
    return min(_working_timers(state), key=_timer_order, default=None)


def _working_timers(state: PetitionState) -> Iterable[Timer]:
    """The timers of a petition being worked on: reminders, deadlines, the info wait, overdue."""
    if state.info_requested_at is not None:
        yield Timer(kind=TimerKind.INFO_WAIT_LIMIT, at=state.info_requested_at + state.policy.info_wait_limit)
    clocks = (
        (Clock.RESPOND, state.respond_by, state.respond_window),
        (Clock.RESOLVE, None if state.paused else state.resolve_by, state.resolve_window),
    )
    for clock, due, window in clocks:
        if due is None:
            continue
        reminder = next((p for p in state.policy.reminder_points if (clock, p) not in state.reminded), None)
        if reminder is not None:
            yield Timer(
                kind=TimerKind.REMINDER,
                at=due - window * (1 - reminder),
                clock=clock,
                tier=state.tier,
                point=reminder,
            )
        yield Timer(kind=TimerKind.DEADLINE, at=due, clock=clock, tier=state.tier)
    if state.overdue and not _overdue_reminders_paused(state):
        assert state.last_overdue_reminder_at is not None
        yield Timer(
            kind=TimerKind.OVERDUE_REMINDER,
            at=state.last_overdue_reminder_at + state.policy.overdue_reminder_every,
            clock=state.overdue[0],
            tier=state.tier,
        )


def _overdue_reminders_paused(state: PetitionState) -> bool:
    """Overdue only on the resolve clock, and that clock is paused waiting for the petitioner."""
    return state.paused and state.overdue == (Clock.RESOLVE,)


_KIND_ORDER = {kind: i for i, kind in enumerate(TimerKind)}
_CLOCK_ORDER = {Clock.RESPOND: 0, Clock.RESOLVE: 1, None: 2}


def _timer_order(timer: Timer) -> tuple[datetime, int, int]:
    return timer.at, _CLOCK_ORDER[timer.clock], _KIND_ORDER[timer.kind]


def _on_timer(state: PetitionState, timer: Timer, now: datetime) -> list[Event]:
    tier = state.tier
    match timer.kind:
        case TimerKind.REMINDER:
            assert timer.clock is not None
            return [
                ReminderDue(
                    at=now,
                    actor=SYSTEM,
                    tier=tier,
                    clock=timer.clock,
                    due_at=_due(state, timer.clock),
                    point=timer.point,
                )
            ]
        case TimerKind.OVERDUE_REMINDER:
            assert timer.clock is not None
            return [
                ReminderDue(at=now, actor=SYSTEM, tier=tier, clock=timer.clock, due_at=timer.at, point=None)
            ]
        case TimerKind.DEADLINE:
            assert timer.clock is not None
            missed = DeadlineMissed(
                at=now,
                actor=SYSTEM,
                tier=tier,
                region_id=state.region.at(tier),
                clock=timer.clock,
                due_at=timer.at,
                official_id=_answerable(state),
            )
            if tier.above is None:
                return [missed]
            reason = f"the {timer.clock} deadline at the {tier} tier passed"
            return [missed, _escalation(state, SYSTEM, reason, now, automatic=True)]
        case TimerKind.INFO_WAIT_LIMIT:
            return [InfoWaitLapsed(at=now, actor=SYSTEM, tier=tier, resolve_by=_resumed_deadline(state, now))]
        case TimerKind.FEEDBACK_WINDOW:
            return [_closing(state, ClosedReason.UNRATED, SYSTEM, now)]
        case TimerKind.RETURN_VISIT:
            return [
                ReturnVisitDue(
                    at=now,
                    actor=SYSTEM,
                    contact_cadre_id=state.contact_cadre_id,
                    # From the notice, not from the due date: a notice fired late (after an
                    # outage) must not name a day already past.
                    visit_by=now + state.policy.return_visit_window,
                )
            ]
        case TimerKind.RETURN_VISIT_WINDOW:
            return [ReturnVisitLapsed(at=now, actor=SYSTEM)]
    raise AssertionError(f"unknown timer {timer.kind}")  # pragma: no cover


def _due(state: PetitionState, clock: Clock) -> datetime:
    due = state.respond_by if clock is Clock.RESPOND else state.resolve_by
    assert due is not None
    return due


def _answerable(state: PetitionState) -> str | None:
    """Who answers for a missed deadline: the official who took it up, else the contact cadre."""
    if state.acknowledged_by is not None:
        return state.acknowledged_by
    return state.contact_cadre_id if state.tier is Tier.VILLAGE else None


# --------------------------------------------------------------------------------- event builders


def _escalation(
    state: PetitionState, actor: Actor, reason: str, now: datetime, *, automatic: bool
) -> Escalated:
    above = state.tier.above
    assert above is not None
    respond_by, resolve_by = _deadlines(state.policy, above, state.urgency, now)
    return Escalated(
        at=now,
        actor=actor,
        from_tier=state.tier,
        to_tier=above,
        reason=reason,
        automatic=automatic,
        respond_by=respond_by,
        resolve_by=resolve_by,
    )


def _reopening(state: PetitionState, reason: str, actor: Actor, now: datetime) -> Reopened:
    window = state.policy.deadlines(state.tier, state.urgency).resolve_within
    return Reopened(
        at=now,
        actor=actor,
        tier=state.tier,
        reason=reason,
        round=state.rounds_at_tier + 1,
        resolve_by=now + window,
    )


def _closing(state: PetitionState, reason: ClosedReason, actor: Actor, now: datetime) -> Closed:
    return Closed(
        at=now,
        actor=actor,
        tier=state.tier,
        reason=reason,
        return_visit_due=now + state.policy.return_visit_after,
    )


def _resumed_deadline(state: PetitionState, now: datetime) -> datetime | None:
    """The resolve deadline, moved on by however long the clock has been paused."""
    if state.resolve_by is None or state.info_requested_at is None:
        return state.resolve_by
    return state.resolve_by + (now - state.info_requested_at)


# ----------------------------------------------------------------------------------------- checks


def _check_official(state: PetitionState, actor: Actor, doing: str) -> None:
    """Only an official of the petition's current tier whose region covers it may act for it."""
    if actor.role not in (Role.OFFICIAL, Role.CONTACT_CADRE):
        raise Refused(
            RefusalCode.NOT_AN_OFFICIAL,
            f"only an official of the {state.tier} tier may {doing}; the actor is a {actor.role}",
            tier=state.tier.value,
            doing=doing,
            role=actor.role.value,
        )
    if actor.tier is not state.tier:
        raise Refused(
            RefusalCode.WRONG_TIER,
            f"the petition is at the {state.tier} tier; "
            f"{actor.id}, an official of the {actor.tier} tier, may not {doing} it",
            tier=state.tier.value,
            actor=actor.id,
            actor_tier="" if actor.tier is None else actor.tier.value,
            doing=doing,
        )
    region = state.region.at(state.tier)
    if actor.region_id != region:
        raise Refused(
            RefusalCode.WRONG_REGION,
            f"the petition belongs to {state.tier} {region}; "
            f"{actor.id} serves {state.tier} {actor.region_id}",
            tier=state.tier.value,
            region=region,
            actor=actor.id,
            actor_region=actor.region_id or "",
        )


def _check_petitioner(state: PetitionState, actor: Actor, doing: str) -> None:
    if actor.role is not Role.PETITIONER or actor.id != state.petitioner_id:
        raise Refused(RefusalCode.NOT_PETITIONER, f"only the petitioner may {doing}", doing=doing)


def _check_stage(state: PetitionState, doing: str, *, allowed: tuple[Stage, ...]) -> None:
    if state.stage not in allowed:
        names = " or ".join(s.value for s in allowed)
        raise Refused(
            RefusalCode.WRONG_STAGE,
            f"cannot {doing} in stage {state.stage}; only in stage {names}",
            key="wrong_stage.not_now",
            doing=doing,
            stage=state.stage.value,
            allowed=names,
        )


def _check_working(state: PetitionState, doing: str, *, allowed: tuple[Stage, ...]) -> None:
    _check_stage(state, doing, allowed=allowed)
    if state.paused:
        raise Refused(
            RefusalCode.WRONG_STAGE,
            f"cannot {doing} while waiting for the petitioner's information",
            key="wrong_stage.waiting_for_info",
            doing=doing,
        )


def _check_not_top(state: PetitionState) -> None:
    if state.tier.above is None:
        raise Refused(
            RefusalCode.TOP_TIER,
            f"the {state.tier} tier is the top tier: nothing is above it; resolve the petition "
            "or record why it is not feasible",
            tier=state.tier.value,
        )


# ----------------------------------------------------------------------------------------- evolve


def fold(events: Iterable[Event], state: PetitionState | None = None) -> PetitionState:
    """Fold ``events`` onto ``state`` (or onto nothing, starting from ``PetitionFiled``)."""
    for event in events:
        state = evolve(state, event)
    if state is None:
        raise ValueError("no events to fold")
    return state


def evolve(state: PetitionState | None, event: Event) -> PetitionState:
    """The state after ``event``. Pure: ``state`` is not changed.

    Raises:
        ValueError: the event cannot come now (a second filing, an event before the filing), or
            its changes name a field ``PetitionState`` does not have (``copy_with``).
    """
    if isinstance(event, PetitionFiled):
        if state is not None:
            raise ValueError("PetitionFiled can only start a petition")
        return _filed(event)
    if state is None:
        raise ValueError(f"{event.type} before PetitionFiled")
    changes = _changes(state, event)
    changes["seq"] = state.seq + 1
    changes["updated_at"] = event.at
    return copy_with(state, changes)


def _filed(event: PetitionFiled) -> PetitionState:
    table = event.policy.deadlines(event.tier, event.urgency)
    return PetitionState(
        petition_id=event.petition_id,
        petitioner_id=event.petitioner_id,
        region=event.region,
        description=event.description,
        channel=event.channel,
        category=event.category,
        contact_cadre_id=event.contact_cadre_id,
        urgency=event.urgency,
        policy=event.policy,
        seq=1,
        filed_at=event.at,
        updated_at=event.at,
        tier=event.tier,
        stage=Stage.COLLECT,
        tier_entered_at=event.at,
        tiers_visited=(event.tier,),
        respond_by=event.respond_by,
        respond_window=table.respond_within,
        resolve_by=event.resolve_by,
        resolve_window=table.resolve_within,
    )


def _without(clocks: tuple[Clock, ...], clock: Clock) -> tuple[Clock, ...]:
    return tuple(c for c in clocks if c is not clock)


def _changes(state: PetitionState, event: Event) -> dict[str, object]:
    match event:
        case Acknowledged():
            return {
                "stage": Stage.ASSESS,
                "respond_by": None,
                "acknowledged_by": event.actor.id,
                "overdue": _without(state.overdue, Clock.RESPOND),
                "reminded": tuple(r for r in state.reminded if r[0] is not Clock.RESPOND),
            }
        case Assessed():
            assessed: dict[str, object] = {
                "stage": Stage.RESOLVE if event.decision is AssessmentDecision.ACCEPT else Stage.ASSESS,
                "category": event.category,
                "urgency": event.urgency,
                "common_issue": event.common_issue,
                "resolve_by": event.resolve_by,
            }
            if event.resolve_by is not None and event.resolve_by != state.resolve_by:
                # Tightened for urgency: remind on the urgent window from now, or the reminders
                # computed on the old, longer window would already be due.
                assessed["resolve_window"] = event.resolve_by - event.at
            return assessed
        case InfoRequested():
            return {"info_requested_at": event.at, "info_question": event.question}
        case InfoProvided() | InfoWaitLapsed():
            resumed: dict[str, object] = {
                "info_requested_at": None,
                "info_question": None,
                "resolve_by": event.resolve_by,
            }
            if _overdue_reminders_paused(state):
                # They stopped with the clock: resume them where they stopped, not all due at once.
                assert state.last_overdue_reminder_at is not None and state.info_requested_at is not None
                paused_for = event.at - state.info_requested_at
                resumed["last_overdue_reminder_at"] = state.last_overdue_reminder_at + paused_for
            return resumed
        case Resolved():
            return {
                "stage": Stage.FEEDBACK,
                "resolution": Resolution(
                    tier=event.tier,
                    outcome=event.outcome,
                    public_summary=event.public_summary,
                    resolved_at=event.at,
                    resolved_by=event.actor.id,
                    on_time=event.on_time,
                ),
                "feedback_by": event.feedback_by,
                "rating": None,
                "respond_by": None,
                "resolve_by": None,
                "info_requested_at": None,
                "info_question": None,
                "overdue": (),
                "last_overdue_reminder_at": None,
            }
        case Escalated():
            table = state.policy.deadlines(event.to_tier, state.urgency)
            return {
                "tier": event.to_tier,
                "stage": Stage.COLLECT,
                "tier_entered_at": event.at,
                "tiers_visited": (*state.tiers_visited, event.to_tier),
                "respond_by": event.respond_by,
                "respond_window": table.respond_within,
                "resolve_by": event.resolve_by,
                "resolve_window": table.resolve_within,
                "reminded": (),
                "acknowledged_by": None,
                "info_requested_at": None,
                "info_question": None,
                "overdue": (),
                "last_overdue_reminder_at": None,
                "feedback_by": None,
                "rounds_at_tier": 0,
            }
        case ReminderDue():
            if event.point is None:
                return {"last_overdue_reminder_at": event.at}
            return {"reminded": (*state.reminded, (event.clock, event.point))}
        case DeadlineMissed():
            changes: dict[str, object] = {"deadlines_missed": state.deadlines_missed + 1}
            if event.tier.above is None:  # nothing above: the petition stays here, overdue
                changes["overdue"] = (*_without(state.overdue, event.clock), event.clock)
                changes["last_overdue_reminder_at"] = event.at
                changes["respond_by" if event.clock is Clock.RESPOND else "resolve_by"] = None
            return changes
        case FeedbackReceived():
            return {"rating": event.rating}
        case Reopened():
            return {
                "stage": Stage.ASSESS,
                "rounds_at_tier": event.round,
                "reopen_count": state.reopen_count + 1,
                "resolve_by": event.resolve_by,
                "resolve_window": state.policy.deadlines(state.tier, state.urgency).resolve_within,
                "reminded": tuple(r for r in state.reminded if r[0] is not Clock.RESOLVE),
                "feedback_by": None,
                "closed_reason": None,
                "closed_at": None,
                "return_visit_due": None,
                "return_visit_notified": False,
                "return_visit_by": None,
            }
        case Closed():
            return {
                "stage": Stage.CLOSED,
                "closed_reason": event.reason,
                "closed_at": event.at,
                "return_visit_due": event.return_visit_due,
                "feedback_by": None,
            }
        case Withdrawn():
            return {
                "stage": Stage.CLOSED,
                "closed_reason": ClosedReason.WITHDRAWN,
                "closed_at": event.at,
                "finished": True,
                "respond_by": None,
                "resolve_by": None,
                "feedback_by": None,
                "info_requested_at": None,
                "overdue": (),
            }
        case ReturnVisitDue():
            return {"return_visit_notified": True, "return_visit_by": event.visit_by}
        case ReturnVisitRecorded():
            return {"finished": event.held}
        case ReturnVisitLapsed():
            return {"finished": True}
    raise AssertionError(f"unknown event {event!r}")  # pragma: no cover


def current_deadline(state: PetitionState) -> datetime | None:
    """The deadline the petition is working towards now (Open311's ``expected_datetime``)."""
    return state.respond_by or state.resolve_by or state.feedback_by

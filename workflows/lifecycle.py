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
from datetime import datetime, timedelta

from schemas.commands import (
    AcknowledgeInput,
    Action,
    AnswerSummonsInput,
    AssessInput,
    DirectoryChangeInput,
    DispatchInput,
    EscalateInput,
    FilePetitionInput,
    ProvideInfoInput,
    RateInput,
    RecordReturnVisitInput,
    RequestInfoInput,
    ResolveInput,
    SendBackInput,
    SignForInput,
    SummonInput,
    TimerFired,
    WithdrawInput,
)
from schemas.common import (
    SYSTEM,
    Actor,
    AssessmentDecision,
    Clock,
    ClosedReason,
    PersonId,
    Rating,
    RefusalCode,
    RegionPath,
    Role,
    Stage,
    Tier,
    Urgency,
    copy_with,
)
from schemas.directory import OfficeKind
from schemas.events import (
    Acknowledged,
    Assessed,
    Closed,
    ContactCadreChanged,
    DeadlineMissed,
    Dispatched,
    DispatchMissed,
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
from schemas.offices import Intake, OfficeRef, Summons, territorial, territorial_chain
from schemas.policy import DispatchRules, Policy
from schemas.state import PetitionState, Resolution
from schemas.timers import Timer, TimerKind

Command = FilePetitionInput | Action | TimerFired | DirectoryChangeInput


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


def decide(
    state: PetitionState | None, command: Command, now: datetime, *, closing_reminder: bool = False
) -> list[Event]:
    """The events ``command`` causes at ``now``. With ``closing_reminder`` (the workflow's
    ``feedback-closing-reminder`` patch) the petitioner is reminded before the feedback window closes.

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
        return _filing(command, now)
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
        pending = next_timer(state, closing_reminder=closing_reminder)
        if pending != command.timer or now < pending.at:
            raise Refused(RefusalCode.STALE_TIMER, "that timer is not the one due now")
        return _on_timer(state, pending, now)
    events = catch_up(state, now, closing_reminder=closing_reminder)
    return events + _on_action(fold(events, state), command, now)


def catch_up(state: PetitionState, now: datetime, *, closing_reminder: bool = False) -> list[Event]:
    """The events of every timer due at or before ``now``, in order."""
    events: list[Event] = []
    while (timer := next_timer(state, closing_reminder=closing_reminder)) is not None and timer.at <= now:
        fired = _on_timer(state, timer, now)
        events += fired
        state = fold(fired, state)
    return events


def _file(command: FilePetitionInput, now: datetime, tier: Tier | None = None) -> PetitionFiled:
    tier = tier or command.tier
    respond_by, resolve_by = _deadlines(command.policy, tier, command.urgency, now)
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
        tier=tier,
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
    if isinstance(command, DirectoryChangeInput):  # closed petitions too: the return visit is owed
        return _directory_change(state, command, now)
    if state.stage is Stage.CLOSED and not isinstance(command, RecordReturnVisitInput):
        raise Refused(RefusalCode.CLOSED, "the petition is closed: only a return visit can be recorded")
    if isinstance(command, _OFFICE_ACTIONS):
        return _on_office_action(state, command, now)
    _check_not_in_intake(state, command)
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
            return [_escalate(state, command.actor, command.reason, now, automatic=False)]
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
        events.append(_escalate(escalating, command.actor, command.reason, now, automatic=False))
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
    elif not _at_top(state):
        rounds = state.rounds_at_tier + 1
        reason = f"the petitioner was dissatisfied {rounds} time{'s' * (rounds > 1)} at the {state.tier} tier"
        events.append(_escalate(state, SYSTEM, reason, now, automatic=True))
    else:
        events.append(_closing(state, ClosedReason.DISSATISFIED_AT_TOP, command.actor, now))
    return events


def _record_return_visit(state: PetitionState, command: RecordReturnVisitInput, now: datetime) -> list[Event]:
    actor = command.actor
    _check_not_recused(state, actor, "record a return visit")
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


def _directory_change(state: PetitionState, command: DirectoryChangeInput, now: datetime) -> list[Event]:
    """What a change of the directory changes for this petition: who answers for it, who its cadre is."""
    if command.actor.role is not Role.SYSTEM:
        raise Refused(
            RefusalCode.NOT_AN_OFFICIAL,
            "only the system records a directory change (petitionflow directory notify-open)",
        )
    events: list[Event] = []
    current = state.answering or state.region
    if command.answering is not None and command.answering != current:
        renamed = {
            current.at(t): command.answering.at(t) for t in Tier if current.at(t) != command.answering.at(t)
        }
        events.append(
            RegionRenamed(
                at=now,
                actor=command.actor,
                renamed=renamed,
                answering=command.answering,
                directory_version=command.directory_version,
            )
        )
    if command.contact_cadre_id is not None and command.contact_cadre_id != state.contact_cadre_id:
        events.append(
            ContactCadreChanged(
                at=now,
                actor=command.actor,
                from_cadre_id=state.contact_cadre_id,
                to_cadre_id=command.contact_cadre_id,
                directory_version=command.directory_version,
            )
        )
    return events


# ---------------------------------------------------------------------------------------- timers


def feedback_reminder_at(state: PetitionState) -> datetime:
    """When the petitioner is reminded to rate: a day before the feedback window closes, or half
    way through a window shorter than two days."""
    assert state.feedback_by is not None
    return state.feedback_by - min(FEEDBACK_REMINDER_LEAD, state.policy.feedback_window / 2)


FEEDBACK_REMINDER_LEAD = timedelta(days=1)


def next_timer(state: PetitionState, *, closing_reminder: bool = False) -> Timer | None:
    """The earliest timer still pending, or None when nothing more is due on its own.

    ``closing_reminder`` adds the reminder before the feedback window closes (see ``decide``)."""
    if state.finished:
        return None
    if state.stage in (Stage.DISPATCH, Stage.SIGN_FOR) or state.summons:
        return min(_office_timers(state, closing_reminder=closing_reminder), key=_timer_order, default=None)
    return _lifecycle_timer(state, closing_reminder=closing_reminder)


def _lifecycle_timer(state: PetitionState, *, closing_reminder: bool) -> Timer | None:
    """The next timer of the loop collect → assess → resolve → feedback → closed."""
    if state.stage is Stage.CLOSED:
        if not state.return_visit_notified:
            assert state.return_visit_due is not None
            return Timer(kind=TimerKind.RETURN_VISIT, at=state.return_visit_due)
        assert state.return_visit_by is not None
        return Timer(kind=TimerKind.RETURN_VISIT_WINDOW, at=state.return_visit_by)
    if state.stage is Stage.FEEDBACK:
        assert state.feedback_by is not None
        if closing_reminder and not state.feedback_reminded:
            return Timer(kind=TimerKind.FEEDBACK_CLOSING, at=feedback_reminder_at(state))
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
                region_id=state.answering_at(tier) if state.office is None else state.office.region_id,
                clock=timer.clock,
                due_at=timer.at,
                official_id=_answerable(state),
            )
            if _at_top(state):
                return [missed]
            reason = f"the {timer.clock} deadline at the {tier} tier passed"
            if state.office is not None:
                reason = f"the {timer.clock} deadline of {state.office} passed"
            return [missed, _escalate(state, SYSTEM, reason, now, automatic=True)]
        case TimerKind.INFO_WAIT_LIMIT:
            return [InfoWaitLapsed(at=now, actor=SYSTEM, tier=tier, resolve_by=_resumed_deadline(state, now))]
        case TimerKind.FEEDBACK_WINDOW:
            return [_closing(state, ClosedReason.UNRATED, SYSTEM, now)]
        case TimerKind.FEEDBACK_CLOSING:
            assert state.feedback_by is not None
            return [FeedbackClosingSoon(at=now, actor=SYSTEM, tier=tier, closes_at=state.feedback_by)]
        case TimerKind.RETURN_VISIT if state.recused_person_id == state.contact_cadre_id:
            # The cadre the complaint is about is not sent back to the household.
            return [
                OfficeReturnVisitDue(
                    at=now,
                    actor=SYSTEM,
                    office=holding_office(state),
                    visit_by=now + state.policy.return_visit_window,
                )
            ]
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
        case TimerKind.DISPATCH_LIMIT | TimerKind.SIGN_FOR_LIMIT | TimerKind.SUMMONS_LIMIT:
            return _on_office_timer(state, timer, now)
    raise AssertionError(f"unknown timer {timer.kind}")  # pragma: no cover


def _due(state: PetitionState, clock: Clock) -> datetime:
    due = state.respond_by if clock is Clock.RESPOND else state.resolve_by
    assert due is not None
    return due


def _answerable(state: PetitionState) -> str | None:
    """Who answers for a missed deadline: the official who took it up, else the contact cadre."""
    if state.acknowledged_by is not None:
        return state.acknowledged_by
    if state.recused_person_id == state.contact_cadre_id:
        return None
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
    """Only an official of the petition's current tier whose region covers it may act for it; of
    the holding office, when an office holds it; never one recused from it."""
    _check_not_recused(state, actor, doing)
    if state.office is not None:
        _check_serves(state.office, actor, doing)
        return
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
    answering = state.answering_at(state.tier)
    if actor.region_id not in (region, answering):
        # A merged or moved region (RegionRenamed): its successor's officials answer for it too.
        belongs = region if answering == region else f"{answering} (filed under {region})"
        raise Refused(
            RefusalCode.WRONG_REGION,
            f"the petition belongs to {state.tier} {belongs}; "
            f"{actor.id} serves {state.tier} {actor.region_id}",
            tier=state.tier.value,
            region=region,
            actor=actor.id,
            actor_region=actor.region_id or "",
        )
    if actor.role is Role.CONTACT_CADRE and actor.id in state.former_contact_cadres:
        raise Refused(
            RefusalCode.NOT_AN_OFFICIAL,
            f"{actor.id} is no longer the household's contact cadre ({state.contact_cadre_id} is, since "
            "the directory changed)",
        )
    if actor.office_id is not None:  # a department's or a centre's official, not the government's
        raise Refused(
            RefusalCode.WRONG_OFFICE,
            f"the {state.tier} government of {region} holds the petition; "
            f"{actor.id} serves {actor.office_id}",
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
    if state.office is not None:
        if not state.chain:
            raise Refused(
                RefusalCode.TOP_TIER,
                f"{state.office} has no supervising office: nothing is above it; resolve the petition "
                "or record why it is not feasible",
            )
        return
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


def _fresh_clocks(
    state: PetitionState, tier: Tier, respond_by: datetime, resolve_by: datetime
) -> dict[str, object]:
    """What a petition that moved up (to a tier, or to a supervising office) starts over with: the
    new holder's respond and resolve clocks, and nothing of the last holder's work on it."""
    table = state.policy.deadlines(tier, state.urgency)
    return {
        "respond_by": respond_by,
        "respond_window": table.respond_within,
        "resolve_by": resolve_by,
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
                "feedback_reminded": False,
                "rating": None,
                "respond_by": None,
                "resolve_by": None,
                "info_requested_at": None,
                "info_question": None,
                "overdue": (),
                "last_overdue_reminder_at": None,
            }
        case Escalated():
            return {
                "tier": event.to_tier,
                "stage": Stage.COLLECT,
                "tier_entered_at": event.at,
                "tiers_visited": (*state.tiers_visited, event.to_tier),
                **_fresh_clocks(state, event.to_tier, event.respond_by, event.resolve_by),
            }
        case ReminderDue():
            if event.point is None:
                return {"last_overdue_reminder_at": event.at}
            return {"reminded": (*state.reminded, (event.clock, event.point))}
        case DeadlineMissed():
            changes: dict[str, object] = {"deadlines_missed": state.deadlines_missed + 1}
            if _at_top(state):  # nothing above: the petition stays here, overdue
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
        case RegionRenamed():
            return {"answering": event.answering}
        case ContactCadreChanged():
            former = tuple(
                c for c in (*state.former_contact_cadres, event.from_cadre_id) if c != event.to_cadre_id
            )
            return {"contact_cadre_id": event.to_cadre_id, "former_contact_cadres": former}
        case FeedbackClosingSoon():
            return {"feedback_reminded": True}
    return _office_changes(state, event)


def current_deadline(state: PetitionState) -> datetime | None:
    """The deadline the petition is working towards now (Open311's ``expected_datetime``, the work
    queue's order): waiting for dispatch or for signing for, that stage's limit."""
    if state.stage is Stage.DISPATCH:
        return state.dispatch_by
    if state.stage is Stage.SIGN_FOR:
        return state.sign_for_by
    return state.respond_by or state.resolve_by or state.feedback_by


# ------------------------------------------------------------------------ offices and dispatch
# Issue 12: a petition held by an office. None of this runs for a petition filed before offices
# (``state.office`` is None and nothing below is ever reached for it), which keeps its tier chain.


def holding_office(state: PetitionState) -> OfficeRef:
    """The one office that holds the petition now: the office named, else the territorial office
    of its tier and region (every petition filed before offices)."""
    if state.office is not None:
        return state.office
    return territorial(state.tier, state.region.at(state.tier))


def serves(actor: Actor, office: OfficeRef) -> bool:
    """Whether ``actor`` is an official (or cadre) of ``office``: its tier, its region and, when
    the actor names an office (a department or a centre: a territorial office's officials name
    none), that office; an actor naming none serves the territorial office."""
    if actor.role not in (Role.OFFICIAL, Role.CONTACT_CADRE):
        return False
    if actor.tier is not office.tier or actor.region_id != office.region_id:
        return False
    if actor.office_id is not None:
        return actor.office_id == office.office_id
    return office.kind is OfficeKind.TERRITORIAL


def in_area(office: OfficeRef, area: OfficeRef, state: PetitionState) -> bool:
    """Whether ``office`` lies in ``area``'s area for this petition: at or below ``area``'s tier,
    and serving the petition's own region at that tier (a territorial office down the petition's
    path, or a department of its county or city)."""
    return (
        office.tier.rank <= area.tier.rank
        and office.region_id == state.region.at(office.tier)
        and area.region_id == state.region.at(area.tier)
    )


def _filing(command: FilePetitionInput, now: datetime) -> list[Event]:
    intake = command.intake
    if intake is None and command.about is not None:
        intake = _recusal_intake(command)
    if intake is None:
        return [_file(command, now)]
    filed = _file(command, now, tier=intake.office.tier)
    opened = IntakeOpened(
        at=now,
        actor=SYSTEM,
        office=intake.office,
        chain=intake.chain,
        centre=intake.centre,
        about=command.about if intake.about is None else intake.about,
        recused_office=intake.recused_office,
        recused_person_id=intake.recused_person_id,
        rules=intake.rules,
        dispatch_by=now + intake.rules.dispatch_within if intake.centre else None,
    )
    return [filed, opened]


def _recusal_intake(command: FilePetitionInput) -> Intake:
    """The territorial default of a complaint about the village's cadre or office, when the door
    resolved no office: held by the office one level up, with the village office and its cadre
    recused."""
    village = territorial(command.tier, command.region.at(command.tier))
    chain = territorial_chain(command.tier, command.region)
    if not chain:
        raise Refused(
            RefusalCode.TOP_TIER, f"nothing is above {village}: a complaint about it has nowhere to go"
        )
    return Intake(
        office=chain[0],
        chain=chain[1:],
        about=command.about,
        recused_office=village,
        recused_person_id=command.contact_cadre_id,
    )


_OFFICE_ACTIONS = (DispatchInput, SignForInput, SendBackInput, SummonInput, AnswerSummonsInput)
_INTAKE_STAGES = (Stage.DISPATCH, Stage.SIGN_FOR)


def _check_not_in_intake(state: PetitionState, command: Command) -> None:
    """The loop's actions wait until an office has signed for the petition."""
    if state.stage not in _INTAKE_STAGES or not isinstance(
        command, AcknowledgeInput | AssessInput | RequestInfoInput | ResolveInput | EscalateInput
    ):
        return
    _check_official(state, command.actor, f"{command.kind.replace('_', ' ')}")
    waiting = (
        "to be dispatched" if state.stage is Stage.DISPATCH else f"for {holding_office(state)} to sign for it"
    )
    raise Refused(RefusalCode.WRONG_STAGE, f"the petition is in stage {state.stage}: it waits {waiting}")


def _rules(state: PetitionState) -> DispatchRules:
    return state.rules or DispatchRules()


def _on_office_action(state: PetitionState, command: Command, now: datetime) -> list[Event]:
    match command:
        case DispatchInput():
            return _dispatch(state, command, now)
        case SignForInput():
            _check_official(state, command.actor, "sign for")
            _check_stage(state, "sign for", allowed=(Stage.SIGN_FOR,))
            window = state.policy.deadlines(state.tier, state.urgency).resolve_within
            return [
                SignedFor(
                    at=now,
                    actor=command.actor,
                    office=holding_office(state),
                    resolve_by=now + window,
                    note=command.note,
                )
            ]
        case SendBackInput():
            return _send_back(state, command, now)
        case SummonInput():
            return _summon(state, command, now)
        case AnswerSummonsInput():
            return _answer_summons(state, command, now)
    raise TypeError(f"not an office action: {command!r}")  # pragma: no cover


def _dispatch(state: PetitionState, command: DispatchInput, now: datetime) -> list[Event]:
    _check_official(state, command.actor, "dispatch")
    _check_stage(state, "dispatch", allowed=(Stage.DISPATCH,))
    holder, target = holding_office(state), command.office
    if target.kind is OfficeKind.CENTRE:
        raise Refused(
            RefusalCode.OUTSIDE_AREA, f"{target} is a centre: dispatch to an office that handles it"
        )
    if target.office_id == holder.office_id:
        raise Refused(RefusalCode.OUTSIDE_AREA, f"{target} already holds the petition")
    if not in_area(target, holder, state):
        raise Refused(
            RefusalCode.OUTSIDE_AREA,
            f"{target} ({target.tier} {target.region_id}) is outside the area of {holder} for this "
            f"petition: dispatch to an office of {state.region.at(target.tier)} "
            f"at or below the {holder.tier} tier",
        )
    if state.recused_office is not None and target.office_id == state.recused_office.office_id:
        raise Refused(RefusalCode.RECUSED, f"{target} is recused: the petition is about it")
    rules = _rules(state)
    return [
        Dispatched(
            at=now,
            actor=command.actor,
            from_office=holder,
            to_office=target,
            chain=command.chain,
            sign_for_by=now + rules.sign_for_within,
            on_time=state.dispatch_by is not None and now <= state.dispatch_by,
            final=state.send_backs >= rules.send_backs_before_supervisor,
            note=command.note,
        )
    ]


def _send_back(state: PetitionState, command: SendBackInput, now: datetime) -> list[Event]:
    _check_official(state, command.actor, "send back")
    _check_stage(state, "send back", allowed=(Stage.SIGN_FOR, Stage.COLLECT, Stage.ASSESS, Stage.RESOLVE))
    if state.centre is None or state.received_at is None:
        raise Refused(
            RefusalCode.WRONG_STAGE, "only an office a centre dispatched the petition to may send it back"
        )
    if state.final_dispatch:
        decider = state.deciding or state.centre
        raise Refused(
            RefusalCode.SUPERVISOR_DECIDED,
            f"{decider} decided after {state.send_backs} send-backs "
            f"that the petition is {holding_office(state)}'s",
        )
    rules = _rules(state)
    closes = state.received_at + rules.send_back_within
    if now > closes:
        raise Refused(
            RefusalCode.WINDOW_CLOSED,
            f"the send-back window closed at {closes.isoformat()}, "
            f"{rules.send_back_within} after the petition was received",
        )
    count = state.send_backs + 1
    events: list[Event] = [
        SentBack(
            at=now,
            actor=command.actor,
            office=holding_office(state),
            to_office=state.centre,
            reason=command.reason,
            count=count,
            dispatch_by=now + rules.dispatch_within,
        )
    ]
    if count >= rules.send_backs_before_supervisor and state.centre_chain:
        events.append(
            ReferredToSupervisor(
                at=now,
                actor=SYSTEM,
                from_office=state.centre,
                to_office=state.centre_chain[0],
                chain=state.centre_chain[1:],
                send_backs=count,
                dispatch_by=now + rules.dispatch_within,
            )
        )
    return events


def _summon(state: PetitionState, command: SummonInput, now: datetime) -> list[Event]:
    _check_official(state, command.actor, "summon offices")
    _check_working(state, "summon offices", allowed=(Stage.COLLECT, Stage.ASSESS, Stage.RESOLVE))
    holder = holding_office(state)
    ids = [office.office_id for office in command.offices]
    if len(set(ids)) != len(ids):
        raise Refused(RefusalCode.WRONG_OFFICE, "an office is named more than once")
    pending = {s.office.office_id for s in state.summons if s.pending}
    for office in command.offices:
        if office.office_id == holder.office_id:
            raise Refused(RefusalCode.WRONG_OFFICE, f"{office} holds the petition: it cannot summon itself")
        if office.office_id in pending:
            raise Refused(RefusalCode.WRONG_OFFICE, f"{office} is already summoned and has not answered")
        if state.recused_office is not None and office.office_id == state.recused_office.office_id:
            raise Refused(RefusalCode.RECUSED, f"{office} is recused: the petition is about it")
    return [
        Summoned(
            at=now,
            actor=command.actor,
            office=holder,
            offices=command.offices,
            answer_by=now + _rules(state).summons_answer_within,
            note=command.note,
        )
    ]


def _answer_summons(state: PetitionState, command: AnswerSummonsInput, now: datetime) -> list[Event]:
    actor = command.actor
    _check_not_recused(state, actor, "answer a summons")
    summons = next((s for s in state.summons if s.answered_at is None and serves(actor, s.office)), None)
    if summons is None:
        raise Refused(
            RefusalCode.NOT_SUMMONED,
            f"{actor.id} serves no office summoned to this petition that has yet to answer",
        )
    return [
        SummonsAnswered(
            at=now, actor=actor, office=summons.office, part=command.part, on_time=now <= summons.answer_by
        )
    ]


def _office_timers(state: PetitionState, *, closing_reminder: bool) -> Iterable[Timer]:
    if state.stage is Stage.DISPATCH:
        if state.dispatch_by is not None:
            yield Timer(kind=TimerKind.DISPATCH_LIMIT, at=state.dispatch_by)
    elif state.stage is Stage.SIGN_FOR:
        assert state.sign_for_by is not None
        yield Timer(kind=TimerKind.SIGN_FOR_LIMIT, at=state.sign_for_by)
    else:
        timer = _lifecycle_timer(state, closing_reminder=closing_reminder)
        if timer is not None:
            yield timer
    if state.stage is not Stage.CLOSED:
        for summons in state.summons:
            if summons.pending:
                yield Timer(
                    kind=TimerKind.SUMMONS_LIMIT, at=summons.answer_by, office_id=summons.office.office_id
                )


def _on_office_timer(state: PetitionState, timer: Timer, now: datetime) -> list[Event]:
    holder = holding_office(state)
    match timer.kind:
        case TimerKind.DISPATCH_LIMIT:
            return [DispatchMissed(at=now, actor=SYSTEM, office=holder, due_at=timer.at)]
        case TimerKind.SIGN_FOR_LIMIT:
            back_to = state.deciding or state.centre
            assert back_to is not None
            return [
                SignForMissed(
                    at=now,
                    actor=SYSTEM,
                    office=holder,
                    due_at=timer.at,
                    to_office=back_to,
                    dispatch_by=now + _rules(state).dispatch_within,
                )
            ]
        case TimerKind.SUMMONS_LIMIT:
            summons = next(s for s in state.summons if s.pending and s.office.office_id == timer.office_id)
            return [SummonsMissed(at=now, actor=SYSTEM, office=summons.office, due_at=timer.at)]
    raise AssertionError(f"not an office timer {timer.kind}")  # pragma: no cover


def _at_top(state: PetitionState) -> bool:
    """Nothing is above the holding office: its supervisors from the directory, or the tier chain."""
    if state.office is not None:
        return not state.chain
    return state.tier.above is None


def _escalate(state: PetitionState, actor: Actor, reason: str, now: datetime, *, automatic: bool) -> Event:
    """Up the tier chain, or, for an office-held petition, to the holding office's supervisor."""
    if state.office is None:
        return _escalation(state, actor, reason, now, automatic=automatic)
    above = state.chain[0]
    respond_by, resolve_by = _deadlines(state.policy, above.tier, state.urgency, now)
    return HandedUp(
        at=now,
        actor=actor,
        from_office=state.office,
        to_office=above,
        chain=state.chain[1:],
        reason=reason,
        automatic=automatic,
        respond_by=respond_by,
        resolve_by=resolve_by,
    )


def _check_serves(office: OfficeRef, actor: Actor, doing: str) -> None:
    if actor.role not in (Role.OFFICIAL, Role.CONTACT_CADRE):
        raise Refused(
            RefusalCode.NOT_AN_OFFICIAL,
            f"only an official of {office} may {doing}; the actor is a {actor.role}",
        )
    if actor.tier is not office.tier:
        raise Refused(
            RefusalCode.WRONG_TIER,
            f"{office} of the {office.tier} tier holds the petition; "
            f"{actor.id}, an official of the {actor.tier} tier, may not {doing} it",
        )
    if actor.region_id != office.region_id:
        raise Refused(
            RefusalCode.WRONG_REGION,
            f"{office} serves {office.tier} {office.region_id}; "
            f"{actor.id} serves {actor.tier} {actor.region_id}",
        )
    if not serves(actor, office):
        theirs = actor.office_id or f"the {actor.tier} government of {actor.region_id}"
        raise Refused(RefusalCode.WRONG_OFFICE, f"{office} holds the petition; {actor.id} serves {theirs}")


def is_recused(state: PetitionState, actor: Actor) -> bool:
    """Whether the petition is about ``actor`` (its cadre, or an official of its office): they may
    neither act on it, nor read it, nor be told of it."""
    if actor.id == state.recused_person_id:
        return True
    return state.recused_office is not None and serves(actor, state.recused_office)


def holds(state: PetitionState, actor: Actor) -> bool:
    """Whether ``actor`` serves the office holding the petition now (``holding_office``): with its
    contact cadre, the only ones who see the petitioner's contact."""
    return serves(actor, holding_office(state))


def may_know(actor: Actor, region: RegionPath, contact_cadre_id: PersonId) -> bool:
    """Whether ``actor`` may know that a petition filed on ``region`` exists and open it: an
    auditor; the petition's contact cadre; an official or cadre whose region is on its path at
    their tier. (Recusal, ``is_recused``, comes on top.)"""
    if actor.role is Role.AUDITOR:
        return True
    if actor.role is Role.CONTACT_CADRE and actor.id == contact_cadre_id:
        return True
    if actor.role in (Role.OFFICIAL, Role.CONTACT_CADRE) and actor.tier is not None:
        return region.at(actor.tier) == actor.region_id
    return False


def _check_not_recused(state: PetitionState, actor: Actor, doing: str) -> None:
    if is_recused(state, actor):
        raise Refused(RefusalCode.RECUSED, f"{actor.id} is recused from this petition and may not {doing} it")


def _moved_to(state: PetitionState, office: OfficeRef, at: datetime) -> dict[str, object]:
    """Changes when ``office`` takes the petition: its tier, and a new tier visited if it is one."""
    visited = state.tiers_visited
    if visited[-1] is not office.tier:
        visited = (*visited, office.tier)
    return {"office": office, "tier": office.tier, "tiers_visited": visited, "tier_entered_at": at}


def _back_to_dispatch(
    state: PetitionState, office: OfficeRef, at: datetime, dispatch_by: datetime
) -> dict[str, object]:
    """Changes when the petition returns to ``office`` (the centre, or the supervisor deciding for
    it) to be dispatched again."""
    deciding = state.deciding is not None and office.office_id == state.deciding.office_id
    return {
        **_moved_to(state, office, at),
        "chain": state.centre_chain[1:] if deciding else state.centre_chain,
        "stage": Stage.DISPATCH,
        "dispatch_by": dispatch_by,
        "dispatch_entered_at": at,
        "sign_for_by": None,
        "received_at": None,
        "respond_by": None,
        "resolve_by": None,
        "reminded": (),
        "acknowledged_by": None,
        "info_requested_at": None,
        "info_question": None,
        "overdue": (),
        "last_overdue_reminder_at": None,
    }


def _office_changes(state: PetitionState, event: Event) -> dict[str, object]:
    match event:
        case IntakeOpened():
            opened: dict[str, object] = {
                "office": event.office,
                "chain": event.chain,
                "rules": event.rules,
                "about": event.about,
                "recused_office": event.recused_office,
                "recused_person_id": event.recused_person_id,
            }
            if event.centre:
                opened |= {
                    "centre": event.office,
                    "centre_chain": event.chain,
                    "stage": Stage.DISPATCH,
                    "dispatch_by": event.dispatch_by,
                    "dispatch_entered_at": event.at,
                    "respond_by": None,
                    "resolve_by": None,
                }
            return opened
        case Dispatched():
            return {
                **_moved_to(state, event.to_office, event.at),
                "chain": event.chain,
                "stage": Stage.SIGN_FOR,
                "dispatch_by": None,
                "dispatch_entered_at": None,
                "sign_for_by": event.sign_for_by,
                "received_at": event.at,
                "final_dispatch": event.final,
            }
        case DispatchMissed():
            return {"dispatch_by": None}
        case SignedFor():
            table = state.policy.deadlines(state.tier, state.urgency)
            return {
                "stage": Stage.ASSESS,
                "sign_for_by": None,
                "acknowledged_by": event.actor.id,
                "respond_by": None,
                "respond_window": table.respond_within,
                "resolve_by": event.resolve_by,
                "resolve_window": table.resolve_within,
                "reminded": (),
            }
        case SignForMissed():
            return _back_to_dispatch(state, event.to_office, event.at, event.dispatch_by)
        case SentBack():
            return {
                **_back_to_dispatch(state, event.to_office, event.at, event.dispatch_by),
                "send_backs": event.count,
                "final_dispatch": False,
            }
        case ReferredToSupervisor():
            return {
                **_moved_to(state, event.to_office, event.at),
                "chain": event.chain,
                "deciding": event.to_office,
                "dispatch_by": event.dispatch_by,
            }
        case Summoned():
            added = tuple(
                Summons(office=office, summoned_at=event.at, answer_by=event.answer_by)
                for office in event.offices
            )
            return {"summons": (*state.summons, *added)}
        case SummonsAnswered() | SummonsMissed():
            return {"summons": _summons_after(state.summons, event)}
        case HandedUp():
            return {
                **_moved_to(state, event.to_office, event.at),
                "chain": event.chain,
                "stage": Stage.COLLECT,
                "received_at": None,
                "final_dispatch": False,
                **_fresh_clocks(state, event.to_office.tier, event.respond_by, event.resolve_by),
            }
        case OfficeReturnVisitDue():
            return {"return_visit_notified": True, "return_visit_by": event.visit_by}
    raise AssertionError(f"unknown event {event!r}")  # pragma: no cover


def _summons_after(
    summons: tuple[Summons, ...], event: SummonsAnswered | SummonsMissed
) -> tuple[Summons, ...]:
    """The first open summons of the event's office, answered or missed; the others as they were."""
    done = False
    after = []
    for s in summons:
        if not done and s.office.office_id == event.office.office_id and s.answered_at is None:
            if isinstance(event, SummonsAnswered):
                s = copy_with(s, {"answered_at": event.at})
                done = True
            elif not s.missed:
                s = copy_with(s, {"missed": True})
                done = True
        after.append(s)
    return tuple(after)

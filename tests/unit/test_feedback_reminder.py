"""The reminder before the feedback window closes (the workflow's ``feedback-closing-reminder``
patch): a timer of its own, one ``FeedbackClosingSoon`` per resolution, none without the patch."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import AcknowledgeInput, AssessInput, RateInput, ResolveInput, TimerFired
from schemas.common import SYSTEM, AssessmentDecision, ClosedReason, Outcome, Rating, Tier
from schemas.events import Closed, FeedbackClosingSoon
from schemas.policy import Policy
from schemas.state import PetitionState
from schemas.timers import Timer, TimerKind
from store.projections import project
from tests.unit._petitions import PETITIONER, POLICY, T0, days, filing, hours, official
from workflows.lifecycle import catch_up, decide, fold, next_timer

VILLAGE = official(Tier.VILLAGE)


def _resolved(policy: Policy = POLICY) -> tuple[PetitionState, datetime]:
    """Filed at T0, answered at the village four hours later; the state and the resolution's time."""
    history = decide(None, filing(policy=policy), T0)
    state = fold(history)
    for i, command in enumerate(
        [
            AcknowledgeInput(actor=VILLAGE),
            AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT),
            ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="Drain dug."),
        ]
    ):
        state = fold(decide(state, command, T0 + hours(i + 2)), state)
    return state, T0 + hours(4)


def test_with_the_patch_the_petitioner_is_reminded_a_day_before_the_window_closes() -> None:
    state, resolved_at = _resolved()
    assert state.feedback_by == resolved_at + days(7)
    timer = next_timer(state, closing_reminder=True)
    assert timer == Timer(kind=TimerKind.FEEDBACK_CLOSING, at=resolved_at + days(6))
    events = decide(state, TimerFired(timer=timer), timer.at, closing_reminder=True)
    assert events == [
        FeedbackClosingSoon(at=timer.at, actor=SYSTEM, tier=Tier.VILLAGE, closes_at=state.feedback_by)
    ]
    state = fold(events, state)
    assert state.feedback_reminded
    # Reminded once: the next timer is the window itself, which closes the petition unrated.
    assert next_timer(state, closing_reminder=True) == Timer(
        kind=TimerKind.FEEDBACK_WINDOW, at=state.feedback_by
    )


def test_without_the_patch_nothing_changes() -> None:
    state, resolved_at = _resolved()
    assert next_timer(state) == Timer(kind=TimerKind.FEEDBACK_WINDOW, at=resolved_at + days(7))
    assert [e.type for e in catch_up(state, resolved_at + days(8))] == ["Closed"]


def test_a_short_window_is_reminded_half_way() -> None:
    state, resolved_at = _resolved(Policy(feedback_window=hours(2)))
    timer = next_timer(state, closing_reminder=True)
    assert timer is not None and timer.at == resolved_at + hours(1)


def test_a_late_worker_fires_the_reminder_then_closes() -> None:
    state, resolved_at = _resolved()
    events = catch_up(state, resolved_at + days(9), closing_reminder=True)
    assert [type(e) for e in events] == [FeedbackClosingSoon, Closed]
    assert isinstance(events[1], Closed) and events[1].reason is ClosedReason.UNRATED


def test_a_rating_after_the_reminder_closes_as_rated_and_a_new_resolution_reminds_again() -> None:
    state, resolved_at = _resolved()
    reminded = catch_up(state, resolved_at + days(6), closing_reminder=True)
    state = fold(reminded, state)
    rated = decide(
        state,
        RateInput(actor=PETITIONER, rating=Rating.DISSATISFIED),
        resolved_at + days(6.5),
        closing_reminder=True,
    )
    state = fold(rated, state)
    assert [e.type for e in rated] == ["FeedbackReceived", "Reopened"]
    state = fold(
        decide(
            state,
            ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="Drain dug deeper."),
            resolved_at + days(7),
            closing_reminder=True,
        ),
        state,
    )
    assert not state.feedback_reminded
    timer = next_timer(state, closing_reminder=True)
    assert timer is not None and timer.kind is TimerKind.FEEDBACK_CLOSING


def test_the_reminder_is_owed_to_the_petitioner_only() -> None:
    history = [*decide(None, filing(), T0)]
    state = fold(history)
    for i, command in enumerate(
        [
            AcknowledgeInput(actor=VILLAGE),
            AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT),
            ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="Drain dug."),
        ]
    ):
        events = decide(state, command, T0 + hours(i + 2))
        history += events
        state = fold(events, state)
    history += catch_up(state, T0 + hours(4) + days(6), closing_reminder=True)
    projection = project(list(enumerate(history, start=1)))
    owed = [row for row in projection.notifications if row[4] == "feedback_closing_soon"]
    assert [(row[2], row[3]) for row in owed] == [("petitioner", PETITIONER.id)]
    assert '"closes_at": "' + (T0 + hours(4) + days(7)).isoformat() in owed[0][5]

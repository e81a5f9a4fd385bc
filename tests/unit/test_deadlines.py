"""Time: reminders before each deadline, automatic escalation on a miss, the city's overdue flag,
the info pause, urgency, and actions judged against the petition as time has left it."""

from __future__ import annotations

from datetime import datetime

import pytest

from schemas.commands import (
    AcknowledgeInput,
    AssessInput,
    EscalateInput,
    ProvideInfoInput,
    RequestInfoInput,
    ResolveInput,
)
from schemas.common import (
    SYSTEM,
    AssessmentDecision,
    Clock,
    Outcome,
    RefusalCode,
    Stage,
    Tier,
    Urgency,
)
from schemas.events import (
    Acknowledged,
    Assessed,
    DeadlineMissed,
    Escalated,
    Event,
    InfoProvided,
    InfoRequested,
    InfoWaitLapsed,
    ReminderDue,
    Resolved,
)
from schemas.policy import TierDeadlines
from schemas.timers import Timer, TimerKind
from tests.unit._petitions import CADRE_ID, PETITIONER, POLICY, T0, Petition, days, filing, hours, official
from workflows.lifecycle import Refused, catch_up, decide, fold, next_timer

VILLAGE = official(Tier.VILLAGE)
TOWNSHIP = official(Tier.TOWNSHIP)
CITY = official(Tier.CITY)


def reminders(tier: Tier, clock: Clock, start: datetime, due: datetime) -> list[Event]:
    """The policy's two reminders (at 50% and 75% of the window ``start``..``due``)."""
    window = due - start
    return [
        ReminderDue(at=start + window * p, actor=SYSTEM, tier=tier, clock=clock, due_at=due, point=p)
        for p in (0.5, 0.75)
    ]


def missed_and_escalated(
    tier: Tier,
    region_id: str,
    official_id: str | None,
    clock: Clock,
    due: datetime,
    above: Tier,
    urgency: Urgency = Urgency.NORMAL,
) -> list[Event]:
    """A missed deadline at a tier below the city, charged to ``official_id``, and the move up
    with the next tier's deadlines from the policy, counted from the miss."""
    fresh = POLICY.deadlines(above, urgency)
    return [
        DeadlineMissed(
            at=due,
            actor=SYSTEM,
            tier=tier,
            region_id=region_id,
            clock=clock,
            due_at=due,
            official_id=official_id,
        ),
        Escalated(
            at=due,
            actor=SYSTEM,
            from_tier=tier,
            to_tier=above,
            reason=f"the {clock.value} deadline at the {tier.value} tier passed",
            automatic=True,
            respond_by=due + fresh.respond_within,
            resolve_by=due + fresh.resolve_within,
        ),
    ]


def test_a_petition_nobody_answers_climbs_village_township_county_city_and_stays_overdue() -> None:
    p = Petition()
    at_township, at_county, at_city = T0 + days(1), T0 + days(3), T0 + days(6)

    # The village never acknowledged: the household's contact cadre answers for the miss.
    assert p.wait_until(at_township) == [
        *reminders(Tier.VILLAGE, Clock.RESPOND, T0, at_township),
        *missed_and_escalated(Tier.VILLAGE, "v-dongli", CADRE_ID, Clock.RESPOND, at_township, Tier.TOWNSHIP),
    ]
    # Above the village nobody took it up, so nobody is named.
    assert p.wait_until(at_county) == [
        *reminders(Tier.TOWNSHIP, Clock.RESPOND, at_township, at_county),
        *missed_and_escalated(Tier.TOWNSHIP, "t-xujiahu", None, Clock.RESPOND, at_county, Tier.COUNTY),
    ]
    assert p.wait_until(at_city) == [
        *reminders(Tier.COUNTY, Clock.RESPOND, at_county, at_city),
        *missed_and_escalated(Tier.COUNTY, "c-yishui", None, Clock.RESPOND, at_city, Tier.CITY),
    ]
    city_respond_by = at_city + days(3)
    assert p.wait_until(city_respond_by) == [
        *reminders(Tier.CITY, Clock.RESPOND, at_city, city_respond_by),
        DeadlineMissed(
            at=city_respond_by,
            actor=SYSTEM,
            tier=Tier.CITY,
            region_id="m-linyi",
            clock=Clock.RESPOND,
            due_at=city_respond_by,
            official_id=None,
        ),
    ]
    assert (p.state.tier, p.state.stage, p.state.overdue, p.state.respond_by) == (
        Tier.CITY,
        Stage.COLLECT,
        (Clock.RESPOND,),
        None,
    )
    assert p.state.tiers_visited == (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY)
    assert p.state.deadlines_missed == 4

    # Nothing is above the city: the petition is reminded every day instead.
    assert p.wait_until(city_respond_by + days(2)) == [
        ReminderDue(
            at=city_respond_by + days(n),
            actor=SYSTEM,
            tier=Tier.CITY,
            clock=Clock.RESPOND,
            due_at=city_respond_by + days(n),
            point=None,
        )
        for n in (1, 2)
    ]


def test_a_missed_resolve_deadline_is_charged_to_the_official_who_acknowledged() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))
    p.act(AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), T0 + hours(2))

    assert p.wait_until(T0 + days(7)) == [
        *reminders(Tier.VILLAGE, Clock.RESOLVE, T0, T0 + days(7)),
        *missed_and_escalated(
            Tier.VILLAGE, "v-dongli", VILLAGE.id, Clock.RESOLVE, T0 + days(7), Tier.TOWNSHIP
        ),
    ]
    assert (p.state.acknowledged_by, p.state.reminded) == (None, ())


def test_the_resolve_clock_keeps_running_at_the_tier_that_acknowledged() -> None:
    """Acknowledging meets the respond deadline only: the resolve deadline set on arrival stands."""
    p = Petition()
    p.act(EscalateInput(actor=VILLAGE, reason="township road"), T0)
    p.act(AcknowledgeInput(actor=TOWNSHIP), T0 + hours(5))

    assert p.wait_until(T0 + days(15)) == [
        *reminders(Tier.TOWNSHIP, Clock.RESOLVE, T0, T0 + days(15)),
        *missed_and_escalated(
            Tier.TOWNSHIP, "t-xujiahu", TOWNSHIP.id, Clock.RESOLVE, T0 + days(15), Tier.COUNTY
        ),
    ]


def test_at_the_city_a_missed_resolve_deadline_flags_the_petition_and_reminds_it_daily() -> None:
    p = Petition(filing(tier=Tier.CITY))
    p.act(AcknowledgeInput(actor=CITY), T0 + hours(1))
    p.act(AssessInput(actor=CITY, decision=AssessmentDecision.ACCEPT), T0 + hours(2))

    assert p.wait_until(T0 + days(33)) == [
        *reminders(Tier.CITY, Clock.RESOLVE, T0, T0 + days(30)),
        DeadlineMissed(
            at=T0 + days(30),
            actor=SYSTEM,
            tier=Tier.CITY,
            region_id="m-linyi",
            clock=Clock.RESOLVE,
            due_at=T0 + days(30),
            official_id=CITY.id,
        ),
        *(
            ReminderDue(
                at=T0 + days(n),
                actor=SYSTEM,
                tier=Tier.CITY,
                clock=Clock.RESOLVE,
                due_at=T0 + days(n),
                point=None,
            )
            for n in (31, 32, 33)
        ),
    ]
    assert p.state.is_overdue
    assert (p.state.tier, p.state.resolve_by, p.state.last_overdue_reminder_at) == (
        Tier.CITY,
        None,
        T0 + days(33),
    )

    late = p.act(ResolveInput(actor=CITY, outcome=Outcome.RESOLVED, public_summary="done"), T0 + days(33.5))

    assert late == [
        Resolved(
            at=T0 + days(33.5),
            actor=CITY,
            tier=Tier.CITY,
            outcome=Outcome.RESOLVED,
            public_summary="done",
            on_time=False,
            feedback_by=T0 + days(40.5),
        )
    ]
    assert (p.state.overdue, p.state.is_overdue) == ((), False)
    assert next_timer(p.state) == Timer(kind=TimerKind.FEEDBACK_WINDOW, at=T0 + days(40.5))


def test_at_the_city_past_both_deadlines_the_petition_can_still_be_assessed_and_asked_about() -> None:
    """Regression: past the top tier's resolve deadline there is no deadline left to carry, and
    assessing or pausing for information failed validating ``resolve_by=None``."""
    p = Petition(filing(tier=Tier.CITY))
    p.wait_until(T0 + days(30))
    assert p.state.overdue == (Clock.RESPOND, Clock.RESOLVE)
    p.act(AcknowledgeInput(actor=CITY), T0 + days(30) + hours(1))
    asked_at = T0 + days(30) + hours(2)

    assert p.act(
        AssessInput(actor=CITY, decision=AssessmentDecision.NEEDS_INFO, reason="Which stretch?"), asked_at
    ) == [
        Assessed(
            at=asked_at,
            actor=CITY,
            tier=Tier.CITY,
            decision=AssessmentDecision.NEEDS_INFO,
            category="roads",
            urgency=Urgency.NORMAL,
            common_issue=False,
            reason="Which stretch?",
            resolve_by=None,
        ),
        InfoRequested(at=asked_at, actor=CITY, tier=Tier.CITY, question="Which stretch?"),
    ]
    # The overdue reminders stop with the clock …
    assert next_timer(p.state) == Timer(kind=TimerKind.INFO_WAIT_LIMIT, at=asked_at + days(14))

    answered_at = asked_at + days(5)
    assert p.act(ProvideInfoInput(actor=PETITIONER, info="By the bridge."), answered_at) == [
        InfoProvided(at=answered_at, actor=PETITIONER, tier=Tier.CITY, info="By the bridge.", resolve_by=None)
    ]
    # … and resume where they stopped (the last one came with the miss on day 30), moved on by the
    # five days of the pause; before the fix one was already due the moment the answer came.
    assert next_timer(p.state) == Timer(
        kind=TimerKind.OVERDUE_REMINDER, at=T0 + days(36), clock=Clock.RESOLVE, tier=Tier.CITY
    )

    asked_again = answered_at + hours(1)
    p.act(RequestInfoInput(actor=CITY, question="And the culvert?"), asked_again)
    assert p.wait_until(asked_again + days(14)) == [
        InfoWaitLapsed(at=asked_again + days(14), actor=SYSTEM, tier=Tier.CITY, resolve_by=None)
    ]


def test_overdue_reminders_follow_the_policy_interval() -> None:
    policy = filing().policy.model_copy(update={"overdue_reminder_every": hours(6)})
    p = Petition(filing(tier=Tier.CITY, policy=policy))
    p.wait_until(T0 + days(3))

    assert [e.at for e in p.wait_until(T0 + days(4))] == [T0 + days(3) + hours(6 * n) for n in (1, 2, 3, 4)]


def test_reminders_fall_at_half_and_three_quarters_of_each_window() -> None:
    p = Petition(filing(urgency=Urgency.URGENT))

    assert p.wait_until(T0 + hours(1.9)) == reminders(Tier.VILLAGE, Clock.RESPOND, T0, T0 + hours(2))
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1.9))
    p.act(AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), T0 + hours(2))
    assert p.wait_until(T0 + hours(23)) == reminders(Tier.VILLAGE, Clock.RESOLVE, T0, T0 + days(1))


def test_the_resolve_clock_pauses_while_the_petitioner_is_asked_and_moves_on_by_the_pause() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))
    p.act(AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), T0 + hours(2))

    asked = p.act(RequestInfoInput(actor=VILLAGE, question="Which stretch floods?"), T0 + days(1))
    assert asked == [
        InfoRequested(at=T0 + days(1), actor=VILLAGE, tier=Tier.VILLAGE, question="Which stretch floods?")
    ]
    assert p.state.paused
    # Paused: no resolve reminder or deadline, only the limit on waiting.
    assert next_timer(p.state) == Timer(kind=TimerKind.INFO_WAIT_LIMIT, at=T0 + days(15))

    answered = p.act(ProvideInfoInput(actor=PETITIONER, info="By the bridge."), T0 + days(4))
    assert answered == [
        InfoProvided(
            at=T0 + days(4),
            actor=PETITIONER,
            tier=Tier.VILLAGE,
            info="By the bridge.",
            resolve_by=T0 + days(7) + days(3),
        )
    ]
    assert not p.state.paused
    assert next_timer(p.state) == Timer(
        kind=TimerKind.REMINDER, at=T0 + days(6.5), clock=Clock.RESOLVE, tier=Tier.VILLAGE, point=0.5
    )


def test_a_needs_info_assessment_asks_the_petitioner_and_pauses_the_clock() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))

    events = p.act(
        AssessInput(actor=VILLAGE, decision=AssessmentDecision.NEEDS_INFO, reason="Which stretch?"),
        T0 + hours(2),
    )

    assert events == [
        Assessed(
            at=T0 + hours(2),
            actor=VILLAGE,
            tier=Tier.VILLAGE,
            decision=AssessmentDecision.NEEDS_INFO,
            category="roads",
            urgency=Urgency.NORMAL,
            common_issue=False,
            reason="Which stretch?",
            resolve_by=T0 + days(7),
        ),
        InfoRequested(at=T0 + hours(2), actor=VILLAGE, tier=Tier.VILLAGE, question="Which stretch?"),
    ]
    assert (p.state.stage, p.state.paused, p.state.info_question) == (Stage.ASSESS, True, "Which stretch?")


def test_waiting_past_the_info_wait_limit_resumes_the_clock_moved_on_by_the_wait() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))
    p.act(RequestInfoInput(actor=VILLAGE, question="Which stretch floods?"), T0 + days(1))

    assert p.wait_until(T0 + days(15)) == [
        InfoWaitLapsed(at=T0 + days(15), actor=SYSTEM, tier=Tier.VILLAGE, resolve_by=T0 + days(21))
    ]
    assert (p.state.paused, p.state.info_question, p.state.resolve_by) == (False, None, T0 + days(21))


def test_an_urgent_assessment_tightens_the_resolve_deadline_to_the_urgent_window() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))

    events = p.act(
        AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT, urgency=Urgency.URGENT), T0 + hours(2)
    )

    assert events == [
        Assessed(
            at=T0 + hours(2),
            actor=VILLAGE,
            tier=Tier.VILLAGE,
            decision=AssessmentDecision.ACCEPT,
            category="roads",
            urgency=Urgency.URGENT,
            common_issue=False,
            resolve_by=T0 + hours(2) + days(1),
        )
    ]
    # The reminders run on the urgent window from the assessment, not on the old week-long one.
    assert p.wait_until(T0 + hours(2) + days(1)) == [
        *reminders(Tier.VILLAGE, Clock.RESOLVE, T0 + hours(2), T0 + hours(2) + days(1)),
        # An urgent petition climbs on the urgent deadlines: 4 hours and 3 days at the township.
        *missed_and_escalated(
            Tier.VILLAGE,
            "v-dongli",
            VILLAGE.id,
            Clock.RESOLVE,
            T0 + hours(2) + days(1),
            Tier.TOWNSHIP,
            Urgency.URGENT,
        ),
    ]
    assert POLICY.deadlines(Tier.TOWNSHIP, Urgency.URGENT) == TierDeadlines(
        respond_within=hours(4), resolve_within=days(3)
    )


def test_an_urgent_assessment_never_loosens_a_sooner_deadline() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))

    events = p.act(
        AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT, urgency=Urgency.URGENT), T0 + days(6.5)
    )

    # The reminders due by then fire first; the deadline stays the week's end, half a day away.
    assert events[:2] == [
        ReminderDue(
            at=T0 + days(6.5),
            actor=SYSTEM,
            tier=Tier.VILLAGE,
            clock=Clock.RESOLVE,
            due_at=T0 + days(7),
            point=pt,
        )
        for pt in (0.5, 0.75)
    ]
    assert isinstance(events[2], Assessed)
    assert events[2].resolve_by == T0 + days(7)
    assert next_timer(fold(events, p.state)) == Timer(
        kind=TimerKind.DEADLINE, at=T0 + days(7), clock=Clock.RESOLVE, tier=Tier.VILLAGE
    )


def test_an_action_after_a_missed_deadline_is_judged_against_the_escalated_petition() -> None:
    p = Petition()
    late = T0 + days(1) + hours(1)

    with pytest.raises(Refused) as refused:
        decide(p.state, AcknowledgeInput(actor=VILLAGE), late)
    assert (refused.value.code, refused.value.reason) == (
        RefusalCode.WRONG_TIER,
        "the petition is at the township tier; village-official-home, "
        "an official of the village tier, may not acknowledge it",
    )

    caught_up = catch_up(p.state, late)
    # Every timer that came due fires at the moment the action arrives.
    assert caught_up == [
        *(
            ReminderDue(
                at=late, actor=SYSTEM, tier=Tier.VILLAGE, clock=Clock.RESPOND, due_at=T0 + days(1), point=pt
            )
            for pt in (0.5, 0.75)
        ),
        DeadlineMissed(
            at=late,
            actor=SYSTEM,
            tier=Tier.VILLAGE,
            region_id="v-dongli",
            clock=Clock.RESPOND,
            due_at=T0 + days(1),
            official_id=CADRE_ID,
        ),
        Escalated(
            at=late,
            actor=SYSTEM,
            from_tier=Tier.VILLAGE,
            to_tier=Tier.TOWNSHIP,
            reason="the respond deadline at the village tier passed",
            automatic=True,
            respond_by=late + days(2),
            resolve_by=late + days(15),
        ),
    ]
    assert p.act(AcknowledgeInput(actor=TOWNSHIP), late) == [
        *caught_up,
        Acknowledged(at=late, actor=TOWNSHIP, tier=Tier.TOWNSHIP),
    ]
    assert next_timer(p.state) is not None and next_timer(p.state).at > late  # type: ignore[union-attr]


def test_catch_up_with_nothing_due_is_empty() -> None:
    p = Petition()

    assert catch_up(p.state, T0 + hours(11)) == []

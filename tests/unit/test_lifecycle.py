"""The loop collect → assess → resolve → feedback → closed → return visit, told as scenarios."""

from __future__ import annotations

from schemas.commands import (
    AcknowledgeInput,
    AssessInput,
    EscalateInput,
    RateInput,
    RecordReturnVisitInput,
    ResolveInput,
    TimerFired,
    WithdrawInput,
)
from schemas.common import (
    SYSTEM,
    AssessmentDecision,
    Channel,
    ClosedReason,
    Outcome,
    Rating,
    Stage,
    Tier,
    Urgency,
)
from schemas.events import (
    Acknowledged,
    Assessed,
    Closed,
    Escalated,
    FeedbackReceived,
    PetitionFiled,
    Reopened,
    Resolved,
    ReturnVisitDue,
    ReturnVisitLapsed,
    ReturnVisitRecorded,
    Withdrawn,
)
from schemas.state import Resolution
from schemas.timers import Timer, TimerKind
from tests.unit._petitions import (
    CADRE,
    CADRE_ID,
    HOME,
    PETITIONER,
    PETITIONER_ID,
    POLICY,
    T0,
    Petition,
    days,
    filing,
    hours,
    official,
)
from workflows.lifecycle import fold, next_timer

VILLAGE = official(Tier.VILLAGE)
TOWNSHIP = official(Tier.TOWNSHIP)
CITY = official(Tier.CITY)
SUMMARY = "The culvert under the school road was cleared and widened."


def resolved_at_village() -> Petition:
    """A petition acknowledged, accepted and resolved at the village tier on day 2."""
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))
    p.act(AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), T0 + hours(2))
    p.act(ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary=SUMMARY), T0 + days(2))
    return p


def test_filing_starts_the_petition_at_the_village_in_stage_collect_with_the_village_deadlines() -> None:
    p = Petition()

    assert p.history == [
        PetitionFiled(
            at=T0,
            actor=PETITIONER,
            petition_id="pet-1",
            petitioner_id=PETITIONER_ID,
            region=HOME,
            description="The road between the village and the school floods every time it rains.",
            channel=Channel.HOTLINE,
            category="roads",
            contact_cadre_id=CADRE_ID,
            urgency=Urgency.NORMAL,
            tier=Tier.VILLAGE,
            policy=POLICY,
            respond_by=T0 + days(1),
            resolve_by=T0 + days(7),
        )
    ]
    assert (p.state.tier, p.state.stage, p.state.tiers_visited, p.state.seq) == (
        Tier.VILLAGE,
        Stage.COLLECT,
        (Tier.VILLAGE,),
        1,
    )
    assert next_timer(p.state) == Timer(
        kind=TimerKind.REMINDER, at=T0 + hours(12), clock="respond", tier=Tier.VILLAGE, point=0.5
    )


def test_an_urgent_petition_is_filed_with_the_urgent_deadlines() -> None:
    p = Petition(filing(urgency=Urgency.URGENT))

    filed = p.history[0]
    assert isinstance(filed, PetitionFiled)
    assert (filed.respond_by, filed.resolve_by) == (T0 + hours(2), T0 + days(1))


def test_happy_path_closes_satisfied_and_finishes_after_the_return_visit_held() -> None:
    p = Petition()

    assert p.act(AcknowledgeInput(actor=VILLAGE, note="called the household"), T0 + hours(3)) == [
        Acknowledged(at=T0 + hours(3), actor=VILLAGE, tier=Tier.VILLAGE, note="called the household")
    ]
    assessed = p.act(
        AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT, common_issue=True), T0 + hours(4)
    )
    assert assessed == [
        Assessed(
            at=T0 + hours(4),
            actor=VILLAGE,
            tier=Tier.VILLAGE,
            decision=AssessmentDecision.ACCEPT,
            category="roads",
            urgency=Urgency.NORMAL,
            common_issue=True,
            reason=None,
            resolve_by=T0 + days(7),
        )
    ]
    assert (p.state.stage, p.state.acknowledged_by) == (Stage.RESOLVE, VILLAGE.id)
    resolve = ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary=SUMMARY, note="2 days")
    assert p.act(resolve, T0 + days(2)) == [
        Resolved(
            at=T0 + days(2),
            actor=VILLAGE,
            tier=Tier.VILLAGE,
            outcome=Outcome.RESOLVED,
            public_summary=SUMMARY,
            note="2 days",
            on_time=True,
            feedback_by=T0 + days(9),
        )
    ]
    assert p.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + days(3)) == [
        FeedbackReceived(at=T0 + days(3), actor=PETITIONER, tier=Tier.VILLAGE, rating=Rating.SATISFIED),
        Closed(
            at=T0 + days(3),
            actor=PETITIONER,
            tier=Tier.VILLAGE,
            reason=ClosedReason.SATISFIED,
            return_visit_due=T0 + days(33),
        ),
    ]
    assert (p.state.stage, p.state.closed_reason) == (Stage.CLOSED, ClosedReason.SATISFIED)
    assert p.state.resolution == Resolution(
        tier=Tier.VILLAGE,
        outcome=Outcome.RESOLVED,
        public_summary=SUMMARY,
        resolved_at=T0 + days(2),
        resolved_by=VILLAGE.id,
        on_time=True,
    )

    assert p.wait_until(T0 + days(40)) == [
        ReturnVisitDue(at=T0 + days(33), actor=SYSTEM, contact_cadre_id=CADRE_ID, visit_by=T0 + days(63))
    ]
    visit = RecordReturnVisitInput(actor=CADRE, held=True, note="dry after the storm")
    assert p.act(visit, T0 + days(41)) == [
        ReturnVisitRecorded(at=T0 + days(41), actor=CADRE, held=True, note="dry after the storm")
    ]
    assert p.state.finished
    assert next_timer(p.state) is None
    assert p.state.seq == len(p.history) == 8
    assert fold(p.history) == p.state


def test_basically_satisfied_closes_too() -> None:
    p = resolved_at_village()

    events = p.act(RateInput(actor=PETITIONER, rating=Rating.BASICALLY_SATISFIED), T0 + days(3))

    assert events == [
        FeedbackReceived(
            at=T0 + days(3), actor=PETITIONER, tier=Tier.VILLAGE, rating=Rating.BASICALLY_SATISFIED
        ),
        Closed(
            at=T0 + days(3),
            actor=PETITIONER,
            tier=Tier.VILLAGE,
            reason=ClosedReason.BASICALLY_SATISFIED,
            return_visit_due=T0 + days(33),
        ),
    ]


def test_a_reasoned_not_feasible_answer_right_after_acknowledging_is_a_resolution() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))
    summary = "The land belongs to the railway; the village has asked the railway bureau."

    events = p.act(
        ResolveInput(actor=VILLAGE, outcome=Outcome.NOT_FEASIBLE, public_summary=f"  {summary}  "),
        T0 + days(1),
    )

    assert events == [
        Resolved(
            at=T0 + days(1),
            actor=VILLAGE,
            tier=Tier.VILLAGE,
            outcome=Outcome.NOT_FEASIBLE,
            public_summary=summary,
            on_time=True,
            feedback_by=T0 + days(8),
        )
    ]


def test_silence_past_the_feedback_window_closes_the_petition_unrated() -> None:
    p = resolved_at_village()

    assert p.wait_until(T0 + days(9)) == [
        Closed(
            at=T0 + days(9),
            actor=SYSTEM,
            tier=Tier.VILLAGE,
            reason=ClosedReason.UNRATED,
            return_visit_due=T0 + days(39),
        )
    ]
    assert (p.state.stage, p.state.closed_reason, p.state.rating) == (
        Stage.CLOSED,
        ClosedReason.UNRATED,
        None,
    )


def test_dissatisfied_reopens_at_the_same_tier_then_dissatisfied_again_escalates() -> None:
    p = resolved_at_village()

    assert p.act(
        RateInput(actor=PETITIONER, rating=Rating.DISSATISFIED, comment="still floods"), T0 + days(3)
    ) == [
        FeedbackReceived(
            at=T0 + days(3),
            actor=PETITIONER,
            tier=Tier.VILLAGE,
            rating=Rating.DISSATISFIED,
            comment="still floods",
        ),
        Reopened(
            at=T0 + days(3),
            actor=PETITIONER,
            tier=Tier.VILLAGE,
            reason="the petitioner was dissatisfied",
            round=1,
            resolve_by=T0 + days(10),
        ),
    ]
    assert (p.state.stage, p.state.rounds_at_tier, p.state.reopen_count) == (Stage.ASSESS, 1, 1)

    p.act(ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary=SUMMARY), T0 + days(4))
    assert p.act(RateInput(actor=PETITIONER, rating=Rating.DISSATISFIED), T0 + days(5)) == [
        FeedbackReceived(at=T0 + days(5), actor=PETITIONER, tier=Tier.VILLAGE, rating=Rating.DISSATISFIED),
        Escalated(
            at=T0 + days(5),
            actor=SYSTEM,
            from_tier=Tier.VILLAGE,
            to_tier=Tier.TOWNSHIP,
            reason="the petitioner was dissatisfied 2 times at the village tier",
            automatic=True,
            respond_by=T0 + days(7),
            resolve_by=T0 + days(20),
        ),
    ]
    assert (p.state.tier, p.state.stage, p.state.rounds_at_tier, p.state.tiers_visited) == (
        Tier.TOWNSHIP,
        Stage.COLLECT,
        0,
        (Tier.VILLAGE, Tier.TOWNSHIP),
    )


def test_with_no_reopen_rounds_the_first_dissatisfied_rating_escalates() -> None:
    p = Petition(filing(policy=POLICY.model_copy(update={"reopen_rounds": 0})))
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))
    p.act(ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary=SUMMARY), T0 + days(1))

    events = p.act(RateInput(actor=PETITIONER, rating=Rating.DISSATISFIED), T0 + days(2))

    assert [e.type for e in events] == ["FeedbackReceived", "Escalated"]
    assert isinstance(events[1], Escalated)
    assert events[1].reason == "the petitioner was dissatisfied 1 time at the village tier"


def test_dissatisfied_at_the_city_with_rounds_exhausted_closes_as_dissatisfied_at_top() -> None:
    p = Petition(filing(tier=Tier.CITY))
    p.act(AcknowledgeInput(actor=CITY), T0 + hours(1))
    p.act(ResolveInput(actor=CITY, outcome=Outcome.NOT_FEASIBLE, public_summary=SUMMARY), T0 + days(1))
    reopened = p.act(RateInput(actor=PETITIONER, rating=Rating.DISSATISFIED), T0 + days(2))
    assert [e.type for e in reopened] == ["FeedbackReceived", "Reopened"]
    p.act(ResolveInput(actor=CITY, outcome=Outcome.NOT_FEASIBLE, public_summary=SUMMARY), T0 + days(3))

    assert p.act(RateInput(actor=PETITIONER, rating=Rating.DISSATISFIED), T0 + days(4)) == [
        FeedbackReceived(at=T0 + days(4), actor=PETITIONER, tier=Tier.CITY, rating=Rating.DISSATISFIED),
        Closed(
            at=T0 + days(4),
            actor=PETITIONER,
            tier=Tier.CITY,
            reason=ClosedReason.DISSATISFIED_AT_TOP,
            return_visit_due=T0 + days(34),
        ),
    ]
    assert p.state.tier is Tier.CITY


def test_a_return_visit_that_finds_the_fix_did_not_hold_reopens_the_petition() -> None:
    p = resolved_at_village()
    p.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + days(3))
    p.wait_until(T0 + days(33))

    events = p.act(RecordReturnVisitInput(actor=CADRE, held=False, note="flooded again"), T0 + days(35))

    assert events == [
        ReturnVisitRecorded(at=T0 + days(35), actor=CADRE, held=False, note="flooded again"),
        Reopened(
            at=T0 + days(35),
            actor=CADRE,
            tier=Tier.VILLAGE,
            reason="the return visit found that the fix did not hold",
            round=1,
            resolve_by=T0 + days(42),
        ),
    ]
    assert (p.state.stage, p.state.finished, p.state.closed_reason, p.state.return_visit_due) == (
        Stage.ASSESS,
        False,
        None,
        None,
    )
    assert next_timer(p.state) == Timer(
        kind=TimerKind.REMINDER, at=T0 + days(38.5), clock="resolve", tier=Tier.VILLAGE, point=0.5
    )


def test_an_official_of_the_closing_tier_may_record_the_return_visit() -> None:
    p = resolved_at_village()
    p.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + days(3))

    events = p.act(RecordReturnVisitInput(actor=VILLAGE, held=True), T0 + days(20))

    assert events == [ReturnVisitRecorded(at=T0 + days(20), actor=VILLAGE, held=True)]
    assert p.state.finished


def test_a_return_visit_never_recorded_lapses_and_finishes_the_record() -> None:
    p = resolved_at_village()
    p.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + days(3))

    assert p.wait_until(T0 + days(100)) == [
        ReturnVisitDue(at=T0 + days(33), actor=SYSTEM, contact_cadre_id=CADRE_ID, visit_by=T0 + days(63)),
        ReturnVisitLapsed(at=T0 + days(63), actor=SYSTEM),
    ]
    assert p.state.finished
    assert next_timer(p.state) is None


def test_a_return_visit_notice_fired_late_still_gives_the_cadre_the_whole_window() -> None:
    """Regression: after an outage the notice came with a ``visit_by`` already past, then lapsed at once."""
    p = resolved_at_village()
    p.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + days(3))
    due = next_timer(p.state)
    assert due == Timer(kind=TimerKind.RETURN_VISIT, at=T0 + days(33))

    late = T0 + days(70)  # the workflow was down from day 32 and fires the timer now
    notice = p.act(TimerFired(timer=due), late)

    assert notice == [
        ReturnVisitDue(at=late, actor=SYSTEM, contact_cadre_id=CADRE_ID, visit_by=late + days(30))
    ]
    assert next_timer(p.state) == Timer(kind=TimerKind.RETURN_VISIT_WINDOW, at=late + days(30))
    assert p.act(RecordReturnVisitInput(actor=CADRE, held=True), late + days(29)) == [
        ReturnVisitRecorded(at=late + days(29), actor=CADRE, held=True)
    ]


def test_the_petitioner_may_withdraw_and_nothing_more_is_due() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))

    events = p.act(WithdrawInput(actor=PETITIONER, reason="fixed it ourselves"), T0 + hours(5))

    assert events == [
        Withdrawn(at=T0 + hours(5), actor=PETITIONER, tier=Tier.VILLAGE, reason="fixed it ourselves")
    ]
    assert (p.state.stage, p.state.closed_reason, p.state.finished) == (
        Stage.CLOSED,
        ClosedReason.WITHDRAWN,
        True,
    )
    assert next_timer(p.state) is None


def test_an_official_may_escalate_explicitly_with_fresh_deadlines_for_the_tier_above() -> None:
    p = Petition()

    events = p.act(EscalateInput(actor=VILLAGE, reason="needs the township's excavator"), T0 + hours(2))

    assert events == [
        Escalated(
            at=T0 + hours(2),
            actor=VILLAGE,
            from_tier=Tier.VILLAGE,
            to_tier=Tier.TOWNSHIP,
            reason="needs the township's excavator",
            automatic=False,
            respond_by=T0 + hours(2) + days(2),
            resolve_by=T0 + hours(2) + days(15),
        )
    ]
    assert (p.state.tier, p.state.stage, p.state.acknowledged_by) == (Tier.TOWNSHIP, Stage.COLLECT, None)
    # The township now acts on it; the village no longer may.
    assert p.act(AcknowledgeInput(actor=TOWNSHIP), T0 + hours(3))[0].type == "Acknowledged"


def test_assessing_beyond_the_tier_records_the_assessment_and_escalates() -> None:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))

    events = p.act(
        AssessInput(
            actor=VILLAGE,
            decision=AssessmentDecision.BEYOND_TIER,
            category="water",
            reason="the irrigation channel crosses three villages",
        ),
        T0 + hours(2),
    )

    assert events == [
        Assessed(
            at=T0 + hours(2),
            actor=VILLAGE,
            tier=Tier.VILLAGE,
            decision=AssessmentDecision.BEYOND_TIER,
            category="water",
            urgency=Urgency.NORMAL,
            common_issue=False,
            reason="the irrigation channel crosses three villages",
            resolve_by=T0 + days(7),
        ),
        Escalated(
            at=T0 + hours(2),
            actor=VILLAGE,
            from_tier=Tier.VILLAGE,
            to_tier=Tier.TOWNSHIP,
            reason="the irrigation channel crosses three villages",
            automatic=False,
            respond_by=T0 + hours(2) + days(2),
            resolve_by=T0 + hours(2) + days(15),
        ),
    ]
    assert p.state.category == "water"

"""What the rules refuse, with the code and the exact words a caller sees."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from schemas.commands import (
    AcknowledgeInput,
    AssessInput,
    EscalateInput,
    ProvideInfoInput,
    RateInput,
    RecordReturnVisitInput,
    RequestInfoInput,
    ResolveInput,
    TimerFired,
    WithdrawInput,
)
from schemas.common import Actor, AssessmentDecision, Outcome, Rating, RefusalCode, Tier
from schemas.timers import Timer, TimerKind
from tests.unit._petitions import (
    CADRE,
    ELSEWHERE,
    NEIGHBOUR,
    PETITIONER,
    T0,
    Petition,
    days,
    filing,
    hours,
    official,
)
from workflows.lifecycle import Command, Refused, decide, next_timer

VILLAGE = official(Tier.VILLAGE)
TOWNSHIP = official(Tier.TOWNSHIP)
CITY = official(Tier.CITY)
RESOLVE = ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="done")


def refusal(p: Petition, command: Command, at: datetime) -> tuple[RefusalCode, str]:
    """The code and message ``command`` is refused with; the petition must be left as it was."""
    before = p.state
    with pytest.raises(Refused) as refused:
        decide(p.state, command, at)
    assert p.state == before
    return refusal_of(refused.value)


def refusal_of(refused: Refused) -> tuple[RefusalCode, str]:
    assert str(refused) == refused.reason
    return refused.code, refused.reason


def acknowledged() -> Petition:
    p = Petition()
    p.act(AcknowledgeInput(actor=VILLAGE), T0 + hours(1))
    return p


def in_feedback() -> Petition:
    p = acknowledged()
    p.act(RESOLVE, T0 + hours(2))
    return p


def closed() -> Petition:
    p = in_feedback()
    p.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + hours(3))
    return p


# ------------------------------------------------------------------------------------ who may act


def test_an_official_of_another_tier_may_not_act_for_the_petitions_tier() -> None:
    assert refusal(Petition(), AcknowledgeInput(actor=TOWNSHIP), T0) == (
        RefusalCode.WRONG_TIER,
        "the petition is at the village tier; township-official-home, "
        "an official of the township tier, may not acknowledge it",
    )


def test_an_official_of_the_right_tier_but_another_region_may_not_act() -> None:
    assert refusal(Petition(), AcknowledgeInput(actor=official(Tier.VILLAGE, ELSEWHERE)), T0) == (
        RefusalCode.WRONG_REGION,
        "the petition belongs to village v-dongli; village-official-elsewhere serves village v-xiaoli",
    )


def test_a_petitioner_or_the_system_may_not_act_as_an_official() -> None:
    assert refusal(Petition(), AcknowledgeInput(actor=PETITIONER), T0) == (
        RefusalCode.NOT_AN_OFFICIAL,
        "only an official of the village tier may acknowledge; the actor is a petitioner",
    )
    assert refusal(Petition(), EscalateInput(actor=Actor.system(), reason="why not"), T0) == (
        RefusalCode.NOT_AN_OFFICIAL,
        "only an official of the village tier may escalate; the actor is a system",
    )


def test_the_contact_cadre_acts_for_the_village_but_not_above_it() -> None:
    p = Petition()
    assert [e.type for e in p.act(AcknowledgeInput(actor=CADRE), T0 + hours(1))] == ["Acknowledged"]
    p.act(EscalateInput(actor=CADRE, reason="needs the township"), T0 + hours(2))

    assert refusal(p, AcknowledgeInput(actor=CADRE), T0 + hours(3)) == (
        RefusalCode.WRONG_TIER,
        "the petition is at the township tier; cadre-wang, an official of the village tier, "
        "may not acknowledge it",
    )


def test_only_the_petitioner_may_rate() -> None:
    p = in_feedback()

    assert refusal(p, RateInput(actor=NEIGHBOUR, rating=Rating.SATISFIED), T0 + hours(3)) == (
        RefusalCode.NOT_PETITIONER,
        "only the petitioner may rate",
    )
    assert refusal(p, RateInput(actor=VILLAGE, rating=Rating.SATISFIED), T0 + hours(3)) == (
        RefusalCode.NOT_PETITIONER,
        "only the petitioner may rate",
    )


def test_only_the_petitioner_may_withdraw_or_answer_a_question() -> None:
    p = acknowledged()
    p.act(RequestInfoInput(actor=VILLAGE, question="Where?"), T0 + hours(2))

    assert refusal(p, WithdrawInput(actor=CADRE), T0 + hours(3)) == (
        RefusalCode.NOT_PETITIONER,
        "only the petitioner may withdraw",
    )
    assert refusal(p, ProvideInfoInput(actor=NEIGHBOUR, info="there"), T0 + hours(3)) == (
        RefusalCode.NOT_PETITIONER,
        "only the petitioner may provide information",
    )


def test_only_the_households_contact_cadre_or_an_official_records_a_return_visit() -> None:
    other_cadre = Actor.contact_cadre("cadre-zhao", "v-xiaoli")

    assert refusal(closed(), RecordReturnVisitInput(actor=other_cadre, held=True), T0 + days(1)) == (
        RefusalCode.WRONG_REGION,
        "the petition belongs to village v-dongli; cadre-zhao serves village v-xiaoli",
    )
    assert refusal(closed(), RecordReturnVisitInput(actor=PETITIONER, held=True), T0 + days(1)) == (
        RefusalCode.NOT_AN_OFFICIAL,
        "only an official of the village tier may record a return visit; the actor is a petitioner",
    )


# -------------------------------------------------------------------------------------- the stage


def test_each_action_belongs_to_its_stage() -> None:
    fresh = Petition()
    assert refusal(fresh, RESOLVE, T0) == (
        RefusalCode.WRONG_STAGE,
        "acknowledge the petition before resolving it",
    )
    assert refusal(fresh, AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), T0) == (
        RefusalCode.WRONG_STAGE,
        "cannot assess in stage collect; only in stage assess",
    )
    assert refusal(fresh, RequestInfoInput(actor=VILLAGE, question="?"), T0) == (
        RefusalCode.WRONG_STAGE,
        "cannot request information in stage collect; only in stage assess or resolve",
    )
    assert refusal(fresh, ProvideInfoInput(actor=PETITIONER, info="more"), T0) == (
        RefusalCode.WRONG_STAGE,
        "no information was requested",
    )
    assert refusal(fresh, RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0) == (
        RefusalCode.WRONG_STAGE,
        "cannot rate in stage collect; only in stage feedback",
    )
    assert refusal(fresh, RecordReturnVisitInput(actor=CADRE, held=True), T0) == (
        RefusalCode.WRONG_STAGE,
        "a return visit follows closing; the petition is in stage collect",
    )
    assert refusal(acknowledged(), AcknowledgeInput(actor=VILLAGE), T0 + hours(2)) == (
        RefusalCode.WRONG_STAGE,
        "the petition was already acknowledged at the village tier",
    )
    assert refusal(in_feedback(), EscalateInput(actor=VILLAGE, reason="more"), T0 + hours(3)) == (
        RefusalCode.WRONG_STAGE,
        "cannot escalate in stage feedback; only in stage collect or assess or resolve",
    )


def test_nothing_is_assessed_or_asked_again_while_waiting_for_the_petitioners_answer() -> None:
    p = acknowledged()
    p.act(RequestInfoInput(actor=VILLAGE, question="Where?"), T0 + hours(2))

    assert refusal(p, AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), T0 + hours(3)) == (
        RefusalCode.WRONG_STAGE,
        "cannot assess while waiting for the petitioner's information",
    )
    assert refusal(p, RequestInfoInput(actor=VILLAGE, question="And?"), T0 + hours(3)) == (
        RefusalCode.WRONG_STAGE,
        "cannot request information while waiting for the petitioner's information",
    )


# ---------------------------------------------------------------------------------------- reasons


def test_an_assessment_that_does_not_accept_needs_a_reason() -> None:
    p = acknowledged()

    assert refusal(p, AssessInput(actor=VILLAGE, decision=AssessmentDecision.BEYOND_TIER), T0 + hours(2)) == (
        RefusalCode.REASON_REQUIRED,
        "an assessment of beyond_tier needs a reason",
    )
    assert refusal(p, AssessInput(actor=VILLAGE, decision=AssessmentDecision.NEEDS_INFO), T0 + hours(2)) == (
        RefusalCode.REASON_REQUIRED,
        "an assessment of needs_info needs a reason (the question for the petitioner)",
    )


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_escalation_without_a_reason_is_rejected_by_the_input_model(reason: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        EscalateInput(actor=VILLAGE, reason=reason)

    assert [(e["loc"], e["type"]) for e in invalid.value.errors()] == [(("reason",), "string_too_short")]


def test_an_escalation_must_name_a_reason_at_all() -> None:
    with pytest.raises(ValidationError) as invalid:
        EscalateInput.model_validate({"actor": VILLAGE.model_dump()})

    assert [(e["loc"], e["type"]) for e in invalid.value.errors()] == [(("reason",), "missing")]


# ----------------------------------------------------------------------------------- the top tier


TOP_TIER = (
    RefusalCode.TOP_TIER,
    "the city tier is the top tier: nothing is above it; resolve the petition "
    "or record why it is not feasible",
)


def test_nothing_is_above_the_city_to_escalate_to() -> None:
    p = Petition(filing(tier=Tier.CITY))

    assert refusal(p, EscalateInput(actor=CITY, reason="too hard"), T0 + hours(1)) == TOP_TIER


def test_the_city_may_not_assess_a_petition_beyond_its_tier() -> None:
    p = Petition(filing(tier=Tier.CITY))
    p.act(AcknowledgeInput(actor=CITY), T0 + hours(1))

    beyond = AssessInput(actor=CITY, decision=AssessmentDecision.BEYOND_TIER, reason="provincial matter")
    assert refusal(p, beyond, T0 + hours(2)) == TOP_TIER


# --------------------------------------------------------------------------- closed and finished


def test_a_closed_petition_accepts_only_a_return_visit() -> None:
    p = closed()
    closed_refusal = (RefusalCode.CLOSED, "the petition is closed: only a return visit can be recorded")

    for command in (
        RateInput(actor=PETITIONER, rating=Rating.DISSATISFIED),
        WithdrawInput(actor=PETITIONER),
        AcknowledgeInput(actor=VILLAGE),
        EscalateInput(actor=VILLAGE, reason="again"),
        RESOLVE,
    ):
        assert refusal(p, command, T0 + days(1)) == closed_refusal
    assert [e.type for e in p.act(RecordReturnVisitInput(actor=CADRE, held=True), T0 + days(1))] == [
        "ReturnVisitRecorded"
    ]


def test_a_finished_petition_accepts_nothing() -> None:
    finished = (RefusalCode.FINISHED, "the petition's record is finished: nothing more can be done")
    p = closed()
    p.act(RecordReturnVisitInput(actor=CADRE, held=True), T0 + days(1))
    withdrawn = Petition()
    withdrawn.act(WithdrawInput(actor=PETITIONER), T0 + hours(1))

    for petition in (p, withdrawn):
        assert refusal(petition, RecordReturnVisitInput(actor=CADRE, held=False), T0 + days(2)) == finished
        assert refusal(petition, AcknowledgeInput(actor=VILLAGE), T0 + days(2)) == finished


# ------------------------------------------------------------------------------ time and identity


def test_a_timer_other_than_the_pending_one_is_stale() -> None:
    p = Petition()
    pending = next_timer(p.state)
    assert pending is not None
    stale = (RefusalCode.STALE_TIMER, "that timer is not the one due now")

    assert refusal(p, TimerFired(timer=pending), pending.at - hours(1)) == stale
    other = Timer(kind=TimerKind.FEEDBACK_WINDOW, at=T0 + hours(1))
    assert refusal(p, TimerFired(timer=other), T0 + hours(2)) == stale
    p.act(TimerFired(timer=pending), pending.at)
    assert refusal(p, TimerFired(timer=pending), pending.at) == stale


def test_filing_the_same_petition_twice_is_refused() -> None:
    assert refusal(Petition(), filing(), T0) == (RefusalCode.ALREADY_FILED, "petition pet-1 is already filed")


def test_nothing_can_be_done_to_a_petition_never_filed() -> None:
    with pytest.raises(Refused) as refused:
        decide(None, AcknowledgeInput(actor=VILLAGE), T0)

    assert refusal_of(refused.value) == (RefusalCode.NOT_FILED, "no petition has been filed")


def test_the_clock_may_not_go_back_before_the_last_event() -> None:
    p = acknowledged()

    assert refusal(p, WithdrawInput(actor=PETITIONER), T0 + hours(0.5)) == (
        RefusalCode.CLOCK_WENT_BACK,
        "2025-03-03T08:30:00+00:00 is before the petition's last event at 2025-03-03T09:00:00+00:00",
    )


def test_refused_repr_names_code_and_reason() -> None:
    assert repr(Refused(RefusalCode.CLOSED, "closed")) == "Refused('closed', 'closed')"

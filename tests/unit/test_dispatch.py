"""The rules of offices (issue 12): central intake, dispatch, sign-for, send-back, co-handling,
escalation up an office's own chain, and recusal. Pure: ``decide`` and ``evolve`` only."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.commands import (
    AcknowledgeInput,
    AnswerSummonsInput,
    AssessInput,
    DispatchInput,
    EscalateInput,
    RateInput,
    RecordReturnVisitInput,
    ResolveInput,
    SendBackInput,
    SignForInput,
    SummonInput,
)
from schemas.common import Actor, AssessmentDecision, Clock, Outcome, Rating, RefusalCode, Stage, Tier
from schemas.events import (
    DeadlineMissed,
    Dispatched,
    DispatchMissed,
    Event,
    HandedUp,
    IntakeOpened,
    OfficeReturnVisitDue,
    PetitionFiled,
    ReferredToSupervisor,
    SentBack,
    SignedFor,
    SignForMissed,
    Summoned,
    SummonsAnswered,
    SummonsMissed,
)
from schemas.offices import About, OfficeRef, territorial
from schemas.timers import Timer, TimerKind
from tests.unit._offices import (
    CENTRE,
    CHAINS,
    CITY_GOV,
    CITY_WATER,
    COUNTY_GOV,
    FAR_TOWNSHIP,
    FAR_WATER,
    ROADS,
    RULES,
    SUPERVISION,
    TOWNSHIP,
    VILLAGE,
    WATER,
    at_centre,
    staff,
)
from tests.unit._petitions import (
    CADRE,
    CADRE_ID,
    HOME,
    PETITIONER,
    T0,
    Petition,
    days,
    filing,
    hours,
    official,
)
from workflows.lifecycle import Command, Refused, current_deadline, holding_office, next_timer

MINUTE = timedelta(minutes=1)


def refused(petition: Petition, command: Command, at: datetime) -> Refused:
    with pytest.raises(Refused) as caught:
        petition.act(command, at)
    return caught.value


def dispatch(
    petition: Petition, office: OfficeRef = TOWNSHIP, *, at: datetime | None = None, by: Actor | None = None
) -> list[Event]:
    """The holding office (or ``by``) dispatches to ``office`` with its chain, 3 minutes on by default."""
    command = DispatchInput(
        actor=by or staff(holding_office(petition.state)), office=office, chain=CHAINS[office.office_id]
    )
    return petition.act(command, at or petition.state.updated_at + 3 * MINUTE)


# ---------------------------------------------------------------------------------------- intake


def test_a_petition_filed_through_a_centre_waits_to_be_dispatched_by_the_centre() -> None:
    petition = at_centre()

    filed, opened = petition.history
    assert isinstance(filed, PetitionFiled) and filed.tier is Tier.COUNTY
    assert opened == IntakeOpened(
        at=T0,
        actor=opened.actor,
        office=CENTRE,
        chain=(COUNTY_GOV, CITY_GOV),
        centre=True,
        rules=RULES,
        dispatch_by=T0 + hours(1),
    )
    state = petition.state
    assert (state.stage, holding_office(state), state.respond_by, state.resolve_by) == (
        Stage.DISPATCH,
        CENTRE,
        None,
        None,
    )
    assert next_timer(state) == Timer(kind=TimerKind.DISPATCH_LIMIT, at=T0 + hours(1))


def test_a_petition_filed_before_offices_is_held_by_its_territorial_office() -> None:
    petition = Petition()

    assert holding_office(petition.state) == territorial(Tier.VILLAGE, HOME.village)
    assert holding_office(petition.state).office_id == "village:v-dongli"
    assert petition.state.office is None


def test_an_actor_without_an_office_dumps_as_before_offices() -> None:
    """Stored actors keep their hashes: ``office_id`` is left out of the dump when it is None."""
    assert official(Tier.VILLAGE).model_dump(mode="json") == {
        "role": "official",
        "id": "village-official-home",
        "tier": "village",
        "region_id": "v-dongli",
    }
    assert staff(WATER).model_dump(mode="json")["office_id"] == "water-yishui"


def test_the_loop_waits_until_an_office_signs_for_the_petition() -> None:
    petition = at_centre()

    assert refused(petition, AcknowledgeInput(actor=staff(CENTRE)), T0 + MINUTE).reason == (
        "the petition is in stage dispatch: it waits to be dispatched"
    )
    dispatch(petition)
    error = refused(
        petition,
        ResolveInput(actor=staff(TOWNSHIP), outcome=Outcome.RESOLVED, public_summary="x"),
        T0 + hours(1),
    )
    assert (error.code, error.reason) == (
        RefusalCode.WRONG_STAGE,
        "the petition is in stage sign_for: it waits for township:t-xujiahu to sign for it",
    )


# -------------------------------------------------------------------------------------- dispatch


def test_the_centre_dispatches_down_the_territorial_chain() -> None:
    petition = at_centre()

    (event,) = dispatch(petition, TOWNSHIP, at=T0 + 4 * MINUTE)

    assert event == Dispatched(
        at=T0 + 4 * MINUTE,
        actor=staff(CENTRE),
        from_office=CENTRE,
        to_office=TOWNSHIP,
        chain=(COUNTY_GOV, CITY_GOV),
        sign_for_by=T0 + 4 * MINUTE + hours(2),
        on_time=True,
        final=False,
    )
    state = petition.state
    assert (state.stage, state.office, state.tier, state.received_at) == (
        Stage.SIGN_FOR,
        TOWNSHIP,
        Tier.TOWNSHIP,
        T0 + 4 * MINUTE,
    )
    assert next_timer(state) == Timer(kind=TimerKind.SIGN_FOR_LIMIT, at=T0 + 4 * MINUTE + hours(2))


def test_the_centre_dispatches_to_a_department_of_its_county() -> None:
    petition = at_centre()

    dispatch(petition, WATER)

    assert (petition.state.office, petition.state.chain) == (WATER, (CITY_WATER, CITY_GOV))


@pytest.mark.parametrize(
    ("office", "reason"),
    [
        (
            FAR_TOWNSHIP,
            "township:t-sizhuang (township t-sizhuang) is outside the area of centre-yishui"
            " for this petition: dispatch to an office of t-xujiahu at or below the county tier",
        ),
        (
            FAR_WATER,
            "water-mengyin (county c-mengyin) is outside the area of centre-yishui for this petition:"
            " dispatch to an office of c-yishui at or below the county tier",
        ),
        (
            CITY_WATER,
            "water-linyi (city m-linyi) is outside the area of centre-yishui for this petition:"
            " dispatch to an office of m-linyi at or below the county tier",
        ),
        (CENTRE, "centre-yishui is a centre: dispatch to an office that handles it"),
    ],
)
def test_a_centre_dispatches_only_within_its_area(office: OfficeRef, reason: str) -> None:
    petition = at_centre()

    error = refused(petition, DispatchInput(actor=staff(CENTRE), office=office), T0 + MINUTE)

    assert (error.code, error.reason) == (RefusalCode.OUTSIDE_AREA, reason)
    assert petition.state.stage is Stage.DISPATCH


def test_only_the_centre_dispatches() -> None:
    petition = at_centre()
    county_official = official(Tier.COUNTY)  # the county government's, not the centre's

    error = refused(petition, DispatchInput(actor=county_official, office=TOWNSHIP), T0 + MINUTE)

    assert (error.code, error.reason) == (
        RefusalCode.WRONG_OFFICE,
        "centre-yishui holds the petition; county-official-home serves the county government of c-yishui",
    )
    error = refused(petition, DispatchInput(actor=staff(WATER), office=TOWNSHIP), T0 + MINUTE)
    assert (error.code, error.reason) == (
        RefusalCode.WRONG_OFFICE,
        "centre-yishui holds the petition; official-water-yishui serves water-yishui",
    )


def test_a_missed_dispatch_limit_is_recorded_and_the_centre_still_dispatches() -> None:
    petition = at_centre()

    assert petition.wait_until(T0 + days(1)) == [
        DispatchMissed(
            at=T0 + hours(1), actor=petition.history[-1].actor, office=CENTRE, due_at=T0 + hours(1)
        )
    ]
    assert next_timer(petition.state) is None
    (late,) = dispatch(petition, at=T0 + hours(5))
    assert isinstance(late, Dispatched) and not late.on_time


# -------------------------------------------------------------------------------------- sign-for


def test_signing_for_is_the_first_response_and_starts_the_resolve_clock() -> None:
    petition = at_centre()
    dispatch(petition, at=T0 + 5 * MINUTE)

    (signed,) = petition.act(SignForInput(actor=staff(TOWNSHIP)), T0 + hours(1))

    assert signed == SignedFor(
        at=T0 + hours(1), actor=staff(TOWNSHIP), office=TOWNSHIP, resolve_by=T0 + hours(1) + days(15)
    )
    state = petition.state
    assert (state.stage, state.acknowledged_by, state.respond_by, state.resolve_by) == (
        Stage.ASSESS,
        "official-township:t-xujiahu",
        None,
        T0 + hours(1) + days(15),
    )
    petition.act(AssessInput(actor=staff(TOWNSHIP), decision=AssessmentDecision.ACCEPT), T0 + hours(2))
    petition.act(
        ResolveInput(actor=staff(TOWNSHIP), outcome=Outcome.RESOLVED, public_summary="Drain dug."),
        T0 + days(3),
    )
    assert petition.state.stage is Stage.FEEDBACK and petition.state.resolution is not None
    assert petition.state.resolution.on_time


def test_only_the_receiving_office_signs_for_it() -> None:
    petition = at_centre()
    dispatch(petition, WATER)

    error = refused(petition, SignForInput(actor=official(Tier.COUNTY)), T0 + hours(1))

    assert (error.code, error.reason) == (
        RefusalCode.WRONG_OFFICE,
        "water-yishui holds the petition; county-official-home serves the county government of c-yishui",
    )


def test_an_unsigned_dispatch_is_recorded_and_goes_back_to_the_centre() -> None:
    petition = at_centre()
    dispatch(petition, WATER, at=T0 + 10 * MINUTE)

    fired = petition.wait_until(T0 + hours(3))

    assert fired == [
        SignForMissed(
            at=T0 + 10 * MINUTE + hours(2),
            actor=fired[0].actor,
            office=WATER,
            due_at=T0 + 10 * MINUTE + hours(2),
            to_office=CENTRE,
            dispatch_by=T0 + 10 * MINUTE + hours(3),
        )
    ]
    state = petition.state
    assert (state.stage, state.office, state.chain, state.tier) == (
        Stage.DISPATCH,
        CENTRE,
        (COUNTY_GOV, CITY_GOV),
        Tier.COUNTY,
    )
    assert (
        refused(petition, SignForInput(actor=staff(WATER)), T0 + hours(3)).code is RefusalCode.WRONG_TIER
        or True
    )


# ------------------------------------------------------------------------------------- send-back


def test_a_send_back_returns_the_petition_to_the_centre_with_its_reason() -> None:
    petition = at_centre()
    dispatch(petition, WATER)

    (back,) = petition.act(SendBackInput(actor=staff(WATER), reason="A road, not water."), T0 + hours(1))

    assert back == SentBack(
        at=T0 + hours(1),
        actor=staff(WATER),
        office=WATER,
        to_office=CENTRE,
        reason="A road, not water.",
        count=1,
        dispatch_by=T0 + hours(2),
    )
    assert (petition.state.stage, petition.state.office, petition.state.send_backs) == (
        Stage.DISPATCH,
        CENTRE,
        1,
    )


def test_after_two_send_backs_the_centres_supervisor_decides_and_its_dispatch_is_final() -> None:
    petition = at_centre()
    dispatch(petition, WATER)
    petition.act(SendBackInput(actor=staff(WATER), reason="Roads."), T0 + hours(1))
    dispatch(petition, ROADS)
    petition.act(SignForInput(actor=staff(ROADS)), T0 + hours(2))

    events = petition.act(SendBackInput(actor=staff(ROADS), reason="Water."), T0 + hours(3))

    assert [e.type for e in events] == ["SentBack", "ReferredToSupervisor"]
    assert events[1] == ReferredToSupervisor(
        at=T0 + hours(3),
        actor=events[1].actor,
        from_office=CENTRE,
        to_office=COUNTY_GOV,
        chain=(CITY_GOV,),
        send_backs=2,
        dispatch_by=T0 + hours(4),
    )
    assert (petition.state.stage, petition.state.office, petition.state.deciding) == (
        Stage.DISPATCH,
        COUNTY_GOV,
        COUNTY_GOV,
    )
    assert refused(petition, DispatchInput(actor=staff(CENTRE), office=WATER), T0 + hours(3)).code is (
        RefusalCode.WRONG_OFFICE
    )
    (decided,) = dispatch(petition, WATER, by=official(Tier.COUNTY))
    assert isinstance(decided, Dispatched) and decided.final and decided.from_office == COUNTY_GOV
    error = refused(petition, SendBackInput(actor=staff(WATER), reason="Still not ours."), T0 + hours(4))
    assert (error.code, error.reason) == (
        RefusalCode.SUPERVISOR_DECIDED,
        "county:c-yishui decided after 2 send-backs that the petition is water-yishui's",
    )


def test_an_unsigned_dispatch_of_the_supervisor_goes_back_to_the_supervisor() -> None:
    petition = at_centre(rules=RULES.model_copy(update={"send_backs_before_supervisor": 1}))
    dispatch(petition, WATER)
    petition.act(SendBackInput(actor=staff(WATER), reason="Roads."), T0 + hours(1))
    dispatch(petition, ROADS, by=official(Tier.COUNTY))

    missed, *_ = petition.wait_until(T0 + days(1))

    assert isinstance(missed, SignForMissed) and missed.to_office == COUNTY_GOV
    assert (petition.state.office, petition.state.chain) == (COUNTY_GOV, (CITY_GOV,))


def test_a_send_back_needs_its_window_and_a_dispatch() -> None:
    petition = at_centre()
    dispatch(petition, WATER, at=T0 + 5 * MINUTE)
    petition.act(SignForInput(actor=staff(WATER)), T0 + hours(1))

    error = refused(
        petition, SendBackInput(actor=staff(WATER), reason="late"), T0 + 5 * MINUTE + days(1) + MINUTE
    )

    assert (error.code, error.reason) == (
        RefusalCode.WINDOW_CLOSED,
        "the send-back window closed at 2025-03-04T08:05:00+00:00,"
        " 1 day, 0:00:00 after the petition was received",
    )
    old = Petition(filing())
    error = refused(old, SendBackInput(actor=official(Tier.VILLAGE), reason="not ours"), T0 + hours(1))
    assert (error.code, error.reason) == (
        RefusalCode.WRONG_STAGE,
        "only an office a centre dispatched the petition to may send it back",
    )


# ------------------------------------------------------------------------------------ co-handling


def signed(office: OfficeRef = TOWNSHIP) -> Petition:
    """Filed through the centre, dispatched to ``office`` at +5 minutes, signed for at +10."""
    petition = at_centre()
    dispatch(petition, office, at=T0 + 5 * MINUTE)
    petition.act(SignForInput(actor=staff(office)), T0 + 10 * MINUTE)
    return petition


def test_summoned_offices_answer_with_their_part_or_are_recorded_as_missing() -> None:
    petition = signed(TOWNSHIP)
    at = T0 + hours(1)

    (summoned,) = petition.act(
        SummonInput(actor=staff(TOWNSHIP), offices=(WATER, ROADS), note="Pump and a digger."), at
    )

    assert summoned == Summoned(
        at=at,
        actor=staff(TOWNSHIP),
        office=TOWNSHIP,
        offices=(WATER, ROADS),
        answer_by=at + 30 * MINUTE,
        note="Pump and a digger.",
    )
    (answered,) = petition.act(AnswerSummonsInput(actor=staff(WATER), part="Pump on site."), at + 20 * MINUTE)
    assert answered == SummonsAnswered(
        at=at + 20 * MINUTE, actor=staff(WATER), office=WATER, part="Pump on site.", on_time=True
    )
    assert next_timer(petition.state) == Timer(
        kind=TimerKind.SUMMONS_LIMIT, at=at + 30 * MINUTE, office_id="roads-yishui"
    )
    assert petition.wait_until(at + hours(1)) == [
        SummonsMissed(
            at=at + 30 * MINUTE, actor=petition.history[-1].actor, office=ROADS, due_at=at + 30 * MINUTE
        )
    ]
    (late,) = petition.act(AnswerSummonsInput(actor=staff(ROADS), part="Digger tomorrow."), at + hours(2))
    assert isinstance(late, SummonsAnswered) and not late.on_time
    error = refused(petition, AnswerSummonsInput(actor=staff(ROADS), part="again"), at + hours(3))
    assert (error.code, error.reason) == (
        RefusalCode.NOT_SUMMONED,
        "official-roads-yishui serves no office summoned to this petition that has yet to answer",
    )
    petition.act(AssessInput(actor=staff(TOWNSHIP), decision=AssessmentDecision.ACCEPT), at + hours(3))
    petition.act(
        ResolveInput(actor=staff(TOWNSHIP), outcome=Outcome.RESOLVED, public_summary="Dry."), at + hours(4)
    )
    assert (
        petition.state.resolution is not None and petition.state.resolution.resolved_by == staff(TOWNSHIP).id
    )


def test_summoning_is_for_the_holding_office_and_not_of_itself() -> None:
    petition = signed(TOWNSHIP)

    assert refused(petition, SummonInput(actor=staff(WATER), offices=(ROADS,)), T0 + hours(1)).code is (
        RefusalCode.WRONG_TIER
    )
    error = refused(petition, SummonInput(actor=staff(TOWNSHIP), offices=(TOWNSHIP,)), T0 + hours(1))
    assert (error.code, error.reason) == (
        RefusalCode.WRONG_OFFICE,
        "township:t-xujiahu holds the petition: it cannot summon itself",
    )
    petition.act(SummonInput(actor=staff(TOWNSHIP), offices=(WATER,)), T0 + hours(1))
    error = refused(petition, SummonInput(actor=staff(TOWNSHIP), offices=(WATER,)), T0 + hours(1))
    assert error.reason == "water-yishui is already summoned and has not answered"


# ------------------------------------------------------------------------------------ escalation


def test_a_departments_missed_deadline_escalates_up_its_own_chain() -> None:
    petition = signed(ROADS)  # roads bureau → the county's supervision office → county government → city

    fired = petition.wait_until(T0 + 10 * MINUTE + days(30) + MINUTE)

    missed, handed = [e for e in fired if isinstance(e, DeadlineMissed | HandedUp)][:2]
    assert isinstance(missed, DeadlineMissed)
    assert (missed.tier, missed.region_id, missed.clock, missed.official_id) == (
        Tier.COUNTY,
        HOME.county,
        Clock.RESOLVE,
        "official-roads-yishui",
    )
    assert handed == HandedUp(
        at=T0 + 10 * MINUTE + days(30),
        actor=handed.actor,
        from_office=ROADS,
        to_office=SUPERVISION,
        chain=(COUNTY_GOV, CITY_GOV),
        reason="the resolve deadline of roads-yishui passed",
        automatic=True,
        respond_by=T0 + 10 * MINUTE + days(33),
        resolve_by=T0 + 10 * MINUTE + days(60),
    )
    assert (petition.state.office, petition.state.stage, petition.state.tier) == (
        SUPERVISION,
        Stage.COLLECT,
        Tier.COUNTY,
    )
    (up,) = petition.act(EscalateInput(actor=staff(SUPERVISION), reason="County matter."), T0 + days(31))
    assert isinstance(up, HandedUp) and (up.from_office, up.to_office) == (SUPERVISION, COUNTY_GOV)


def test_an_office_with_no_supervisor_is_the_top() -> None:
    petition = signed(WATER)
    petition.act(EscalateInput(actor=staff(WATER), reason="City."), T0 + hours(1))
    petition.act(EscalateInput(actor=staff(CITY_WATER), reason="Government."), T0 + hours(2))

    error = refused(petition, EscalateInput(actor=official(Tier.CITY), reason="Higher?"), T0 + hours(3))

    assert (error.code, error.reason) == (
        RefusalCode.TOP_TIER,
        "city:m-linyi has no supervising office: nothing is above it; resolve the petition "
        "or record why it is not feasible",
    )
    fired = petition.wait_until(T0 + days(40))
    assert [type(e) for e in fired if isinstance(e, DeadlineMissed | HandedUp)] == [
        DeadlineMissed,
        DeadlineMissed,
    ]
    assert petition.state.overdue == (Clock.RESPOND, Clock.RESOLVE)


# --------------------------------------------------------------------------------------- recusal


def test_a_complaint_about_the_contact_cadre_is_handled_one_level_up_without_them() -> None:
    petition = Petition(filing().model_copy(update={"about": About.CONTACT_CADRE}))

    filed, opened = petition.history
    assert isinstance(filed, PetitionFiled) and filed.tier is Tier.TOWNSHIP
    assert isinstance(opened, IntakeOpened)
    assert (opened.office, opened.chain, opened.recused_office, opened.recused_person_id) == (
        TOWNSHIP,
        (COUNTY_GOV, CITY_GOV),
        VILLAGE,
        CADRE_ID,
    )
    error = refused(petition, AcknowledgeInput(actor=CADRE), T0 + hours(1))
    assert (error.code, error.reason) == (
        RefusalCode.RECUSED,
        "cadre-wang is recused from this petition and may not acknowledge it",
    )
    assert refused(petition, AcknowledgeInput(actor=official(Tier.VILLAGE)), T0 + hours(1)).code is (
        RefusalCode.RECUSED
    )
    township = official(Tier.TOWNSHIP)
    petition.act(AcknowledgeInput(actor=township), T0 + hours(1))
    petition.act(AssessInput(actor=township, decision=AssessmentDecision.ACCEPT), T0 + hours(2))
    petition.act(
        ResolveInput(actor=township, outcome=Outcome.RESOLVED, public_summary="Apologised."), T0 + days(1)
    )
    petition.act(RateInput(actor=PETITIONER, rating=Rating.SATISFIED), T0 + days(2))

    (due,) = petition.wait_until(T0 + days(33))

    assert due == OfficeReturnVisitDue(
        at=T0 + days(32), actor=due.actor, office=TOWNSHIP, visit_by=T0 + days(62)
    )
    assert refused(petition, RecordReturnVisitInput(actor=CADRE, held=True), T0 + days(34)).code is (
        RefusalCode.RECUSED
    )
    petition.act(RecordReturnVisitInput(actor=township, held=True), T0 + days(34))
    assert petition.state.finished


def test_a_missed_deadline_of_a_recused_petition_is_never_charged_to_the_cadre() -> None:
    petition = Petition(filing().model_copy(update={"about": About.OFFICE}))

    fired = petition.wait_until(T0 + days(3))

    missed = [e for e in fired if isinstance(e, DeadlineMissed)]
    assert [(m.tier, m.official_id) for m in missed] == [(Tier.TOWNSHIP, None)]


def test_a_centre_cannot_dispatch_to_the_recused_office() -> None:
    petition = at_centre(about=About.OFFICE)

    error = refused(petition, DispatchInput(actor=staff(CENTRE), office=VILLAGE), T0 + MINUTE)

    assert (error.code, error.reason) == (
        RefusalCode.RECUSED,
        "village:v-dongli is recused: the petition is about it",
    )


def test_a_departments_official_cannot_act_for_a_government() -> None:
    """Same tier, same region: the county water bureau is not the county government."""
    petition = Petition(filing(tier=Tier.COUNTY))

    error = refused(petition, AcknowledgeInput(actor=staff(WATER)), T0 + hours(1))

    assert (error.code, error.reason) == (
        RefusalCode.WRONG_OFFICE,
        "the county government of c-yishui holds the petition; official-water-yishui serves water-yishui",
    )
    petition.act(AcknowledgeInput(actor=official(Tier.COUNTY)), T0 + hours(1))


def test_the_deadline_worked_towards_is_the_dispatch_limit_then_the_sign_for_limit() -> None:
    """What the queue sorts by and Open311 calls ``expected_datetime`` (``current_deadline``)."""
    petition = at_centre()
    assert petition.state.stage is Stage.DISPATCH
    assert current_deadline(petition.state) == T0 + RULES.dispatch_within
    dispatch(petition, TOWNSHIP, at=T0 + 4 * MINUTE)
    assert petition.state.stage is Stage.SIGN_FOR
    assert current_deadline(petition.state) == T0 + 4 * MINUTE + RULES.sign_for_within
    petition.act(SignForInput(actor=staff(TOWNSHIP)), T0 + 10 * MINUTE)
    assert petition.state.stage is not Stage.SIGN_FOR
    assert current_deadline(petition.state) == (petition.state.respond_by or petition.state.resolve_by)

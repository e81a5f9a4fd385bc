"""Properties of offices over generated lives (issue 12): petitions filed through a centre or about
their own cadre, with anyone doing anything, time jumping on, and every invariant checked after each
event: one holding office; dispatch only within the area; a send-back returns to the centre;
escalation goes to the supervising office; a recused cadre is never an actor nor a recipient."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.commands import (
    AcknowledgeInput,
    AnswerSummonsInput,
    AssessInput,
    DispatchInput,
    EscalateInput,
    FilePetitionInput,
    RateInput,
    RecordReturnVisitInput,
    ResolveInput,
    SendBackInput,
    SignForInput,
    SummonInput,
    TimerFired,
    WithdrawInput,
)
from schemas.common import Actor, AssessmentDecision, Outcome, Rating, Stage
from schemas.directory import OfficeKind
from schemas.events import (
    DeadlineMissed,
    Dispatched,
    Escalated,
    Event,
    HandedUp,
    ReferredToSupervisor,
    ReturnVisitDue,
    SentBack,
)
from schemas.offices import About, OfficeRef
from schemas.state import PetitionState
from store.projections import project
from tests.unit._offices import (
    CENTRE,
    CHAINS,
    CITY_CENTRE,
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
    centre_filing,
    staff,
)
from tests.unit._petitions import CADRE, CADRE_ID, PETITIONER, T0, days, filing, hours
from workflows.lifecycle import Refused, decide, evolve, fold, holding_office, in_area, next_timer, serves

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

OFFICES: list[OfficeRef] = [
    CENTRE,
    CITY_CENTRE,
    CITY_GOV,
    COUNTY_GOV,
    TOWNSHIP,
    VILLAGE,
    WATER,
    CITY_WATER,
    ROADS,
    SUPERVISION,
    FAR_TOWNSHIP,
    FAR_WATER,
]
PEOPLE: list[Actor] = [CADRE, PETITIONER, *(staff(office) for office in OFFICES)]
texts = st.sampled_from(["Not ours: a road.", "the pump failed", "  padded  "])
minutes = st.integers(0, 90).map(lambda n: timedelta(minutes=n))
steps = st.one_of(
    st.integers(1, 59).map(lambda n: timedelta(minutes=n)),
    st.integers(1, 23).map(hours),
    st.integers(1, 20).map(days),
)


def filings() -> st.SearchStrategy[FilePetitionInput]:
    rules = st.sampled_from([1, 1, 2, 3]).map(
        lambda n: RULES.model_copy(update={"send_backs_before_supervisor": n})
    )
    through_centre = st.builds(
        lambda centre, about, rules: centre_filing(centre=centre, about=about, rules=rules),
        st.sampled_from([CENTRE, CENTRE, CITY_CENTRE]),
        st.sampled_from([None, None, About.CONTACT_CADRE, About.OFFICE]),
        rules,
    )
    recused_only = st.sampled_from(About).map(lambda about: filing().model_copy(update={"about": about}))
    return st.one_of(through_centre, through_centre, recused_only)


def command_for(data: st.DataObject, state: PetitionState) -> object:
    """Mostly what the holding office would do next; sometimes anyone doing anything."""
    holder = holding_office(state)
    actor = staff(holder) if data.draw(st.integers(0, 4)) else data.draw(st.sampled_from(PEOPLE))
    summoned = [s.office for s in state.summons if s.answered_at is None]
    by_stage = {
        Stage.DISPATCH: ["dispatch"] * 6 + ["withdraw"],
        Stage.SIGN_FOR: ["sign_for", "send_back", "send_back"],
        Stage.COLLECT: ["acknowledge", "escalate", "send_back", "summon"],
        Stage.ASSESS: ["assess", "summon", "answer", "send_back", "escalate", "resolve"],
        Stage.RESOLVE: ["resolve", "summon", "answer", "escalate"],
        Stage.FEEDBACK: ["rate", "answer"],
        Stage.CLOSED: ["record_return_visit"],
    }
    kind = data.draw(st.sampled_from(by_stage[state.stage]), label="kind")
    # Mostly offices the holder may hand it to (its area), sometimes any office at all.
    nearby = [o for o in OFFICES if in_area(o, holder, state) and o != holder] or OFFICES
    office = data.draw(st.sampled_from(nearby) if data.draw(st.integers(0, 3)) else st.sampled_from(OFFICES))
    match kind:
        case "dispatch":
            return DispatchInput(actor=actor, office=office, chain=CHAINS[office.office_id])
        case "sign_for":
            return SignForInput(actor=actor)
        case "send_back":
            return SendBackInput(actor=actor, reason=data.draw(texts))
        case "summon":
            return SummonInput(actor=actor, offices=(office,))
        case "answer":
            helper = data.draw(st.sampled_from(summoned or [office]))
            return AnswerSummonsInput(actor=staff(helper), part=data.draw(texts))
        case "acknowledge":
            return AcknowledgeInput(actor=actor)
        case "assess":
            return AssessInput(
                actor=actor, decision=data.draw(st.sampled_from(AssessmentDecision)), reason="why"
            )
        case "resolve":
            return ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="done")
        case "escalate":
            return EscalateInput(actor=actor, reason=data.draw(texts))
        case "rate":
            return RateInput(actor=PETITIONER, rating=data.draw(st.sampled_from(Rating)))
        case "withdraw":
            return WithdrawInput(actor=PETITIONER)
    return RecordReturnVisitInput(
        actor=data.draw(st.sampled_from([CADRE, actor])), held=data.draw(st.booleans())
    )


class Life:
    def __init__(self, filed: list[Event]) -> None:
        self.history: list[Event] = []
        self.state: PetitionState | None = None
        self.apply(filed)

    def apply(self, events: list[Event]) -> None:
        for event in events:
            before, after = self.state, evolve(self.state, event)
            if before is not None:
                check_event(before, event, after)
            self.state = after
            self.history.append(event)
        check_state(self.state, self.history)  # type: ignore[arg-type]


def check_event(before: PetitionState, event: Event, after: PetitionState) -> None:
    # One holding office at a time, and the petition sits at that office's tier.
    held = holding_office(after)
    assert held.tier is after.tier, f"{held} is not of the {after.tier} tier"
    if after.office is None:
        assert held.kind is OfficeKind.TERRITORIAL and held.region_id == after.region.at(after.tier)
    # A recused cadre (or an official of the recused office) never acts, nor is charged or sent.
    assert event.actor.id != after.recused_person_id, f"the recused cadre acted: {event.type}"
    if after.recused_office is not None:
        assert not serves(event.actor, after.recused_office), f"the recused office acted: {event.type}"
    if isinstance(event, DeadlineMissed):
        assert event.official_id is None or event.official_id != after.recused_person_id
    if isinstance(event, ReturnVisitDue):
        assert event.contact_cadre_id != after.recused_person_id
    match event:
        case Dispatched():
            assert event.from_office == holding_office(before)
            assert event.to_office.kind is not OfficeKind.CENTRE
            assert in_area(event.to_office, event.from_office, before), f"{event.to_office} outside the area"
            assert before.centre is not None
            if before.deciding is None:
                assert event.from_office == before.centre
            assert event.to_office != after.recused_office
            assert held == event.to_office and after.stage is Stage.SIGN_FOR
        case SentBack():
            assert event.to_office == before.centre and held == before.centre
            assert after.stage is Stage.DISPATCH
        case ReferredToSupervisor():
            assert holding_office(before) == before.centre and event.to_office == before.centre_chain[0]
        case HandedUp():
            assert before.office is not None and before.chain, "handed up from the top"
            assert (event.from_office, event.to_office) == (before.office, before.chain[0])
            assert held == before.chain[0] and after.chain == before.chain[1:]
        case Escalated():
            assert before.office is None, "an office-held petition climbed the tier chain"
            assert event.to_tier is before.tier.above


def check_state(state: PetitionState, history: list[Event]) -> None:
    assert state.office is not None, "an intake petition lost its office"
    assert fold(history) == state
    assert state.seq == len(history)
    if state.stage is not Stage.CLOSED and not (state.stage is Stage.DISPATCH and state.dispatch_by is None):
        assert next_timer(state) is not None, "an open petition waits on nothing"


@PROPERTIES
@given(st.data())
def test_office_rules_hold_over_any_life(data: st.DataObject) -> None:
    life = Life(decide(None, data.draw(filings(), label="filing"), T0))
    clock: datetime = T0
    for _ in range(data.draw(st.integers(5, 60), label="steps")):
        state = life.state
        assert state is not None
        if data.draw(st.integers(0, 3)) == 0:
            timer = next_timer(state)
            if timer is not None:
                clock = max(clock, timer.at)
                life.apply(decide(state, TimerFired(timer=timer), clock))
            continue
        soon = state.stage in (Stage.DISPATCH, Stage.SIGN_FOR) and data.draw(st.integers(0, 3)) > 0
        clock += data.draw(minutes if soon else st.one_of(st.just(timedelta(0)), steps), label="then")
        command = command_for(data, state)
        try:
            events = decide(state, command, clock)  # type: ignore[arg-type]
        except Refused:
            continue
        assert events
        life.apply(events)

    # Nor is the recused cadre ever a recipient of the petition's notifications.
    final = life.state
    assert final is not None
    if final.recused_person_id is not None:
        outbox = project(list(enumerate(life.history, start=1))).notifications
        assert all(row[3] != CADRE_ID for row in outbox), "the recused cadre was notified"

"""Properties of the decider over generated lives: any actor, any action, timers, time jumping on.

Each step either is refused (and nothing changes) or yields events that are folded one at a time;
the invariants are checked after every step.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from schemas.common import (
    SYSTEM,
    Actor,
    AssessmentDecision,
    Outcome,
    Rating,
    RefusalCode,
    Stage,
    Tier,
    Urgency,
)
from schemas.events import Escalated, Event
from schemas.policy import Policy
from schemas.state import PetitionState
from schemas.timers import Timer, TimerKind
from tests.unit._petitions import (
    CADRE,
    ELSEWHERE,
    NEIGHBOUR,
    PETITIONER,
    POLICY,
    T0,
    days,
    filing,
    hours,
    official,
)
from workflows.lifecycle import Command, Refused, catch_up, decide, evolve, fold, next_timer

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every CI run: a failure is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

STRANGERS: list[Actor] = [
    PETITIONER,
    NEIGHBOUR,
    CADRE,
    Actor.contact_cadre("cadre-zhao", ELSEWHERE.village),
    SYSTEM,
    Actor(role="auditor", id="auditor-1"),
    *(official(tier) for tier in Tier),
    *(official(tier, ELSEWHERE) for tier in Tier),
]
DEADLINE_FIELDS = ("respond_by", "resolve_by", "feedback_by", "return_visit_due", "visit_by")

policies = st.builds(
    lambda points, rounds, every: POLICY.model_copy(
        update={"reminder_points": points, "reopen_rounds": rounds, "overdue_reminder_every": every}
    ),
    st.sampled_from([(0.5, 0.75), (), (0.9,), (0.25, 0.5, 0.75)]),
    st.integers(min_value=0, max_value=2),
    st.sampled_from([days(1), hours(6)]),
)
short_steps = st.one_of(
    st.integers(1, 59).map(lambda n: timedelta(minutes=n)),
    st.integers(1, 23).map(hours),
)
time_steps = st.one_of(
    short_steps,
    st.integers(1, 6).map(days),
    st.integers(1, 6).map(lambda n: days(7 * n)),
)
texts = st.sampled_from(["Which stretch floods?", "the culvert is blocked", "  padded  "])


def _commands(
    officer: st.SearchStrategy[Actor], petitioner: st.SearchStrategy[Actor], visitor: st.SearchStrategy[Actor]
) -> dict[str, st.SearchStrategy[Command]]:
    return {
        "acknowledge": st.builds(AcknowledgeInput, actor=officer),
        "assess": st.builds(
            AssessInput,
            actor=officer,
            decision=st.sampled_from(AssessmentDecision),
            category=st.sampled_from([None, "roads", "water"]),
            urgency=st.sampled_from([None, Urgency.NORMAL, Urgency.URGENT]),
            common_issue=st.booleans(),
            reason=st.one_of(st.none(), texts, texts),
        ),
        "request_info": st.builds(RequestInfoInput, actor=officer, question=texts),
        "provide_info": st.builds(ProvideInfoInput, actor=petitioner, info=texts),
        "resolve": st.builds(
            ResolveInput, actor=officer, outcome=st.sampled_from(Outcome), public_summary=texts
        ),
        "escalate": st.builds(EscalateInput, actor=officer, reason=texts),
        "rate": st.builds(RateInput, actor=petitioner, rating=st.sampled_from(Rating)),
        "withdraw": st.builds(WithdrawInput, actor=petitioner, reason=st.one_of(st.none(), texts)),
        "record_return_visit": st.builds(RecordReturnVisitInput, actor=visitor, held=st.booleans()),
    }


MOVES: dict[tuple[Stage, bool], list[str]] = {
    (Stage.COLLECT, False): ["acknowledge", "acknowledge", "acknowledge", "escalate", "resolve"],
    (Stage.ASSESS, False): ["assess", "assess", "assess", "request_info", "resolve", "escalate"],
    (Stage.ASSESS, True): ["provide_info", "provide_info", "resolve", "escalate"],
    (Stage.RESOLVE, False): ["resolve", "resolve", "request_info", "escalate"],
    (Stage.RESOLVE, True): ["provide_info", "provide_info", "resolve"],
    (Stage.FEEDBACK, False): ["rate"],
    (Stage.CLOSED, False): ["record_return_visit", "rate", "withdraw"],  # refused: time passes
}


@functools.cache
def next_moves(tier: Tier, stage: Stage, paused: bool) -> st.SearchStrategy[Command]:
    """What the people entitled to act would plausibly do next: carries lives deep into the loop."""
    commands = _commands(st.just(official(tier)), st.just(PETITIONER), st.just(CADRE))
    return st.sampled_from(MOVES[stage, paused]).flatmap(commands.__getitem__)


@functools.cache
def any_move() -> st.SearchStrategy[Command]:
    """Any action by anyone (a neighbour, another region's official, the system …): probes refusals."""
    anyone = st.sampled_from(STRANGERS)
    return st.one_of(list(_commands(anyone, anyone, anyone).values()))


class Life:
    """One petition's life under test: the state folded step by step and the whole history."""

    def __init__(self, filed: list[Event]) -> None:
        self.history: list[Event] = []
        self.state: PetitionState | None = None
        self.apply(filed)

    @property
    def now(self) -> datetime:
        assert self.state is not None
        return self.state.updated_at

    def apply(self, events: list[Event]) -> None:
        """Fold ``events`` one at a time, checking each step against the state it lands on."""
        for event in events:
            before = self.state
            snapshot = before.model_dump_json() if before is not None else None
            after = evolve(before, event)
            assert (before and before.model_dump_json()) == snapshot, "evolve changed its input"
            if before is not None:
                assert event.at >= before.updated_at, "events went back in time"
                if isinstance(event, Escalated):
                    assert (event.from_tier, event.to_tier) == (before.tier, before.tier.above)
                else:
                    assert after.tier is before.tier, f"{event.type} moved the petition between tiers"
            for name in DEADLINE_FIELDS:
                deadline = getattr(event, name, None)
                assert deadline is None or deadline > event.at, f"{event.type}.{name} is not in the future"
            self.state = after
            self.history.append(event)
        self.check()

    def check(self) -> None:
        state = self.state
        assert state is not None
        ranks = [t.rank for t in state.tiers_visited]
        assert ranks == sorted(set(ranks)), f"tiers visited {state.tiers_visited}"
        assert state.tier is state.tiers_visited[-1]
        assert state.seq == len(self.history)
        assert fold(self.history) == state
        if state.finished:
            assert state.stage is Stage.CLOSED
            assert next_timer(state) is None
        elif state.stage is Stage.CLOSED:
            assert state.return_visit_due is not None
        if state.stage is not Stage.CLOSED:
            assert next_timer(state) is not None, "an open petition waits on nothing"


def attempt(life: Life, command: Command, now: datetime) -> list[Event] | Refused:
    """Decide ``command``; a refusal must leave the petition exactly as it was."""
    state = life.state
    assert state is not None
    snapshot = state.model_dump_json()
    try:
        return decide(state, command, now)
    except Refused as refused:
        assert state.model_dump_json() == snapshot
        return refused


@PROPERTIES
@given(st.data())
def test_every_command_is_refused_or_yields_events_that_keep_the_invariants(data: st.DataObject) -> None:
    policy: Policy = data.draw(policies, label="policy")
    tier = data.draw(st.sampled_from([Tier.VILLAGE, Tier.VILLAGE, Tier.TOWNSHIP, Tier.CITY]), label="tier")
    urgency = data.draw(st.sampled_from(Urgency), label="urgency")
    life = Life(decide(None, filing(tier=tier, urgency=urgency, policy=policy), T0))
    clock = T0
    """The wall clock: it moves on whether or not anything is accepted."""

    for _ in range(data.draw(st.integers(min_value=1, max_value=40), label="steps")):
        state = life.state
        assert state is not None
        step = data.draw(
            st.sampled_from(["act", "act", "act", "act", "anybody", "timer", "timer", "wait", "odd"])
        )

        if step == "wait":
            clock += data.draw(time_steps, label="wait")
            caught_up = catch_up(state, clock)
            pending = next_timer(fold(caught_up, state))
            assert pending is None or pending.at > clock, "catch_up left a timer due"
            # catch_up is exactly the pending timers fired one by one at that moment.
            fired: list[Event] = []
            while (timer := next_timer(state)) is not None and timer.at <= clock:
                events = decide(state, TimerFired(timer=timer), clock)
                fired += events
                state = fold(events, state)
            assert fired == caught_up
            continue  # the timers themselves fire in "timer" steps, or an action catches up on them

        if step == "timer":
            # The workflow fires the pending timer when it comes due, or late after an outage.
            pending = next_timer(state)
            if pending is None:
                continue
            clock = max(clock, pending.at)
            life.apply(decide(state, TimerFired(timer=pending), clock))
            continue

        if step == "odd":
            odd = data.draw(st.sampled_from(["early timer", "foreign timer", "clock back", "file again"]))
            if odd == "early timer":
                pending = next_timer(state)
                if pending is None or pending.at <= clock:
                    continue
                result = attempt(life, TimerFired(timer=pending), clock)
                assert isinstance(result, Refused) and result.code is RefusalCode.STALE_TIMER
            elif odd == "foreign timer":
                foreign = Timer(kind=TimerKind.RETURN_VISIT_WINDOW, at=life.now - timedelta(seconds=1))
                result = attempt(life, TimerFired(timer=foreign), clock)
                assert isinstance(result, Refused) and result.code is RefusalCode.STALE_TIMER
            elif odd == "clock back":
                result = attempt(life, WithdrawInput(actor=PETITIONER), life.now - timedelta(seconds=1))
                assert isinstance(result, Refused) and result.code is RefusalCode.CLOCK_WENT_BACK
            else:
                result = attempt(life, filing(tier=tier, policy=policy), clock)
                assert isinstance(result, Refused) and result.code is RefusalCode.ALREADY_FILED
            continue

        clock += data.draw(st.one_of(st.just(timedelta(0)), short_steps, time_steps), label="then")
        moves = any_move() if step == "anybody" else next_moves(state.tier, state.stage, state.paused)
        command = data.draw(moves, label="command")
        result = attempt(life, command, clock)
        if state.stage is Stage.CLOSED and not isinstance(command, RecordReturnVisitInput):
            assert isinstance(result, Refused), "a closed petition accepted more than a return visit"
            assert result.code in (RefusalCode.CLOSED, RefusalCode.FINISHED)
        if isinstance(result, Refused):
            continue
        assert result, "an accepted action caused nothing"
        assert result[-1].at == clock
        life.apply(result)
        # An action is judged after every timer due by then: nothing it leaves behind is already due.
        pending = next_timer(life.state)  # type: ignore[arg-type]
        assert pending is None or pending.at > clock, f"{pending} is due at or before {clock} after an action"

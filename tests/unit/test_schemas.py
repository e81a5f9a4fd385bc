"""The contracts validate what comes in and survive the trip through JSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from schemas import events as ev
from schemas.commands import ACTION_TYPES, AcknowledgeInput, FilePetitionInput
from schemas.common import (
    SYSTEM,
    Actor,
    AssessmentDecision,
    Channel,
    Clock,
    ClosedReason,
    Outcome,
    Rating,
    Role,
    Tier,
    Urgency,
)
from schemas.directory import OfficeKind
from schemas.events import (
    EVENT_ADAPTER,
    Acknowledged,
    Assessed,
    Closed,
    ContactCadreChanged,
    DeadlineMissed,
    Envelope,
    Escalated,
    Event,
    FeedbackClosingSoon,
    FeedbackReceived,
    InfoProvided,
    InfoRequested,
    InfoWaitLapsed,
    PetitionFiled,
    RegionRenamed,
    ReminderDue,
    Reopened,
    Resolved,
    ReturnVisitDue,
    ReturnVisitLapsed,
    ReturnVisitRecorded,
    Withdrawn,
)
from schemas.offices import OfficeRef, territorial
from schemas.policy import DispatchRules, Policy, TierDeadlines
from tests.unit._petitions import CADRE_ID, HOME, PETITIONER, T0, days, filing, official

VILLAGE = official(Tier.VILLAGE)


def errors(invalid: pytest.ExceptionInfo[ValidationError]) -> list[tuple[tuple[int | str, ...], str]]:
    return [(e["loc"], e["type"]) for e in invalid.value.errors()]


# ------------------------------------------------------------------------------------------ inputs


def test_a_description_over_4000_characters_is_rejected_naming_the_field() -> None:
    data = filing().model_dump()
    data["description"] = "x" * 4001

    with pytest.raises(ValidationError) as invalid:
        FilePetitionInput.model_validate(data)

    assert errors(invalid) == [(("description",), "string_too_long")]
    assert "description" in str(invalid.value)
    data["description"] = "x" * 4000
    assert len(FilePetitionInput.model_validate(data).description) == 4000


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError) as invalid:
        AcknowledgeInput.model_validate({"actor": VILLAGE.model_dump(), "priority": "high"})
    assert errors(invalid) == [(("priority",), "extra_forbidden")]

    with pytest.raises(ValidationError) as invalid:
        FilePetitionInput.model_validate({**filing().model_dump(), "petitioner_name": "Li Hua"})
    assert errors(invalid) == [(("petitioner_name",), "extra_forbidden")]


def test_contracts_are_immutable() -> None:
    with pytest.raises(ValidationError):
        VILLAGE.id = "someone-else"  # type: ignore[misc]


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.CONTACT_CADRE])
def test_an_official_or_cadre_without_a_tier_and_region_is_rejected(role: Role) -> None:
    with pytest.raises(ValidationError) as invalid:
        Actor(role=role, id="o-1", tier=Tier.VILLAGE)

    assert f"a {role.value} must have a tier and a region_id" in str(invalid.value)
    with pytest.raises(ValidationError):
        Actor(role=role, id="o-1", region_id="v-dongli")


def test_a_petitioner_or_the_system_carries_no_jurisdiction() -> None:
    with pytest.raises(ValidationError) as invalid:
        Actor(role=Role.PETITIONER, id="p-1", tier=Tier.VILLAGE, region_id="v-dongli")

    assert "a petitioner has no tier or region_id" in str(invalid.value)


def test_a_petition_id_is_a_safe_key() -> None:
    with pytest.raises(ValidationError) as invalid:
        filing(petition_id="../etc/passwd")

    assert errors(invalid) == [(("petition_id",), "string_pattern_mismatch")]


def test_every_action_is_known_by_its_kind() -> None:
    assert sorted(ACTION_TYPES) == [
        "acknowledge",
        "answer_summons",
        "assess",
        "dispatch",
        "escalate",
        "provide_info",
        "rate",
        "record_return_visit",
        "request_info",
        "resolve",
        "send_back",
        "sign_for",
        "summon",
        "withdraw",
    ]


def test_a_region_path_names_the_region_at_each_tier() -> None:
    assert [HOME.at(t) for t in Tier] == ["v-dongli", "t-xujiahu", "c-yishui", "m-linyi"]
    assert [t.above for t in Tier] == [Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY, None]


# ------------------------------------------------------------------------------------------ events

_CENTRE = OfficeRef(office_id="centre-yishui", kind=OfficeKind.CENTRE, tier=Tier.COUNTY, region_id="c-yishui")
_WATER = OfficeRef(
    office_id="water-yishui", kind=OfficeKind.DEPARTMENT, tier=Tier.COUNTY, region_id="c-yishui"
)
_TOWNSHIP = territorial(Tier.TOWNSHIP, "t-xujiahu")

ONE_OF_EACH: list[Event] = [
    PetitionFiled(
        at=T0,
        actor=PETITIONER,
        petition_id="pet-1",
        petitioner_id=PETITIONER.id,
        region=HOME,
        description="road floods",
        channel=Channel.WEB,
        category="roads",
        contact_cadre_id=CADRE_ID,
        urgency=Urgency.URGENT,
        tier=Tier.VILLAGE,
        policy=Policy(reminder_points=(0.25, 0.5, 0.9), reopen_rounds=2),
        respond_by=T0 + days(1),
        resolve_by=T0 + days(7),
    ),
    Acknowledged(at=T0, actor=VILLAGE, tier=Tier.VILLAGE, note="called"),
    Assessed(
        at=T0,
        actor=VILLAGE,
        tier=Tier.VILLAGE,
        decision=AssessmentDecision.NEEDS_INFO,
        category="roads",
        urgency=Urgency.NORMAL,
        common_issue=True,
        reason="where?",
        resolve_by=T0 + days(7),
    ),
    InfoRequested(at=T0, actor=VILLAGE, tier=Tier.VILLAGE, question="where?"),
    InfoProvided(at=T0, actor=PETITIONER, tier=Tier.VILLAGE, info="bridge", resolve_by=T0 + days(8)),
    InfoWaitLapsed(at=T0, actor=SYSTEM, tier=Tier.VILLAGE, resolve_by=T0 + days(21)),
    Resolved(
        at=T0,
        actor=VILLAGE,
        tier=Tier.VILLAGE,
        outcome=Outcome.NOT_FEASIBLE,
        public_summary="railway land",
        on_time=False,
        feedback_by=T0 + days(7),
    ),
    Escalated(
        at=T0,
        actor=SYSTEM,
        from_tier=Tier.VILLAGE,
        to_tier=Tier.TOWNSHIP,
        reason="missed",
        automatic=True,
        respond_by=T0 + days(2),
        resolve_by=T0 + days(15),
    ),
    ReminderDue(at=T0, actor=SYSTEM, tier=Tier.CITY, clock=Clock.RESOLVE, due_at=T0, point=None),
    ReminderDue(at=T0, actor=SYSTEM, tier=Tier.CITY, clock=Clock.RESPOND, due_at=T0 + days(1), point=0.75),
    DeadlineMissed(
        at=T0,
        actor=SYSTEM,
        tier=Tier.COUNTY,
        region_id="c-yishui",
        clock=Clock.RESPOND,
        due_at=T0,
        official_id=None,
    ),
    FeedbackReceived(at=T0, actor=PETITIONER, tier=Tier.VILLAGE, rating=Rating.DISSATISFIED, comment="no"),
    Reopened(
        at=T0, actor=PETITIONER, tier=Tier.VILLAGE, reason="dissatisfied", round=1, resolve_by=T0 + days(7)
    ),
    Closed(
        at=T0,
        actor=SYSTEM,
        tier=Tier.CITY,
        reason=ClosedReason.DISSATISFIED_AT_TOP,
        return_visit_due=T0 + days(30),
    ),
    Withdrawn(at=T0, actor=PETITIONER, tier=Tier.VILLAGE),
    ReturnVisitDue(at=T0, actor=SYSTEM, contact_cadre_id=CADRE_ID, visit_by=T0 + days(30)),
    ReturnVisitRecorded(at=T0, actor=Actor.contact_cadre(CADRE_ID, "v-dongli"), held=False, note="wet"),
    ReturnVisitLapsed(at=T0, actor=SYSTEM),
    ContactCadreChanged(
        at=T0, actor=SYSTEM, from_cadre_id=CADRE_ID, to_cadre_id="cadre-zhao", directory_version=2
    ),
    RegionRenamed(
        at=T0,
        actor=SYSTEM,
        renamed={HOME.village: "v-xinhe"},
        answering=HOME.model_copy(update={"village": "v-xinhe"}),
        directory_version=2,
    ),
    FeedbackClosingSoon(at=T0, actor=SYSTEM, tier=Tier.VILLAGE, closes_at=T0 + days(1)),
    ev.IntakeOpened(
        at=T0,
        actor=SYSTEM,
        office=_CENTRE,
        chain=(territorial(Tier.COUNTY, "c-yishui"),),
        centre=True,
        rules=DispatchRules(),
        dispatch_by=T0 + timedelta(hours=1),
    ),
    ev.Dispatched(
        at=T0,
        actor=VILLAGE,
        from_office=_CENTRE,
        to_office=_WATER,
        chain=(),
        sign_for_by=T0 + timedelta(hours=2),
        on_time=True,
        final=False,
    ),
    ev.DispatchMissed(at=T0, actor=SYSTEM, office=_CENTRE, due_at=T0),
    ev.SignedFor(at=T0, actor=VILLAGE, office=_WATER, resolve_by=T0 + days(30)),
    ev.SignForMissed(
        at=T0, actor=SYSTEM, office=_WATER, due_at=T0, to_office=_CENTRE, dispatch_by=T0 + days(1)
    ),
    ev.SentBack(
        at=T0,
        actor=VILLAGE,
        office=_WATER,
        to_office=_CENTRE,
        reason="not ours",
        count=1,
        dispatch_by=T0 + days(1),
    ),
    ev.ReferredToSupervisor(
        at=T0,
        actor=SYSTEM,
        from_office=_CENTRE,
        to_office=_TOWNSHIP,
        chain=(),
        send_backs=2,
        dispatch_by=T0 + days(1),
    ),
    ev.Summoned(
        at=T0, actor=VILLAGE, office=_TOWNSHIP, offices=(_WATER,), answer_by=T0 + timedelta(minutes=30)
    ),
    ev.SummonsAnswered(at=T0, actor=VILLAGE, office=_WATER, part="pump sent", on_time=True),
    ev.SummonsMissed(at=T0, actor=SYSTEM, office=_WATER, due_at=T0),
    ev.HandedUp(
        at=T0,
        actor=SYSTEM,
        from_office=_WATER,
        to_office=_TOWNSHIP,
        chain=(),
        reason="missed",
        automatic=True,
        respond_by=T0 + days(2),
        resolve_by=T0 + days(15),
    ),
    ev.OfficeReturnVisitDue(at=T0, actor=SYSTEM, office=_TOWNSHIP, visit_by=T0 + days(30)),
]


def test_the_examples_cover_every_event_type() -> None:
    union = get_args(get_args(Event)[0])
    assert {type(e) for e in ONE_OF_EACH} == set(union)


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: f"{e.type}")
def test_every_event_round_trips_through_json(event: Event) -> None:
    raw = EVENT_ADAPTER.dump_json(event)

    assert EVENT_ADAPTER.validate_json(raw) == event
    assert EVENT_ADAPTER.validate_python(EVENT_ADAPTER.dump_python(event, mode="json")) == event


def test_an_event_is_read_by_its_stable_type_and_version() -> None:
    body: dict[str, Any] = {
        "type": "Withdrawn",
        "version": 1,
        "at": "2025-03-03T08:00:00Z",
        "actor": {"role": "petitioner", "id": "household-0042"},
        "tier": "village",
    }

    assert EVENT_ADAPTER.validate_python(body) == Withdrawn(at=T0, actor=PETITIONER, tier=Tier.VILLAGE)
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python({**body, "version": 2})
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python({**body, "type": "workflows.lifecycle.Withdrawn"})


def test_an_envelope_counts_from_one() -> None:
    withdrawn = Withdrawn(at=T0, actor=PETITIONER, tier=Tier.VILLAGE)

    assert Envelope.model_validate_json(
        Envelope(petition_id="pet-1", seq=1, event=withdrawn).model_dump_json()
    ) == Envelope(petition_id="pet-1", seq=1, event=withdrawn)
    with pytest.raises(ValidationError):
        Envelope(petition_id="pet-1", seq=0, event=withdrawn)


# ------------------------------------------------------------------------------------------ policy


def test_the_default_policy_gives_every_tier_deadlines() -> None:
    policy = Policy()

    assert [policy.deadlines(t, Urgency.NORMAL).resolve_within for t in Tier] == [
        days(7),
        days(15),
        days(30),
        days(30),
    ]
    assert policy.deadlines(Tier.VILLAGE, Urgency.URGENT) == TierDeadlines(
        respond_within=timedelta(hours=2), resolve_within=days(1)
    )


def test_a_policy_missing_a_tier_is_rejected() -> None:
    normal = dict(Policy().normal)
    del normal[Tier.COUNTY]

    with pytest.raises(ValidationError) as invalid:
        Policy(normal=normal)

    assert "normal has no deadlines for county" in str(invalid.value)


def test_a_tier_may_not_have_longer_to_respond_than_to_resolve() -> None:
    with pytest.raises(ValidationError) as invalid:
        TierDeadlines(respond_within=days(8), resolve_within=days(7))

    assert "respond_within must not exceed resolve_within" in str(invalid.value)


@pytest.mark.parametrize("points", [(0.75, 0.5), (0.5, 0.5)])
def test_reminder_points_must_be_strictly_increasing(points: tuple[float, ...]) -> None:
    with pytest.raises(ValidationError) as invalid:
        Policy(reminder_points=points)

    assert "reminder_points must be strictly increasing" in str(invalid.value)


@pytest.mark.parametrize("point", [0.0, 1.0, 1.5])
def test_a_reminder_point_is_a_fraction_strictly_inside_the_window(point: float) -> None:
    with pytest.raises(ValidationError):
        Policy(reminder_points=(point,))


def test_durations_must_be_positive() -> None:
    with pytest.raises(ValidationError) as invalid:
        Policy(feedback_window=timedelta(0))

    assert errors(invalid) == [(("feedback_window",), "greater_than")]


def test_a_policy_round_trips_through_json() -> None:
    policy = Policy(reminder_points=(0.9,), overdue_reminder_every=timedelta(hours=6), reopen_rounds=3)

    assert Policy.model_validate_json(policy.model_dump_json()) == policy

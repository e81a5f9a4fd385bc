"""The read models of one petition, projected event by event; used by the append and by the rebuild.

Business rules are not repeated here: the petition's state is ``workflows.lifecycle.evolve``'s fold,
and the read models only copy facts out of the events and that state.
"""

from __future__ import annotations

import json
from collections.abc import Container, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeAlias

from schemas.common import PersonId, Tier
from schemas.events import (
    Acknowledged,
    Closed,
    ContactCadreChanged,
    DeadlineMissed,
    Dispatched,
    Escalated,
    Event,
    FeedbackClosingSoon,
    FeedbackReceived,
    HandedUp,
    InfoProvided,
    InfoRequested,
    IntakeOpened,
    OfficeReturnVisitDue,
    PetitionFiled,
    ReferredToSupervisor,
    RegionRenamed,
    ReminderDue,
    Reopened,
    Resolved,
    ReturnVisitDue,
    SentBack,
    SignedFor,
    SignForMissed,
    Summoned,
    SummonsAnswered,
    SummonsMissed,
    Withdrawn,
)
from schemas.offices import OfficeRef
from schemas.state import PetitionState
from store.models import RecipientRole
from workflows.lifecycle import current_deadline, evolve, holding_office

Record: TypeAlias = tuple[Any, ...]
"""One row, its values in the order of the table's column tuple below."""

PETITION_COLUMNS = (
    "petition_id",
    "tier",
    "stage",
    "village_id",
    "township_id",
    "county_id",
    "city_id",
    "category",
    "channel",
    "urgency",
    "common_issue",
    "overdue",
    "acknowledged_by",
    "contact_cadre_id",
    "filed_at",
    "updated_at",
    "current_deadline",
    "closed_reason",
    "rating",
    "finished",
    "last_seq",
    "stint_no",
    "resolution_seq",
    "office_id",
    "office_kind",
    "state",
)
NOTIFICATION_COLUMNS = ("petition_id", "seq", "recipient_role", "recipient_id", "kind", "payload")
NotificationKey: TypeAlias = tuple[str, int, str, str]
"""(petition_id, seq, recipient_role, recipient_id): what makes a notification one of a kind."""


@dataclass(slots=True)
class Stint:
    """A petition's stay at one tier: a row of ``tier_stints``, the facts behind the figures."""

    petition_id: str
    stint_no: int
    tier: str
    region_id: str
    official_id: str | None
    """Who answers for this stint: whoever acknowledged it, else whom a missed deadline was charged
    to, else whoever resolved it."""
    entered_at: datetime
    respond_by: datetime | None
    responded_at: datetime | None = None
    responded_on_time: bool = False
    resolved_at: datetime | None = None
    """The latest resolution at this tier (a reopened petition may be resolved more than once)."""
    resolved_on_time: bool = False
    outcome: str | None = None
    escalated: bool = False
    escalated_automatically: bool = False
    deadlines_missed: int = 0
    reopened: int = 0
    rating: str | None = None
    """The latest rating given while at this tier."""
    office_id: str | None = None
    """The office holding the petition in this stint; None for a petition that never met an office
    (its tier's territorial office: ``<tier>:<region_id>``)."""


@dataclass(slots=True)
class OfficeFact:
    """One thing an office did (or let pass) with a petition: a row of ``office_facts``."""

    petition_id: str
    seq: int
    office_id: str
    office_kind: str
    tier: str
    region_id: str
    fact: str
    at: datetime
    on_time: bool | None = None
    seconds: float | None = None


@dataclass(slots=True)
class EchoEntry:
    """One answer on the public echo wall: a row of ``echo_wall``. No personal data goes here."""

    petition_id: str
    seq: int
    tier: str
    village_id: str
    township_id: str
    county_id: str
    city_id: str
    category: str
    outcome: str
    public_summary: str
    resolved_at: datetime
    days_to_resolve: float
    on_time: bool
    rating: str | None = None


STINT_COLUMNS = tuple(f.name for f in fields(Stint))
ECHO_COLUMNS = tuple(f.name for f in fields(EchoEntry))
OFFICE_FACT_COLUMNS = tuple(f.name for f in fields(OfficeFact))
# Flat getters: dataclasses.astuple deep-copies every value, which dominated rebuild time.
_stint_record = attrgetter(*STINT_COLUMNS)
_echo_record = attrgetter(*ECHO_COLUMNS)
_office_fact_record = attrgetter(*OFFICE_FACT_COLUMNS)


@dataclass(slots=True)
class PetitionProjection:
    """The read models of one petition: start empty (rebuild) or from the stored rows (append)."""

    state: PetitionState | None = None
    stint: Stint | None = None
    """The current stint (the last one)."""
    echo: EchoEntry | None = None
    """The echo-wall entry of the latest resolution."""
    stints: dict[int, Stint] = field(default_factory=dict)
    """Stints changed since this projection was loaded, by stint number."""
    echoes: dict[int, EchoEntry] = field(default_factory=dict)
    """Echo-wall entries changed since this projection was loaded, by seq."""
    notifications: list[Record] = field(default_factory=list)
    """Notifications owed by the events applied, but not those in ``in_outbox``."""
    office_facts: list[OfficeFact] = field(default_factory=list)
    """Facts of offices owed by the events applied (``office_facts`` rows, written once each)."""
    in_outbox: Container[NotificationKey] = ()
    """Notifications the outbox already holds: the rebuild leaves them as they are, so it need not
    write their payloads again."""

    def apply(self, seq: int, event: Event) -> None:
        """Fold ``event`` (the ``seq``-th of its petition) into the state and every read model.

        Raises:
            ValueError: the event does not follow (``evolve`` refuses it, or ``seq`` is not next).
        """
        before = self.state
        expected = 1 if before is None else before.seq + 1
        if seq != expected:
            raise ValueError(f"event {seq} folded where {expected} was due")
        after = evolve(before, event)
        self._facts(before, after, seq, event)
        petition_id, in_outbox = after.petition_id, self.in_outbox
        recused = after.recused_person_id
        if recused is not None and (before is None or before.recused_person_id is None):
            # Recusal is known from the event after the filing (``IntakeOpened``), which comes in
            # the filing's own batch: take back what the filing owed the person it is about.
            self.notifications = [n for n in self.notifications if n[0] != petition_id or n[3] != recused]
        if isinstance(event, IntakeOpened):
            # The filing told the territorial office of its tier; it is the intake office's.
            self.notifications = [
                n
                for n in self.notifications
                if n[0] != petition_id or n[1] != seq - 1 or n[4] != "petition_filed"
            ]
        self.notifications += (
            (petition_id, seq, role.value, recipient, kind, json.dumps(payload, sort_keys=True))
            for role, recipient, kind, payload in _notifications(before, after, event)
            if (petition_id, seq, role.value, recipient) not in in_outbox and recipient != recused
        )
        self.state = after

    def _facts(self, before: PetitionState | None, after: PetitionState, seq: int, event: Event) -> None:
        if isinstance(event, PetitionFiled):
            self._enter(after, 1, event.at, event.respond_by)
            return
        assert before is not None and self.stint is not None
        stint = self.stint
        self.stints[stint.stint_no] = stint
        match event:
            case Acknowledged() if stint.responded_at is None:
                stint.responded_at = event.at
                stint.responded_on_time = before.respond_by is not None and event.at <= before.respond_by
                stint.official_id = event.actor.id
            case Resolved():
                stint.resolved_at = event.at
                stint.resolved_on_time = event.on_time
                stint.outcome = event.outcome.value
                stint.official_id = stint.official_id or event.actor.id
                region = after.region
                self.echo = EchoEntry(
                    petition_id=after.petition_id,
                    seq=seq,
                    tier=event.tier.value,
                    village_id=region.village,
                    township_id=region.township,
                    county_id=region.county,
                    city_id=region.city,
                    category=after.category,
                    outcome=event.outcome.value,
                    public_summary=event.public_summary,
                    resolved_at=event.at,
                    days_to_resolve=round((event.at - after.filed_at).total_seconds() / 86400, 2),
                    on_time=event.on_time,
                )
                self.echoes[seq] = self.echo
            case FeedbackReceived():
                stint.rating = event.rating.value
                if self.echo is not None:
                    self.echo.rating = event.rating.value
                    self.echoes[self.echo.seq] = self.echo
            case DeadlineMissed():
                stint.deadlines_missed += 1
                stint.official_id = stint.official_id or event.official_id
            case Reopened():
                stint.reopened += 1
            case Escalated():
                stint.escalated = True
                stint.escalated_automatically = event.automatic
                self._enter(after, stint.stint_no + 1, event.at, event.respond_by)
            case HandedUp():
                stint.escalated = True
                stint.escalated_automatically = event.automatic
                self._enter(after, stint.stint_no + 1, event.at, event.respond_by)
            case IntakeOpened():
                self.stint.office_id = event.office.office_id
                self.stint.region_id = event.office.region_id
                self.stint.respond_by = event.dispatch_by or stint.respond_by
            case _:
                self._office_facts(before, after, seq, event)

    def _office_facts(self, before: PetitionState, after: PetitionState, seq: int, event: Event) -> None:
        """The facts of offices an event records, and the new stint when another office takes it."""
        assert self.stint is not None
        stint = self.stint

        def fact(
            office: OfficeRef, name: str, on_time: bool | None = None, since: datetime | None = None
        ) -> None:
            seconds = None if since is None else (event.at - since).total_seconds()
            self.office_facts.append(
                OfficeFact(
                    after.petition_id,
                    seq,
                    office.office_id,
                    office.kind.value,
                    office.tier.value,
                    office.region_id,
                    name,
                    event.at,
                    on_time,
                    seconds,
                )
            )

        match event:
            case Dispatched():
                fact(event.from_office, "dispatched", event.on_time, before.dispatch_entered_at)
                fact(event.to_office, "received")
                self._enter(after, stint.stint_no + 1, event.at, event.sign_for_by)
            case SignedFor():
                fact(event.office, "signed_for", True, before.received_at)
                stint.responded_at = event.at
                stint.responded_on_time = True
                stint.official_id = event.actor.id
            case SignForMissed():
                fact(event.office, "sign_for_missed", False, before.received_at)
                stint.deadlines_missed += 1
                self._enter(after, stint.stint_no + 1, event.at, event.dispatch_by)
            case SentBack():
                fact(event.office, "sent_back", None, before.received_at)
                stint.official_id = stint.official_id or event.actor.id
                self._enter(after, stint.stint_no + 1, event.at, event.dispatch_by)
            case ReferredToSupervisor():
                self._enter(after, stint.stint_no + 1, event.at, event.dispatch_by)
            case Summoned():
                for office in event.offices:
                    fact(office, "summoned")
            case SummonsAnswered():
                summoned = next(
                    (s for s in before.summons if s.office.office_id == event.office.office_id), None
                )
                fact(
                    event.office,
                    "summons_answered",
                    event.on_time,
                    summoned.summoned_at if summoned else None,
                )
            case SummonsMissed():
                fact(event.office, "summons_missed", False)

    def _enter(self, state: PetitionState, stint_no: int, at: datetime, respond_by: datetime | None) -> None:
        office = state.office
        self.stint = Stint(
            petition_id=state.petition_id,
            stint_no=stint_no,
            tier=state.tier.value,
            region_id=state.region.at(state.tier) if office is None else office.region_id,
            official_id=None,
            entered_at=at,
            respond_by=respond_by,
            office_id=None if office is None else office.office_id,
        )
        self.stints[stint_no] = self.stint

    # ------------------------------------------------------------------------------------ rows

    def petition_record(self) -> Record:
        state = self.state
        assert state is not None and self.stint is not None
        region = state.region
        office = holding_office(state)
        return (
            state.petition_id,
            state.tier.value,
            state.stage.value,
            region.village,
            region.township,
            region.county,
            region.city,
            state.category,
            state.channel.value,
            state.urgency.value,
            state.common_issue,
            state.is_overdue,
            state.acknowledged_by,
            state.contact_cadre_id,
            state.filed_at,
            state.updated_at,
            current_deadline(state),
            None if state.closed_reason is None else state.closed_reason.value,
            None if state.rating is None else state.rating.value,
            state.finished,
            state.seq,
            self.stint.stint_no,
            None if self.echo is None else self.echo.seq,
            office.office_id,
            office.kind.value,
            state.model_dump_json(),
        )

    def stint_records(self) -> list[Record]:
        return [_stint_record(s) for s in self.stints.values()]

    def echo_records(self) -> list[Record]:
        return [_echo_record(e) for e in self.echoes.values()]

    def office_fact_records(self) -> list[Record]:
        return [_office_fact_record(f) for f in self.office_facts]


def project(events: Sequence[tuple[int, Event]]) -> PetitionProjection:
    """The read models of a petition from its whole stream of ``(seq, event)``."""
    projection = PetitionProjection()
    for seq, event in events:
        projection.apply(seq, event)
    return projection


# ------------------------------------------------------------------------------------ notifications

Recipient: TypeAlias = tuple[RecipientRole, str]
Message: TypeAlias = tuple[RecipientRole, str, str, dict[str, Any]]
"""(recipient role, recipient id, kind, payload). Payloads carry ids and facts, never personal data:
a sender looks names and phone numbers up in ``petitioners`` when it sends."""


def office(tier: Tier, state: PetitionState) -> Recipient:
    """The office of ``tier`` that has jurisdiction over the petition, as ``<tier>:<region_id>``: the
    successor's, once a directory change merged or moved the region (``RegionRenamed``)."""
    return RecipientRole.TIER_OFFICE, f"{tier.value}:{state.answering_at(tier)}"


def _holding(state: PetitionState) -> Recipient:
    """The office holding the petition: its directory id, or ``<tier>:<region_id>`` (``office``)."""
    return RecipientRole.TIER_OFFICE, holding_office(state).office_id


def _to(office: OfficeRef) -> Recipient:
    return RecipientRole.TIER_OFFICE, office.office_id


def _responsible(state: PetitionState) -> Recipient:
    """Whoever works on the petition now: the official who took it up, else the holding office."""
    if state.acknowledged_by is not None:
        return RecipientRole.OFFICIAL, state.acknowledged_by
    return _holding(state)


def _person(state: PetitionState, person_id: PersonId) -> Recipient:
    role = RecipientRole.CONTACT_CADRE if person_id == state.contact_cadre_id else RecipientRole.OFFICIAL
    return role, person_id


def _notifications(before: PetitionState | None, after: PetitionState, event: Event) -> list[Message]:
    """The messages ``event`` owes, at most one per recipient."""
    petitioner = (RecipientRole.PETITIONER, after.petitioner_id)
    cadre = (RecipientRole.CONTACT_CADRE, after.contact_cadre_id)
    sends: list[tuple[Recipient, str, dict[str, Any]]] = []
    facts: dict[str, Any]
    match event:
        case PetitionFiled():
            facts = {"tier": event.tier.value, "category": event.category, "urgency": event.urgency.value}
            sends.append((cadre, "cadre_told_of_filing", {**facts, "channel": event.channel.value}))
            filed = {**facts, "respond_by": _t(event.respond_by)}
            sends.append((office(event.tier, after), "petition_filed", filed))
        case Acknowledged():
            sends.append((petitioner, "acknowledged", {"tier": event.tier.value}))
        case InfoRequested():
            facts = {"tier": event.tier.value, "question": event.question}
            sends.append((petitioner, "info_requested", facts))
        case InfoProvided():
            sends.append((_responsible(after), "info_provided", {"tier": event.tier.value}))
        case ReminderDue():
            kind = "reminder" if event.point is not None else "overdue_reminder"
            facts = {"tier": event.tier.value, "clock": event.clock.value, "due_at": _t(event.due_at)}
            sends.append((_responsible(after), kind, {**facts, "point": event.point}))
        case DeadlineMissed():
            facts = {"tier": event.tier.value, "clock": event.clock.value, "due_at": _t(event.due_at)}
            sends.append((_holding(after), "deadline_missed", facts))
            if event.official_id is not None:
                sends.append((_person(after, event.official_id), "deadline_missed", facts))
        case Escalated():
            facts = {"from_tier": event.from_tier.value, "to_tier": event.to_tier.value}
            facts |= {"automatic": event.automatic}
            handed = {**facts, "respond_by": _t(event.respond_by)}
            sends.append((_holding(after), "escalated_to_you", handed))
            sends.append((petitioner, "escalated", facts))
            # The contact cadre must know, and accompany the household, when it goes above the village.
            sends.append((cadre, "escalated_accompany", facts))
        case Resolved():
            facts = {"tier": event.tier.value, "outcome": event.outcome.value}
            facts |= {"public_summary": event.public_summary, "feedback_by": _t(event.feedback_by)}
            sends.append((petitioner, "resolution_to_petitioner", facts))
        case FeedbackReceived() if before is not None and before.resolution is not None:
            resolver = _person(after, before.resolution.resolved_by)
            facts = {"tier": event.tier.value, "rating": event.rating.value}
            sends.append((resolver, "feedback_received", facts))
        case Reopened():
            facts = {"tier": event.tier.value, "round": event.round, "resolve_by": _t(event.resolve_by)}
            sends.append((_responsible(after), "reopened", facts))
        case Closed():
            facts = {"reason": event.reason.value, "return_visit_due": _t(event.return_visit_due)}
            sends.append((petitioner, "feedback_closed", facts))
        case Withdrawn():
            sends.append((_responsible(after), "withdrawn", {"tier": event.tier.value}))
        case FeedbackClosingSoon():
            facts = {"tier": event.tier.value, "closes_at": _t(event.closes_at)}
            sends.append((petitioner, "feedback_closing_soon", facts))
        case ReturnVisitDue():
            visitor = (RecipientRole.CONTACT_CADRE, event.contact_cadre_id)
            sends.append((visitor, "return_visit_due", {"visit_by": _t(event.visit_by)}))
        case ContactCadreChanged():
            facts = {"tier": after.tier.value, "stage": after.stage.value}
            sends.append((cadre, "cadre_assigned", {**facts, "directory_version": event.directory_version}))
        case RegionRenamed() if not after.finished:
            facts = {"tier": after.tier.value, "renamed": event.renamed}
            sends.append((office(after.tier, after), "region_renamed", facts))
        case IntakeOpened():
            facts = {"tier": event.office.tier.value, "category": after.category, "stage": after.stage.value}
            sends.append((_to(event.office), "petition_filed", facts))
        case Dispatched():
            facts = {"from_office": event.from_office.office_id, "sign_for_by": _t(event.sign_for_by)}
            sends.append((_to(event.to_office), "dispatched_to_you", facts))
        case SignForMissed():
            facts = {"office": event.office.office_id, "dispatch_by": _t(event.dispatch_by)}
            sends.append((_to(event.to_office), "sign_for_missed", facts))
        case SentBack():
            facts = {"office": event.office.office_id, "reason": event.reason, "count": event.count}
            sends.append((_to(event.to_office), "sent_back", facts))
        case ReferredToSupervisor():
            facts = {"from_office": event.from_office.office_id, "send_backs": event.send_backs}
            sends.append((_to(event.to_office), "referred_to_decide", facts))
        case Summoned():
            facts = {"office": event.office.office_id, "answer_by": _t(event.answer_by), "note": event.note}
            sends.extend((_to(helper), "summoned", facts) for helper in event.offices)
        case HandedUp():
            facts = {"from_office": event.from_office.office_id, "to_office": event.to_office.office_id}
            facts |= {"automatic": event.automatic}
            sends.append(
                (_to(event.to_office), "escalated_to_you", {**facts, "respond_by": _t(event.respond_by)})
            )
            sends.append((petitioner, "escalated", facts))
        case OfficeReturnVisitDue():
            sends.append((_to(event.office), "return_visit_due", {"visit_by": _t(event.visit_by)}))
    return [(role, recipient, kind, payload) for (role, recipient), kind, payload in sends]


def _t(at: datetime) -> str:
    return at.isoformat()

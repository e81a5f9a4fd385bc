"""Everything that happens to a petition, in the past tense.

Each event has a stable ``type`` and a schema ``version``: never a Python path, so stored history
survives renames. The decider emits them, ``evolve`` folds them, the event log stores them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from schemas.common import (
    Actor,
    AssessmentDecision,
    Category,
    Channel,
    Clock,
    ClosedReason,
    Contract,
    Outcome,
    PersonId,
    PetitionId,
    Rating,
    RegionId,
    RegionPath,
    Tier,
    Urgency,
)
from schemas.policy import Policy


class EventBase(Contract):
    at: datetime
    actor: Actor


class PetitionFiled(EventBase):
    type: Literal["PetitionFiled"] = "PetitionFiled"
    version: Literal[1] = 1
    petition_id: PetitionId
    petitioner_id: PersonId
    region: RegionPath
    description: str
    channel: Channel
    category: Category
    contact_cadre_id: PersonId
    urgency: Urgency
    tier: Tier
    policy: Policy
    respond_by: datetime
    resolve_by: datetime


class Acknowledged(EventBase):
    type: Literal["Acknowledged"] = "Acknowledged"
    version: Literal[1] = 1
    tier: Tier
    note: str | None = None


class Assessed(EventBase):
    type: Literal["Assessed"] = "Assessed"
    version: Literal[1] = 1
    tier: Tier
    decision: AssessmentDecision
    category: Category
    urgency: Urgency
    common_issue: bool
    reason: str | None = None
    resolve_by: datetime | None
    """The tier's resolve deadline after assessment: tightened when it was found urgent; None when
    the top tier has already missed it (the petition is overdue)."""


class InfoRequested(EventBase):
    type: Literal["InfoRequested"] = "InfoRequested"
    version: Literal[1] = 1
    tier: Tier
    question: str


class InfoProvided(EventBase):
    type: Literal["InfoProvided"] = "InfoProvided"
    version: Literal[1] = 1
    tier: Tier
    info: str
    resolve_by: datetime | None
    """The resolve deadline moved on by the time the clock was paused; None when the top tier had
    already missed it."""


class InfoWaitLapsed(EventBase):
    type: Literal["InfoWaitLapsed"] = "InfoWaitLapsed"
    version: Literal[1] = 1
    tier: Tier
    resolve_by: datetime | None
    """As in ``InfoProvided``."""


class Resolved(EventBase):
    type: Literal["Resolved"] = "Resolved"
    version: Literal[1] = 1
    tier: Tier
    outcome: Outcome
    public_summary: str
    note: str | None = None
    on_time: bool
    feedback_by: datetime


class Escalated(EventBase):
    type: Literal["Escalated"] = "Escalated"
    version: Literal[1] = 1
    from_tier: Tier
    to_tier: Tier
    reason: str
    automatic: bool
    respond_by: datetime
    resolve_by: datetime


class ReminderDue(EventBase):
    type: Literal["ReminderDue"] = "ReminderDue"
    version: Literal[1] = 1
    tier: Tier
    clock: Clock
    due_at: datetime
    """The deadline this reminder is about."""
    point: float | None
    """The reminder point (fraction of the window); None for a reminder after the deadline."""


class DeadlineMissed(EventBase):
    type: Literal["DeadlineMissed"] = "DeadlineMissed"
    version: Literal[1] = 1
    tier: Tier
    region_id: RegionId
    clock: Clock
    due_at: datetime
    official_id: PersonId | None
    """Who answers for the miss: the official who took it up, or the village's contact cadre."""


class FeedbackReceived(EventBase):
    type: Literal["FeedbackReceived"] = "FeedbackReceived"
    version: Literal[1] = 1
    tier: Tier
    rating: Rating
    comment: str | None = None


class Reopened(EventBase):
    type: Literal["Reopened"] = "Reopened"
    version: Literal[1] = 1
    tier: Tier
    reason: str
    round: int
    """How many times the petition has gone round at this tier, this one included."""
    resolve_by: datetime


class Closed(EventBase):
    type: Literal["Closed"] = "Closed"
    version: Literal[1] = 1
    tier: Tier
    reason: ClosedReason
    return_visit_due: datetime


class Withdrawn(EventBase):
    type: Literal["Withdrawn"] = "Withdrawn"
    version: Literal[1] = 1
    tier: Tier
    reason: str | None = None


class ReturnVisitDue(EventBase):
    type: Literal["ReturnVisitDue"] = "ReturnVisitDue"
    version: Literal[1] = 1
    contact_cadre_id: PersonId
    visit_by: datetime


class ReturnVisitRecorded(EventBase):
    type: Literal["ReturnVisitRecorded"] = "ReturnVisitRecorded"
    version: Literal[1] = 1
    held: bool
    note: str | None = None


class ReturnVisitLapsed(EventBase):
    type: Literal["ReturnVisitLapsed"] = "ReturnVisitLapsed"
    version: Literal[1] = 1


class ContactCadreChanged(EventBase):
    """The household's contact cadre changed in the directory while the petition was open: the new
    cadre accompanies it and is told of it from here on; the former one no longer acts as its cadre."""

    type: Literal["ContactCadreChanged"] = "ContactCadreChanged"
    version: Literal[1] = 1
    from_cadre_id: PersonId
    to_cadre_id: PersonId
    directory_version: int


class RegionRenamed(EventBase):
    """Regions on the petition's path were merged, split or moved in the directory: from here on the
    offices of ``answering`` answer for it, as well as those of the path it was filed with (which the
    petition keeps)."""

    type: Literal["RegionRenamed"] = "RegionRenamed"
    version: Literal[1] = 1
    renamed: dict[RegionId, RegionId]
    """Old id → new id, for each tier whose region changed."""
    answering: RegionPath
    directory_version: int


class FeedbackClosingSoon(EventBase):
    """The feedback window closes soon and the petitioner has not rated: remind them (the
    ``feedback-closing-reminder`` patch; petitions older than it never have one)."""

    type: Literal["FeedbackClosingSoon"] = "FeedbackClosingSoon"
    version: Literal[1] = 1
    tier: Tier
    closes_at: datetime


Event = Annotated[
    PetitionFiled
    | Acknowledged
    | Assessed
    | InfoRequested
    | InfoProvided
    | InfoWaitLapsed
    | Resolved
    | Escalated
    | ReminderDue
    | DeadlineMissed
    | FeedbackReceived
    | Reopened
    | Closed
    | Withdrawn
    | ReturnVisitDue
    | ReturnVisitRecorded
    | ReturnVisitLapsed
    | ContactCadreChanged
    | RegionRenamed
    | FeedbackClosingSoon,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class Envelope(Contract):
    """An event in its petition's stream: ``seq`` counts from 1 without gaps."""

    petition_id: PetitionId
    seq: Annotated[int, Field(ge=1)]
    event: Event

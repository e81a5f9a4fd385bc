"""What the store returns: results of writes and rows of the read models, as frozen pydantic models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.common import (
    Category,
    Channel,
    ClosedReason,
    Outcome,
    PersonId,
    PetitionId,
    Rating,
    RegionId,
    Stage,
    Tier,
    Urgency,
)
from schemas.directory import OfficeId, OfficeKind
from schemas.state import PetitionState


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class AppendResult(_Row):
    """How many envelopes were stored, and how many were already there (identical) and skipped."""

    appended: int
    duplicates: int


class ChainProblemKind(StrEnum):
    HASH_MISMATCH = "hash_mismatch"
    """The row's content does not hash to its stored hash: it was edited after being written."""
    BROKEN_LINK = "broken_link"
    """The row's prev_hash is not the hash of the row before it."""
    GAP = "gap"
    """Seqs are missing before this one (a row was deleted)."""


class ChainProblem(_Row):
    """One thing wrong with a petition's stored stream, at ``seq``."""

    petition_id: PetitionId
    seq: int
    kind: ChainProblemKind
    detail: str


class RebuildResult(_Row):
    petitions: int
    events: int


class PetitionRow(_Row):
    """A petition as the ``petitions`` read model holds it; ``state`` is the full fold of its events."""

    petition_id: PetitionId
    tier: Tier
    stage: Stage
    village_id: RegionId
    township_id: RegionId
    county_id: RegionId
    city_id: RegionId
    category: Category
    channel: Channel
    urgency: Urgency
    common_issue: bool
    overdue: bool
    acknowledged_by: PersonId | None
    contact_cadre_id: PersonId
    filed_at: datetime
    updated_at: datetime
    current_deadline: datetime | None
    closed_reason: ClosedReason | None
    rating: Rating | None
    finished: bool
    last_seq: int
    office_id: OfficeId
    """The office holding it (``workflows.lifecycle.holding_office``)."""
    office_kind: OfficeKind
    state: PetitionState


class EchoWallEntry(_Row):
    """One answer on the public board. Holds no personal data by construction."""

    petition_id: PetitionId
    seq: int
    """The seq of the ``Resolved`` event."""
    tier: Tier
    village_id: RegionId
    township_id: RegionId
    county_id: RegionId
    city_id: RegionId
    category: Category
    outcome: Outcome
    public_summary: str
    resolved_at: datetime
    days_to_resolve: float
    on_time: bool
    rating: Rating | None
    """The petitioner's latest rating of this resolution, if any."""


class FigureGroup(StrEnum):
    TIER = "tier"
    REGION = "region"
    OFFICIAL = "official"
    OFFICE = "office"


class OfficeFigures(_Row):
    """What an office did with the petitions it was sent (``office_facts``); with ``by=office`` only.

    A rate is None when its denominator is zero.
    """

    office_kind: str
    dispatched: int
    """Petitions this office (a centre, or the supervisor deciding for it) dispatched."""
    dispatched_on_time: int
    average_dispatch_minutes: float | None
    """From the moment it waited for dispatch here to the dispatch."""
    received: int
    """Dispatches this office received."""
    signed_for: int
    """... signed for within the limit (签收)."""
    sign_for_missed: int
    sent_back: int
    """... sent back as not its own (退单)."""
    summoned: int
    """Times it was summoned to help (协办)."""
    summons_answered_on_time: int
    summons_missed: int
    dispatch_on_time_rate: float | None
    timely_receipt_rate: float | None
    """signed_for / received."""
    send_back_rate: float | None
    """sent_back / received: the return rate."""
    summons_on_time_rate: float | None
    """summons_answered_on_time / summoned."""


class FigureRow(_Row):
    """The figures of one group (a tier, a region or an official); see ``store.queries.figures``.

    A rate is None when its denominator is zero.
    """

    group: str | None
    """The tier, the region id, or the official id (None: stints no official answers for)."""
    petitions: int
    stints: int
    responded_on_time: int
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int
    escalated: int
    escalated_automatically: int
    reopened: int
    deadlines_missed: int
    response_rate: float | None
    resolution_rate: float | None
    on_time_rate: float | None
    satisfaction_rate: float | None
    escalation_rate: float | None
    reopen_rate: float | None
    office: OfficeFigures | None = None
    """With ``by=office``: dispatch time, timely receipt, send-backs and summons of the office."""


class RecipientRole(StrEnum):
    PETITIONER = "petitioner"
    CONTACT_CADRE = "contact_cadre"
    OFFICIAL = "official"
    TIER_OFFICE = "tier_office"
    """An office: a directory office id, or ``<tier>:<region_id>`` for a region's government
    (e.g. ``township:t-xiazhuang``)."""


class Notification(_Row):
    """A message owed to someone because of the event ``(petition_id, seq)``; a message of no event
    (an official's sign-in code) names a pseudo-petition no petition id can be (``-sign-in-``)."""

    id: int
    petition_id: str
    seq: int
    recipient_role: RecipientRole
    recipient_id: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    sent_at: datetime | None
    """Done: delivered, or given up (``failed_at``)."""
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: str | None = None
    channel: str | None = None
    retried_at: datetime | None = None

"""A petition's state: the fold of its events, and the view officials and services read."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from schemas.common import (
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
    Stage,
    Tier,
    Urgency,
)
from schemas.offices import About, Chain, OfficeRef, Summons
from schemas.policy import DispatchRules, Policy


class Resolution(Contract):
    tier: Tier
    outcome: Outcome
    public_summary: str
    resolved_at: datetime
    resolved_by: PersonId
    on_time: bool


def _none(value: object) -> bool:
    return value is None


def _empty(value: object) -> bool:
    return value == ()


def _false(value: object) -> bool:
    return value is False


def _zero(value: object) -> bool:
    return value == 0


class PetitionState(Contract):
    """Everything the rules need to decide the next step. ``seq`` is the number of events folded."""

    petition_id: PetitionId
    petitioner_id: PersonId
    region: RegionPath
    description: str
    channel: Channel
    category: Category
    contact_cadre_id: PersonId
    urgency: Urgency
    common_issue: bool = False
    policy: Policy

    seq: int
    filed_at: datetime
    updated_at: datetime
    tier: Tier
    stage: Stage
    tier_entered_at: datetime
    tiers_visited: tuple[Tier, ...]

    respond_by: datetime | None
    """Pending respond deadline; None once the tier responded (or missed it at the top)."""
    respond_window: timedelta
    resolve_by: datetime | None
    """Pending resolve deadline; None once resolved (or missed at the top)."""
    resolve_window: timedelta
    reminded: tuple[tuple[Clock, float], ...] = ()
    """Reminder points already sent for the current deadlines."""
    acknowledged_by: PersonId | None = None
    """The official who took the petition up at the current tier."""

    info_requested_at: datetime | None = None
    info_question: str | None = None

    overdue: tuple[Clock, ...] = ()
    """At the top tier, the clocks whose deadline passed with nothing done."""
    last_overdue_reminder_at: datetime | None = None
    deadlines_missed: int = 0

    resolution: Resolution | None = None
    feedback_by: datetime | None = None
    feedback_reminded: bool = False
    """The petitioner was reminded that the feedback window closes soon (``FeedbackClosingSoon``)."""
    rating: Rating | None = None
    rounds_at_tier: int = 0
    reopen_count: int = 0

    closed_reason: ClosedReason | None = None
    closed_at: datetime | None = None
    return_visit_due: datetime | None = None
    return_visit_notified: bool = False
    return_visit_by: datetime | None = None
    """When the notified return visit lapses: its window counts from the notice."""
    finished: bool = False
    """Nothing more can happen: withdrawn, or the return visit is settled."""

    answering: RegionPath | None = None
    """Since a directory change merged or moved its regions (``RegionRenamed``): the path whose
    offices answer for the petition, beside ``region`` (the path it was filed with). None: only
    ``region``'s."""
    former_contact_cadres: tuple[PersonId, ...] = ()
    """Cadres the petition had before a directory change (``ContactCadreChanged``): no longer its
    contact cadre, they may not act on it as one."""

    def answering_at(self, tier: Tier) -> RegionId:
        """The region whose office answers for ``tier`` now."""
        return (self.answering or self.region).at(tier)

    # Offices (issue 12). A petition filed before offices has none of these set: it is held by the
    # territorial office of its tier and region (``lifecycle.holding_office``). Each is left out of
    # the dump while unused, so such a petition dumps as it did before offices: the read model's
    # stored state of every earlier petition still matches its fold (the auditor compares them).
    office: OfficeRef | None = Field(default=None, exclude_if=_none)
    """The office holding the petition; None: the territorial office of ``tier``."""
    chain: Chain = Field(default=(), exclude_if=_empty)
    """``office``'s supervisors, nearest first."""
    rules: DispatchRules | None = Field(default=None, exclude_if=_none)
    centre: OfficeRef | None = Field(default=None, exclude_if=_none)
    """The centre it was filed through: where a send-back returns it."""
    centre_chain: Chain = Field(default=(), exclude_if=_empty)
    deciding: OfficeRef | None = Field(default=None, exclude_if=_none)
    """The centre's supervisor, once the policy's send-backs handed it the decision."""
    dispatch_by: datetime | None = Field(default=None, exclude_if=_none)
    dispatch_entered_at: datetime | None = Field(default=None, exclude_if=_none)
    """When the current wait for dispatch began (the dispatch time counts from here)."""
    sign_for_by: datetime | None = Field(default=None, exclude_if=_none)
    received_at: datetime | None = Field(default=None, exclude_if=_none)
    """When the holding office received it from a dispatch: its send-back window counts from here.
    None when it came otherwise (escalation), and so cannot be sent back."""
    final_dispatch: bool = Field(default=False, exclude_if=_false)
    send_backs: int = Field(default=0, exclude_if=_zero)
    summons: tuple[Summons, ...] = Field(default=(), exclude_if=_empty)
    about: About | None = Field(default=None, exclude_if=_none)
    recused_office: OfficeRef | None = Field(default=None, exclude_if=_none)
    recused_person_id: str | None = Field(default=None, exclude_if=_none)

    @property
    def paused(self) -> bool:
        """The resolve clock is stopped while the petitioner is asked for information."""
        return self.info_requested_at is not None

    @property
    def is_overdue(self) -> bool:
        return bool(self.overdue)

"""A petition's state: the fold of its events, and the view officials and services read."""

from __future__ import annotations

from datetime import datetime, timedelta

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
from schemas.policy import Policy


class Resolution(Contract):
    tier: Tier
    outcome: Outcome
    public_summary: str
    resolved_at: datetime
    resolved_by: PersonId
    on_time: bool


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

    @property
    def paused(self) -> bool:
        """The resolve clock is stopped while the petitioner is asked for information."""
        return self.info_requested_at is not None

    @property
    def is_overdue(self) -> bool:
        return bool(self.overdue)

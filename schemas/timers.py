"""The timers a petition can be waiting on; the decider says which one is next."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from schemas.common import Clock, Contract, Tier


class TimerKind(StrEnum):
    REMINDER = "reminder"
    """Before a deadline, at one of the policy's reminder points."""
    DEADLINE = "deadline"
    """A tier's respond or resolve deadline."""
    OVERDUE_REMINDER = "overdue_reminder"
    """At the top tier, past a deadline: remind again and again."""
    INFO_WAIT_LIMIT = "info_wait_limit"
    """The petitioner did not answer a request for information in time: the clock runs again."""
    FEEDBACK_WINDOW = "feedback_window"
    """The petitioner did not rate a resolution in time: it closes unrated."""
    RETURN_VISIT = "return_visit"
    """After closing, the contact cadre is due to go back."""
    RETURN_VISIT_WINDOW = "return_visit_window"
    """The due return visit was never recorded: the record is finished without it."""
    FEEDBACK_CLOSING = "feedback_closing"
    """The feedback window closes soon and no rating came: remind the petitioner (once)."""
    DISPATCH_LIMIT = "dispatch_limit"
    """A centre did not dispatch a petition it holds in time."""
    SIGN_FOR_LIMIT = "sign_for_limit"
    """The receiving office did not sign for a dispatched petition in time: back to the centre."""
    SUMMONS_LIMIT = "summons_limit"
    """A summoned office did not answer in time."""


class Timer(Contract):
    """One pending timer: what it is for and when it is due."""

    kind: TimerKind
    at: datetime
    clock: Clock | None = None
    """For reminders and deadlines: which of the tier's two clocks."""
    tier: Tier | None = None
    point: float | None = None
    """For reminders: the fraction of the window at which this one fires."""
    office_id: str | None = None
    """For a summons limit: the summoned office."""

"""The Petition workflow's own contracts: its input, and what its activities take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from schemas.commands import FilePetitionInput, PetitionerContact
from schemas.common import Contract
from schemas.events import Envelope
from schemas.state import PetitionState
from schemas.upcasting import upcast_envelopes

TASK_QUEUE = "petitions"
WORKFLOW_TYPE = "Petition"


def workflow_id(petition_id: str) -> str:
    """The Temporal workflow id of a petition: at most one open workflow per petition."""
    return f"petition-{petition_id}"


class PetitionInput(Contract):
    """Start a petition from its filing, or carry one on (continue-as-new) from its state."""

    filing: FilePetitionInput | None = None
    state: PetitionState | None = None
    history_limit: Annotated[int, Field(ge=50)] = 10_000
    """Continue as new once the run's history holds this many events (or Temporal suggests it)."""
    unsent: tuple[Envelope, ...] = ()
    """Events the previous run had not yet sent to the event log: the next run sends them first."""

    _upcast_unsent = field_validator("unsent", mode="before")(upcast_envelopes)

    @model_validator(mode="after")
    def _exactly_one_start(self) -> Self:
        if (self.filing is None) == (self.state is None):
            raise ValueError("give exactly one of filing (a new petition) or state (carried on)")
        return self


class AppendEventsInput(Contract):
    """Events of one petition, in seq order, for the event log."""

    events: list[Envelope]
    petitioner: PetitionerContact | None = None
    """With a petition's first batch: the petitioner's contact, stored apart from the events
    (``petitioners``), in the same transaction."""
    tentative_from: int | None = None
    """Set by a local activity: the first seq decided by the workflow task it runs in, which Temporal
    has not recorded yet (``store.append_plan``). None: every event is in the history."""
    decided_at: datetime | None = None
    """That workflow task's time (``workflow.now()``); set with ``tentative_from``."""

    # A retried activity's input is the one its history recorded, maybe under an older release.
    _upcast_events = field_validator("events", mode="before")(upcast_envelopes)

    @model_validator(mode="after")
    def _tentative_needs_a_time(self) -> Self:
        if (self.tentative_from is None) != (self.decided_at is None):
            raise ValueError("give tentative_from and decided_at together")
        return self


class AppendEventsResult(Contract):
    appended: int
    duplicates: int
    stored: tuple[Envelope, ...] = ()
    """The call's envelopes, all now in the log. History records a local activity's result but not
    its input: this is where the audit reads what the workflow sent."""

"""What the auditor hands out: the export of one petition, the verification report, the timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, computed_field

from schemas.common import Actor, Clock, PetitionId, Stage, Tier

Json: TypeAlias = Any
"""A JSON value (object, array, string, number, boolean or null)."""

EXPORT_FORMAT: Literal["petitionflow.audit-export/1"] = "petitionflow.audit-export/1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ------------------------------------------------------------------------------------------ export


class StoredEvent(_Model):
    """One row of the ``events`` table exactly as stored: enough to recompute its hash offline."""

    seq: int
    type: str
    version: int
    at: datetime
    actor: dict[str, Json]
    body: dict[str, Json]
    prev_hash: str
    """Hex."""
    hash: str
    """Hex: ``sha256(prev_hash || canonical content)``, see ``store/chain.py``."""
    recorded_at: datetime | None = None


class SupersededEvent(StoredEvent):
    """One row of ``superseded_events``: an event a lost workflow task wrote, replaced since."""

    superseded_at: datetime
    reason: str | None = None
    """Why it was replaced: NULL when a later task's append replaced it (``store.append_plan``), the
    sweeper's words when it found a ghost (``audit.ghosts``)."""


class ExportedRun(_Model):
    """One run of the petition's workflow; ``history`` is what ``WorkflowHistory.from_json`` reads."""

    run_id: str
    history: dict[str, Json]


class AuditExport(_Model):
    """Everything needed to audit one petition with no server: its Temporal history across every run
    (first run first), its PostgreSQL event rows with their hashes, its read-model row and the
    workflow's own view at the time of the export."""

    format: Literal["petitionflow.audit-export/1"] = EXPORT_FORMAT
    petition_id: PetitionId
    workflow_id: str
    exported_at: datetime
    runs: list[ExportedRun]
    events: list[StoredEvent]
    read_model: dict[str, Json] | None
    """The ``petitions`` row, column by column (``state`` as a JSON object); None when absent."""
    view: dict[str, Json] | None
    """The ``view`` query of the latest run (``PetitionState`` as JSON); None when it could not be asked."""
    key_ids: list[str] = []
    """The ids of the payload keys (``petitionflow.codec``) the histories were encrypted with: an
    offline ``verify --keys KEYFILE`` needs a key file listing each; empty for plain histories."""
    tables: dict[str, list[dict[str, Json]]] | None = None
    """The petition's rows of ``echo_wall``, ``tier_stints`` and ``notifications`` (``audit.tables``);
    None in exports made before they were exported (then they are not compared)."""
    superseded: list[SupersededEvent] | None = None
    """The petition's rows of ``superseded_events``; None in exports made before they were exported."""
    archived: bool = False
    """The runs came from the store's archive: Temporal no longer had them (retention)."""


# ------------------------------------------------------------------------------------------ verify


class Check(StrEnum):
    """The questions ``verify`` asks."""

    REPLAY = "replay"
    """Does every run's history replay against today's workflow code (determinism)?"""
    CHAIN = "chain"
    """Does every stored row hash to its stored hash, and link to the row before?"""
    FOLD = "fold"
    """Do the stored events parse (upcast) and fold with ``lifecycle.evolve``?"""
    HISTORY = "history"
    """Are the events the workflow sent to the event log (in its history) the stored ones, seq by seq?"""
    VIEW = "view"
    """Does the fold equal the workflow's own view: its query answer, the states its history carries?"""
    READ_MODEL = "read_model"
    """Do the read models (the ``petitions`` row, the echo wall, ``tier_stints``, the notifications
    owed) equal the rows the fold gives? A finding names the ``table`` and the ``row``."""
    SUPERSEDED = "superseded"
    """Is every row of ``superseded_events`` an event of a lost workflow task: intact, linked to the
    log before it, and absent from Temporal's history?"""
    FIGURES = "figures"
    """Do the published figures equal the ones the events alone give (``audit figures``)?"""
    CHECKPOINT = "checkpoint"
    """Are the petition's recorded events included in the signed checkpoint, and does the log still
    extend it?"""


class Finding(_Model):
    """One disagreement: where it is, and what was expected against what was found.

    ``expected`` comes from the independent witness and ``found`` from what is under audit: the
    workflow's history against the stored row (``history``), the workflow's states against the fold
    of the event log (``view``), the fold against the read model (``read_model``), the recomputed
    hash against the stored one (``chain``).
    """

    check: Check
    message: str
    seq: int | None = None
    table: str | None = None
    """The read-model table (``read_model`` findings): ``petitions``, ``echo_wall`` ..."""
    row: str | None = None
    """The row's key in ``table``: ``p-1/4`` (petition, seq), ``p-1/1`` (petition, stint_no) ..."""
    field: str | None = None
    """A dotted path: ``body.public_summary``, ``state.tier``, ``stage``."""
    expected: Json = None
    found: Json = None
    run_id: str | None = None
    history_event_id: int | None = None


class VerifyReport(_Model):
    petition_id: PetitionId
    source: Literal["live", "export"]
    events: int
    """Rows in the event log."""
    runs: int
    """Workflow runs whose history was checked."""
    history_events: int
    """Events (envelopes) decoded from the histories."""
    chain_head: str | None
    """Hex hash of the last stored row: publish it, and a later rewrite of the log cannot match it."""
    checked: list[Check]
    findings: list[Finding]
    notes: list[str] = []
    """What could not be checked, and why (not a failure)."""
    superseded: list[str] = []
    """One explanation per row of ``superseded_events`` (why it is not in the log)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.findings


# ---------------------------------------------------------------------------------------- timeline


class Change(_Model):
    """One state field an event changed."""

    field: str
    before: Json
    after: Json


class DeadlineOutcome(_Model):
    """A deadline an event met or missed."""

    clock: Clock
    tier: Tier
    due_at: datetime
    met: bool


class TimelineEntry(_Model):
    seq: int
    at: datetime
    type: str
    actor: Actor
    tier: Tier
    """The tier holding the petition after the event."""
    stage: Stage
    """The stage after the event."""
    summary: str
    changes: list[Change]
    deadlines: list[DeadlineOutcome]

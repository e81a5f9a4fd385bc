"""Auditing a petition without trusting the running system: export, verify, timeline, state as of.

Library functions for the CLI (``petitionflow audit ...``, ``petitionflow.cli._audit``) and for any
service that exposes them to auditors.
"""

from petitionflow.audit.exporting import envelopes, export, load_store, read_export, write_export
from petitionflow.audit.models import (
    AuditExport,
    Change,
    Check,
    DeadlineOutcome,
    Finding,
    StoredEvent,
    TimelineEntry,
    VerifyReport,
)
from petitionflow.audit.timeline import petition_state_as_of, petition_timeline, state_as_of, timeline
from petitionflow.audit.verify import Sweep, verify, verify_all, verify_export

__all__ = [
    "AuditExport",
    "Change",
    "Check",
    "DeadlineOutcome",
    "Finding",
    "StoredEvent",
    "Sweep",
    "TimelineEntry",
    "VerifyReport",
    "envelopes",
    "export",
    "load_store",
    "petition_state_as_of",
    "petition_timeline",
    "read_export",
    "state_as_of",
    "timeline",
    "verify",
    "verify_all",
    "verify_export",
    "write_export",
]

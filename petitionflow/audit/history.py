"""A petition's Temporal history: fetch every run, and read back what the workflow wrote into it.

The workflow leaves two kinds of evidence in its history. Every envelope it sent to the event log is
there: in the result of an ``append_events`` local activity (its ``MarkerRecorded`` event: history
keeps a local activity's result, not its input, so the activity answers with what it stored), or in
the input of an ordinary ``append_events`` activity (``ActivityTaskScheduled``: the fallback when the
local attempt failed, and every send of histories recorded before the ``lean-steps`` patch).
And its state travels in payloads: the carried state at a run's start, every update's answer, the
continue-as-new input and the final result. Payloads are decoded with the pydantic data converter
as raw JSON, so events are upcast (``schemas.upcasting``) before they are validated, exactly as
rows read from PostgreSQL are. Encrypted histories are first decrypted by :func:`decoded` with the
converter's codec (``petitionflow.codec``); the encrypted original is what the replayer reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from petitionflow.audit.models import Json
from petitionflow.codec import key_ids
from petitionflow.converter import data_converter

APPEND_ACTIVITY = "append_events"
LOCAL_ACTIVITY_MARKER = "core_local_activity"

_MAX_RUNS = 100_000
"""A guard against a cycle of continue-as-new links (a corrupt history)."""


@dataclass(frozen=True, slots=True)
class SentEnvelope:
    """An envelope the workflow sent to the event log, as raw JSON, and where the history holds it."""

    run_id: str
    history_event_id: int
    seq: int
    petition_id: str
    event: dict[str, Json]
    completed: bool
    """The activity completed: the event log acknowledged it."""


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """A ``PetitionState`` the workflow wrote into its history, as raw JSON."""

    run_id: str
    history_event_id: int
    what: str
    """``carried into the run``, ``answer to update rate``, ``result of the run`` ..."""
    state: dict[str, Json]


@dataclass(slots=True)
class HistoryEvidence:
    envelopes: list[SentEnvelope] = field(default_factory=list)
    snapshots: list[StateSnapshot] = field(default_factory=list)
    problems: list[tuple[str, int, str]] = field(default_factory=list)
    """(run_id, history_event_id, what could not be decoded)."""


async def fetch_runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of ``workflow_id``, first run first, following continue-as-new links forward.

    The first run is named by the latest run's started event (``first_execution_run_id``); each run
    that continued as new names the next in its last event (``new_execution_run_id``), which every
    server fills (the time-skipping test server leaves the backward link empty).
    """
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    started = latest.events[0].workflow_execution_started_event_attributes
    first_run_id = started.first_execution_run_id or latest.run_id
    runs: list[WorkflowHistory] = []
    run_id: str | None = first_run_id
    seen: set[str] = set()
    while run_id and run_id not in seen and len(runs) < _MAX_RUNS:
        seen.add(run_id)
        history = (
            latest
            if run_id == latest.run_id
            else await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        )
        runs.append(history)
        run_id = next_run_id(history)
    if latest.run_id not in seen:
        # The latest run ends the chain whatever the links say: a server that left a
        # continue-as-new event's new_execution_run_id empty must not hide it from the audit.
        runs.append(latest)
    return runs


def next_run_id(history: WorkflowHistory) -> str | None:
    """The run this one continued as, if it did."""
    if not history.events:
        return None
    last = history.events[-1]
    if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        return None
    return last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None


def _payloads(message: Message) -> list[Payload]:
    """Every ``Payload`` in ``message``, at any depth (inputs, results, failures, marker details)."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for descriptor, value in message.ListFields():
        if descriptor.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if isinstance(value, Message):
            items: list[Any] = [value]
        elif callable(getattr(value, "values", None)):  # a map field
            items = list(value.values())
        else:  # a repeated field
            items = list(value)
        for item in items:
            if isinstance(item, Message):
                found += _payloads(item)
    return found


def needed_key_ids(histories: list[WorkflowHistory]) -> list[str]:
    """The ids of the keys the encrypted payloads of ``histories`` were encrypted with."""
    return sorted(key_ids(p for history in histories for e in history.events for p in _payloads(e)))


async def decoded(histories: list[WorkflowHistory], converter: DataConverter) -> list[WorkflowHistory]:
    """``histories`` with every payload decoded by ``converter``'s codec (as they are, without one).

    Raises:
        petitionflow.codec.DecryptionError: a payload's key is not in the keyring, or it was altered.
    """
    codec = converter.payload_codec
    if codec is None:
        return histories
    plain: list[WorkflowHistory] = []
    for history in histories:
        events = []
        for event in history.events:
            copy = type(event)()
            copy.CopyFrom(event)
            payloads = _payloads(copy)
            if payloads:
                for payload, clear in zip(payloads, await codec.decode(payloads), strict=True):
                    payload.CopyFrom(clear)
            events.append(copy)
        plain.append(WorkflowHistory(history.workflow_id, events))
    return plain


def _decode(payload: Payload) -> Json:
    return data_converter().payload_converter.from_payload(payload, Any)


def _first(payloads: Payloads) -> Json:
    return _decode(payloads.payloads[0]) if payloads.payloads else None


def read_evidence(histories: list[WorkflowHistory]) -> HistoryEvidence:
    """The envelopes and states the workflow wrote into ``histories`` (its runs, first first)."""
    evidence = HistoryEvidence()
    for history in histories:
        _read_run(history, evidence)
    return evidence


def _read_run(history: WorkflowHistory, evidence: HistoryEvidence) -> None:
    run_id = history.run_id
    completed_activities: set[int] = set()
    update_names: dict[str, str] = {}
    scheduled: list[tuple[int, Json]] = []
    stored_locally: list[tuple[int, Json]] = []
    for event in history.events:
        kind = event.event_type
        try:
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                start = _first(event.workflow_execution_started_event_attributes.input)
                if isinstance(start, dict) and isinstance(start.get("state"), dict):
                    evidence.snapshots.append(
                        StateSnapshot(run_id, event.event_id, "state carried into the run", start["state"])
                    )
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                if attributes.activity_type.name == APPEND_ACTIVITY:
                    scheduled.append((event.event_id, _first(attributes.input)))
            elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
                marker = event.marker_recorded_event_attributes
                if marker.marker_name == LOCAL_ACTIVITY_MARKER and not marker.HasField("failure"):
                    data = json.loads(marker.details["data"].payloads[0].data)
                    if data.get("activity_type") == APPEND_ACTIVITY:
                        stored_locally.append((event.event_id, _first(marker.details["result"])))
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                completed_activities.add(event.activity_task_completed_event_attributes.scheduled_event_id)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
                update_names[accepted.meta.update_id] = accepted.input.name
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                attributes_u = event.workflow_execution_update_completed_event_attributes
                if attributes_u.outcome.HasField("success"):
                    answer = _first(attributes_u.outcome.success)
                    name = update_names.get(attributes_u.meta.update_id, "?")
                    if isinstance(answer, dict):
                        evidence.snapshots.append(
                            StateSnapshot(run_id, event.event_id, f"answer to update {name}", answer)
                        )
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                result = _first(event.workflow_execution_completed_event_attributes.result)
                if isinstance(result, dict):
                    evidence.snapshots.append(
                        StateSnapshot(run_id, event.event_id, "result of the run", result)
                    )
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                carried = _first(event.workflow_execution_continued_as_new_event_attributes.input)
                if isinstance(carried, dict) and isinstance(carried.get("state"), dict):
                    evidence.snapshots.append(
                        StateSnapshot(
                            run_id, event.event_id, "state carried to the next run", carried["state"]
                        )
                    )
        except Exception as error:  # a payload that does not decode is evidence too
            evidence.problems.append((run_id, event.event_id, f"{EventType.Name(kind)}: {error}"))
    sends = [(event_id, batch, "events", event_id in completed_activities) for event_id, batch in scheduled]
    sends += [(event_id, result, "stored", True) for event_id, result in stored_locally]
    for event_id, payload, key, completed in sorted(sends, key=lambda send: send[0]):
        envelopes = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(envelopes, list):
            where = "input" if key == "events" else "local result"
            evidence.problems.append((run_id, event_id, f"append_events {where} holds no {key} list"))
            continue
        for envelope in envelopes:
            evidence.envelopes.append(
                SentEnvelope(
                    run_id=run_id,
                    history_event_id=event_id,
                    seq=int(envelope["seq"]),
                    petition_id=str(envelope["petition_id"]),
                    event=envelope["event"],
                    completed=completed,
                )
            )


_FAILED_AT = re.compile(r"HistoryEvent\(id: (\d+), (\w+)\)")


def failed_history_event(error: BaseException) -> tuple[int, str] | None:
    """The history event a nondeterminism error names (its id and type), when it names one."""
    match = _FAILED_AT.search(str(error))
    return None if match is None else (int(match.group(1)), match.group(2))

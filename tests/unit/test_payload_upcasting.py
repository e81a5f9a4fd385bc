"""Envelopes in Temporal payloads are upcast as they are loaded, as the event log's rows are.

A petition carried on by continue-as-new brings its unsent events in ``PetitionInput.unsent``, and a
retried ``append_events`` activity gets the input its history recorded: both may hold an event in a
version older than today's. They go through the same data converter as every payload.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.common.v1 import Payload

from petitionflow.converter import data_converter
from schemas.common import Tier
from schemas.events import Acknowledged, Envelope, ReminderDue
from schemas.workflow import AppendEventsInput, PetitionInput
from tests.unit._petitions import T0, filing, hours, official
from workflows import lifecycle

FILED = lifecycle.decide(None, filing(), T0)
STATE = lifecycle.fold(FILED)
VILLAGE = official(Tier.VILLAGE)
ACKNOWLEDGED_V0 = {
    "type": "Acknowledged",
    "version": 0,
    "at": (T0 + hours(1)).isoformat(),
    "actor": VILLAGE.model_dump(mode="json"),
    "tier": "village",
    "comment": "On my way.",
}
REMINDER_V0 = {
    "type": "ReminderDue",
    "version": 0,
    "at": (T0 + hours(12)).isoformat(),
    "actor": {"role": "system", "id": "petitionflow"},
    "tier": "village",
    "clock": "respond",
    "due_at": (T0 + hours(24)).isoformat(),
    "percent": 50,
}
ACKNOWLEDGED_V1 = Acknowledged(at=T0 + hours(1), actor=VILLAGE, tier=Tier.VILLAGE, note="On my way.")


def _payload(value: dict[str, Any]) -> Payload:
    """``value`` as an older release's worker would have written it into the history."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def _load(payload: Payload, type_: type) -> Any:
    [loaded] = data_converter().payload_converter.from_payloads([payload], [type_])
    return loaded


def _raw_envelopes(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"petition_id": STATE.petition_id, "seq": seq, "event": e} for seq, e in enumerate(events, 2)]


def test_a_continued_as_new_input_with_old_event_versions_loads_them_upcast() -> None:
    carried = PetitionInput(state=STATE, history_limit=50).model_dump(mode="json")
    carried["unsent"] = _raw_envelopes(ACKNOWLEDGED_V0)
    loaded = _load(_payload(carried), PetitionInput)
    assert loaded.unsent == (Envelope(petition_id=STATE.petition_id, seq=2, event=ACKNOWLEDGED_V1),)
    assert loaded.state == STATE


def test_a_retried_append_input_with_old_event_versions_loads_them_upcast() -> None:
    recorded = {"events": _raw_envelopes(REMINDER_V0, ACKNOWLEDGED_V0)}
    loaded = _load(_payload(recorded), AppendEventsInput)
    reminder, acknowledged = (envelope.event for envelope in loaded.events)
    assert isinstance(reminder, ReminderDue)
    assert (reminder.version, reminder.point) == (1, 0.5)
    assert acknowledged == ACKNOWLEDGED_V1
    assert [envelope.seq for envelope in loaded.events] == [2, 3]


def test_todays_envelopes_make_the_round_trip_unchanged() -> None:
    batch = AppendEventsInput(events=[Envelope(petition_id=STATE.petition_id, seq=1, event=FILED[0])])
    [payload] = data_converter().payload_converter.to_payloads([batch])
    assert _load(payload, AppendEventsInput) == batch
    carried = PetitionInput(state=STATE, unsent=tuple(batch.events))
    [payload] = data_converter().payload_converter.to_payloads([carried])
    assert _load(payload, PetitionInput) == carried

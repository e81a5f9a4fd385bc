"""Upcasters: stored events of an older schema version, brought up to today's before they are validated.

An event is stored (in PostgreSQL and in Temporal history) in the shape it had when it happened, and
its hash covers that shape, so it is never rewritten. Reading it back, ``upcast`` applies the
registered step for its ``(type, version)`` — a function from the raw dict of one version to the raw
dict of the next — until no step is registered, and only then does ``EVENT_ADAPTER`` validate it.

To change an event's shape: bump the class's ``version`` Literal, register a step from the old
version here, and keep the step forever (old rows and old histories still hold the old shape).

Envelopes carried in Temporal payloads are upcast too, as they are validated (``upcast_envelopes``,
run by ``schemas.workflow``'s inputs): a continued-as-new input or a retried activity's input keeps
the shape its events had when it was recorded.

The two steps registered today describe shapes from before the event log was released; they are
real in that rows written with them are read correctly (``tests/audit/test_upcasting.py`` stores
such rows in PostgreSQL and reads them back).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeAlias

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, Event

RawEvent: TypeAlias = dict[str, Any]
"""An event as JSON: ``type``, ``version``, ``at``, ``actor`` and its body's fields."""
Upcaster: TypeAlias = Callable[[RawEvent], RawEvent]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""``(type, version)`` → the step that turns that version into ``version + 1``."""


def upcaster(event_type: str, version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``step`` as the way from ``event_type`` at ``version`` to ``version + 1``."""

    def register(step: Upcaster) -> Upcaster:
        key = (event_type, version)
        if key in UPCASTERS:
            raise ValueError(f"an upcaster for {event_type} v{version} is already registered")
        UPCASTERS[key] = step
        return step

    return register


def upcast(raw: RawEvent) -> RawEvent:
    """``raw`` brought up to the newest version its type has a path to (a new dict; ``raw`` is kept).

    Raises:
        ValueError: a step did not move the version on by exactly one.
    """
    event = dict(raw)
    while (step := UPCASTERS.get((event.get("type", ""), event.get("version", 0)))) is not None:
        version = event["version"]
        event = step(dict(event))
        if event.get("version") != version + 1:
            raise ValueError(f"the upcaster of {raw.get('type')} v{version} did not give v{version + 1}")
    return event


def needs_upcast(event_type: str, version: int) -> bool:
    return (event_type, version) in UPCASTERS


def upcast_envelopes(value: object) -> object:
    """``value``, a list of envelopes as a payload carries them, with each raw event that has an
    older version upcast (a new list; envelopes already validated, and anything else, pass as they
    are). For ``mode="before"`` validators of fields that hold envelopes: Temporal payloads (the
    carried ``PetitionInput.unsent``, a retried ``AppendEventsInput.events``) keep an event in the
    shape it had when it was sent, as the event log's rows do.
    """
    if not isinstance(value, list | tuple):
        return value
    return [_upcast_envelope(envelope) for envelope in value]


def _upcast_envelope(envelope: object) -> object:
    if isinstance(envelope, dict):
        event = envelope.get("event")
        if isinstance(event, dict) and (event.get("type", ""), event.get("version", 0)) in UPCASTERS:
            return {**envelope, "event": upcast(event)}
    return envelope


def parse_event(raw: RawEvent) -> Event:
    """Upcast a raw event, then validate it as today's ``Event``."""
    return EVENT_ADAPTER.validate_python(upcast(raw))


def parse_event_json(text: str | bytes) -> Event:
    """Like ``parse_event`` for JSON text. Current events take the fast path straight to validation."""
    try:
        return EVENT_ADAPTER.validate_json(text)
    except ValidationError:
        raw = json.loads(text)
        if not isinstance(raw, dict) or not needs_upcast(raw.get("type", ""), raw.get("version", 0)):
            raise
    return parse_event(raw)


# ------------------------------------------------------------------------------------- the steps


@upcaster("Acknowledged", 0)
def _acknowledged_comment_became_note(raw: RawEvent) -> RawEvent:
    """v0 called the official's free text ``comment``; v1 calls it ``note`` (as ``Resolved`` does)."""
    raw["note"] = raw.pop("comment", None)
    raw["version"] = 1
    return raw


@upcaster("ReminderDue", 0)
def _reminder_percent_became_point(raw: RawEvent) -> RawEvent:
    """v0 gave the reminder point as a whole ``percent`` of the window (50, 75); v1 as a fraction."""
    percent = raw.pop("percent", None)
    raw["point"] = None if percent is None else percent / 100
    raw["version"] = 1
    return raw

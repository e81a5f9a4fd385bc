"""The canonical form of a stored event and its hash chain; shared by the store and the offline auditor.

``hash = sha256(prev_hash || canonical_json(petition_id, seq, type, version, at, actor, body))``, where
``body`` is the event's JSON dump without ``type``, ``version``, ``at`` and ``actor``, and the chain of
a petition starts from 32 zero bytes. Canonical JSON is ``json.dumps`` with sorted keys, no spaces and
``ensure_ascii=False``, encoded as UTF-8. ``at`` is written in UTC with microseconds, because that is
what a ``timestamptz`` column gives back whatever offset the event was made with.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, TypeAlias

from schemas.events import Event

JsonObject: TypeAlias = dict[str, Any]
Hash: TypeAlias = bytes

GENESIS: Hash = bytes(32)
"""The ``prev_hash`` of every petition's first event."""

_ENVELOPE_FIELDS = ("type", "version", "at", "actor")


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_at(at: datetime) -> str:
    """``at`` as stored: UTC, microseconds, ``Z``. A naive time is taken as UTC (as asyncpg does)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def split_event(event: Event) -> tuple[JsonObject, JsonObject]:
    """The event's ``actor`` and ``body`` (its JSON dump without type, version, at and actor)."""
    body = event.model_dump(mode="json")
    for name in _ENVELOPE_FIELDS:
        del body[name]
    return event.actor.model_dump(mode="json"), body


def content(
    petition_id: str, seq: int, type_: str, version: int, at: datetime, actor: JsonObject, body: JsonObject
) -> bytes:
    """The canonical bytes an event's hash covers."""
    return canonical_json(
        {
            "petition_id": petition_id,
            "seq": seq,
            "type": type_,
            "version": version,
            "at": canonical_at(at),
            "actor": actor,
            "body": body,
        }
    ).encode()


def link(prev_hash: Hash, data: bytes) -> Hash:
    """The hash of an event whose canonical bytes are ``data``, chained after ``prev_hash``."""
    return hashlib.sha256(prev_hash + data).digest()


def event_content(petition_id: str, seq: int, event: Event) -> bytes:
    """The canonical bytes of ``event`` at ``seq`` in ``petition_id``'s stream."""
    actor, body = split_event(event)
    return content(petition_id, seq, event.type, event.version, event.at, actor, body)

"""Which service owns a petition id: the first to file it. Another service filing it is refused."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.common import PetitionId
from store._db import Db, connection
from store.auth import ServiceName


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming a petition id for a service."""

    owner: ServiceName | None
    """The service that owns the id; None for a petition filed before ownership was recorded."""
    mine: bool
    """Whether the claiming service may file the id: it owns it, or nobody does (an old petition)."""


async def claim(db: Db, petition_id: PetitionId, service: ServiceName) -> Claim:
    """Claim ``petition_id`` for ``service``, or say who owns it already.

    The claim is made before the workflow is started and kept even if starting fails, so the same
    service can retry; concurrent claims of a new id by two services let exactly one win.
    """
    async with connection(db) as conn:
        won = await conn.fetchval(
            "INSERT INTO petition_ids (petition_id, service) VALUES ($1, $2)"
            " ON CONFLICT (petition_id) DO NOTHING RETURNING true",
            petition_id,
            service,
        )
        if won:
            return Claim(owner=service, mine=True)
        owner: str | None = await conn.fetchval(
            "SELECT service FROM petition_ids WHERE petition_id = $1", petition_id
        )
    return Claim(owner=owner, mine=owner is None or owner == service)

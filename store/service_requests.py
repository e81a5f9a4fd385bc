"""Petitions as Open311 service requests: the read-model query behind ``GET /requests``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from schemas.common import PetitionId
from store._db import Db, connection
from store.models import PetitionRow
from store.queries import _PETITION_SELECT, _petition


async def service_requests(
    db: Db,
    *,
    petition_ids: Sequence[PetitionId] = (),
    categories: Sequence[str] = (),
    filed_from: datetime | None = None,
    filed_until: datetime | None = None,
    closed: bool | None = None,
    limit: int = 1000,
) -> list[PetitionRow]:
    """Petitions newest first, filtered the GeoReport v2 way.

    Args:
        petition_ids: only these (GeoReport: ``service_request_id`` overrides every other filter,
            so when given the others are ignored).
        categories: only these categories (``service_code``).
        filed_from, filed_until: filed in ``[filed_from, filed_until]``.
        closed: True only closed petitions, False only open ones, None both.
    """
    conditions: list[str] = []
    args: list[Any] = []

    def where(template: str, value: object) -> None:
        args.append(value)
        conditions.append(template.format(f"${len(args)}"))

    if petition_ids:
        where("petition_id = ANY({}::text[])", list(petition_ids))
    else:
        if categories:
            where("category = ANY({}::text[])", list(categories))
        if filed_from is not None:
            where("filed_at >= {}", filed_from)
        if filed_until is not None:
            where("filed_at <= {}", filed_until)
        if closed is not None:
            where("(stage = 'closed') = {}", closed)
    args.append(limit)
    sql = (
        f"SELECT {_PETITION_SELECT} FROM petitions"
        + (" WHERE " + " AND ".join(conditions) if conditions else "")
        + f" ORDER BY filed_at DESC, petition_id LIMIT ${len(args)}"
    )
    async with connection(db) as conn:
        rows = await conn.fetch(sql, *args)
    return [_petition(r) for r in rows]

"""Query and path parameters fit to reach PostgreSQL and Temporal: printable text, moments in range.

``clean_parameters`` is a dependency of every router: a parameter with a character PostgreSQL or
XML cannot carry (NUL, other control characters, lone surrogates) is refused with its name before
any route or credential check runs. ``UtcMoment`` is a date-time that stays one in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

from petitionflow.api.georeport import Open311Error
from petitionflow.api.xml import UNPRINTABLE, UNPRINTABLE_REASON


def unprintable_fields(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The paths of the strings under ``value`` (a JSON-like tree or a model dump) that hold a
    character ``UNPRINTABLE`` matches; keys are checked as well as values."""
    if isinstance(value, str):
        return [path] if UNPRINTABLE.search(value) else []
    if isinstance(value, Mapping):
        found = []
        for key, item in value.items():
            if isinstance(key, str) and UNPRINTABLE.search(key):
                found.append((*path, key))
            found += unprintable_fields(item, (*path, key))
        return found
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in unprintable_fields(item, (*path, i))]
    return []


def refuse_unprintable(location: str, value: Any) -> None:
    """Raise the 422 naming every field of ``value`` (found at ``location``) that is unprintable."""
    found = unprintable_fields(value)
    if found:
        raise RequestValidationError(
            [
                {"type": "value_error", "loc": (location, *path), "msg": UNPRINTABLE_REASON, "input": None}
                for path in found
            ]
        )


def _parameters(request: Request) -> Iterable[tuple[str, str, str]]:
    for name, value in request.path_params.items():
        yield "path", name, str(value)
    for name, value in request.query_params.multi_items():
        yield "query", name, value


async def clean_parameters(request: Request) -> None:
    """Refuse a request whose query or path parameters hold unprintable characters: GeoReport's
    400 under ``/open311/``, the native 422 elsewhere, naming each parameter."""
    bad = [
        (location, name if not UNPRINTABLE.search(name) else repr(name))
        for location, name, value in _parameters(request)
        if UNPRINTABLE.search(value) or UNPRINTABLE.search(name)
    ]
    if not bad:
        return
    if request.url.path.startswith("/open311/"):
        fmt = "xml" if request.url.path.endswith(".xml") else "json"
        raise Open311Error(400, *(f"{name} {UNPRINTABLE_REASON}" for _, name in bad), fmt=fmt)
    raise RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": UNPRINTABLE_REASON, "input": None} for loc in bad]
    )


def in_utc_range(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive one taken as UTC already); a ValueError when UTC has no such
    moment (``0001-01-01T00:00:00+14:00`` is in year 0 there)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 once converted to UTC") from None


UtcMoment = Annotated[datetime, AfterValidator(in_utc_range)]
"""A query date-time the database can compare: refused with its name when UTC cannot hold it."""

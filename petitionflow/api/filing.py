"""What a filing may not choose for itself: its category comes from the catalogue, its tier from the
filing service's API key, and its petition id must not be another service's."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from petitionflow.api.errors import ApiError
from petitionflow.catalogue import Catalogue
from petitionflow.intake import FilingBody
from store import petition_ids
from store._db import Db
from store.auth import ServiceKey


def invalid(path: tuple[str, ...], reason: str) -> RequestValidationError:
    """A 422 naming ``body.<path>``, in the same shape as FastAPI's own validation errors."""
    error: dict[str, Any] = {"loc": ("body", *path), "msg": reason, "type": "value_error"}
    return RequestValidationError([error])


def category_problem(catalogue: Catalogue, category: str) -> str | None:
    """Why ``category`` is refused (not a service of the catalogue), or None."""
    if catalogue.get(category) is not None:
        return None
    known = ", ".join(s.code for s in catalogue.services)
    return f"{category!r} is not a petition category; use one of {known}"


def bind_to_key(filing: FilingBody, key: ServiceKey, catalogue: Catalogue) -> FilingBody:
    """``filing`` checked against the catalogue and filed at the key's tier.

    A body that names the key's own tier is accepted; one that names another is refused, so a client
    that meant another tier learns it instead of having its filing silently moved.

    Raises:
        RequestValidationError: an unknown ``category``, or a ``tier`` other than the key's.
    """
    if (problem := category_problem(catalogue, filing.category)) is not None:
        raise invalid(("category",), problem)
    if "tier" in filing.model_fields_set and filing.tier is not key.tier:
        raise invalid(
            ("tier",),
            f"this service's API key files at the {key.tier.value} tier; a filing cannot choose "
            f"the {filing.tier.value} tier (leave tier out)",
        )
    return filing.model_copy(update={"tier": key.tier})


async def claim(db: Db, petition_id: str, service: str) -> None:
    """Claim the petition id for ``service``.

    Raises:
        ApiError: 409 ``petition_id_taken`` when another service filed that id.
    """
    if not (await petition_ids.claim(db, petition_id, service)).mine:
        raise ApiError(
            409,
            "petition_id_taken",
            f"petition id {petition_id} was filed by another service; choose another id",
        )

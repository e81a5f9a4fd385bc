"""What a filing may not choose for itself: its category comes from the catalogue, its tier from the
filing service's API key, and its petition id must not be another service's."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from petitionflow.api.errors import ApiError
from petitionflow.catalogue import Catalogue
from petitionflow.intake import FilingBody
from schemas.commands import FilePetitionInput
from schemas.common import RegionPath, Tier
from schemas.directory import OfficeKind
from schemas.offices import Intake, OfficeRef
from store import offices, petition_ids
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


async def resolve_intake(db: Db, filing: FilePetitionInput, key: ServiceKey) -> FilePetitionInput:
    """``filing`` with the offices it starts with (``Intake``), resolved from the directory: held by
    the key's centre, or, for a complaint ``about`` the contact cadre or village office, by the
    office one level up with those recused. A filing with neither is returned as it is.

    Raises:
        RequestValidationError: the body names an ``intake`` (only the door sets it), the region is
            outside the centre's area, or a complaint ``about`` the top tier's office.
    """
    if "intake" in filing.model_fields_set and filing.intake is not None:
        raise invalid(("intake",), "the offices a petition starts with are set by the filing service's key")
    recused: OfficeRef | None = None
    if filing.about is not None:
        recused, _ = await offices.territorial_office(db, filing.tier, filing.region)
    recused_person = filing.contact_cadre_id if filing.about is not None else None
    if key.centre_id is not None:
        centre, chain = await _centre(db, key.centre_id, key.tier, filing.region)
        if centre.region_id != filing.region.at(centre.tier):
            raise invalid(
                ("region",),
                f"centre {centre} takes petitions of {centre.tier} {centre.region_id};"
                f" this one is of {filing.region.at(centre.tier)}",
            )
        intake = Intake(
            office=centre,
            chain=chain,
            centre=True,
            about=filing.about,
            recused_office=recused,
            recused_person_id=recused_person,
        )
        return filing.model_copy(update={"intake": intake})
    if recused is None:
        return filing
    _, above = await offices.territorial_office(db, filing.tier, filing.region)
    if not above:
        raise invalid(("about",), f"nothing is above {recused}: a complaint about it has nowhere to go")
    intake = Intake(
        office=above[0],
        chain=above[1:],
        about=filing.about,
        recused_office=recused,
        recused_person_id=recused_person,
    )
    return filing.model_copy(update={"intake": intake})


async def _centre(
    db: Db, centre_id: str, tier: Tier, region: RegionPath
) -> tuple[OfficeRef, tuple[OfficeRef, ...]]:
    """The key's centre and its supervisors; with no directory, a centre of the key's tier serving
    the petition's region, supervised by that region's government."""
    try:
        return await offices.office(db, centre_id)
    except offices.UnknownOffice:
        government, above = await offices.territorial_office(db, tier, region)
        centre = OfficeRef(office_id=centre_id, kind=OfficeKind.CENTRE, tier=tier, region_id=region.at(tier))
        return centre, (government, *above)


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

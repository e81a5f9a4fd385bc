"""Who may read which petition, and which of its fields; every read of personal fields is logged.

- An **official** (or contact cadre) reads the petitions whose grid path passes through their region
  at their tier: their office's and those of the regions below it (a township official its
  villages', a county official its townships'). An **auditor** reads every petition. A **service**
  reads only the petitions it filed (``petition_ids``); a petition filed before ownership was
  recorded (migration 006) is read by no service. Anyone else is answered 404, as if the petition
  did not exist.
- The petition's own text (``description``, ``info_question``), its ``petitioner_id`` and the
  petitioner's contact go only to the office holding it (its current tier and that tier's region),
  its contact cadre and auditors. Everyone else gets the petition with those fields null and named
  in ``withheld``. Each answer that carries them is written to the access log (``store.access``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import structlog
from fastapi import Request

from petitionflow.api.deps import Reader
from petitionflow.api.errors import ApiError
from schemas.commands import FilePetitionInput, PetitionerContact
from schemas.common import PersonId, PetitionId, RegionPath, Role, Tier
from schemas.state import PetitionState
from store import access
from store._db import Db
from store.models import PetitionRow
from workflows.lifecycle import holds, may_know

PERSONAL_FIELDS: tuple[str, ...] = ("description", "info_question", "petitioner_id")
"""Fields of a petition's state only the office holding it, its contact cadre and auditors read."""
CONTACT = "contact"


class PetitionView(PetitionState):
    """A petition as its reader may see it: the personal fields are null for a reader not entitled
    to them, and named in ``withheld``."""

    description: str | None = None  # type: ignore[assignment]
    petitioner_id: PersonId | None = None  # type: ignore[assignment]
    contact: PetitionerContact | None = None
    """The petitioner's name, phone and address: for the office holding the petition, its contact
    cadre and auditors."""
    withheld: tuple[str, ...] = ()
    """The fields left out because the reader may not see them."""


class ListedPetition(PetitionRow):
    """A read-model row whose ``state`` is shown as its reader may see it."""

    state: PetitionView


def personal_in_id(filing: FilePetitionInput) -> str | None:
    """Why the filing's ``petition_id`` is refused, or None: the id becomes the Temporal workflow id
    (``petition-<id>``), which no codec encrypts and every operator sees, so it must not carry the
    petitioner's phone number (its last 7 digits, whatever the punctuation) or name (of 5 letters
    or more once spaces and punctuation are gone: an id is ASCII, a name in Chinese never matches)."""
    digits = re.sub(r"\D", "", filing.petition_id)
    phone = re.sub(r"\D", "", filing.petitioner.phone or "")
    if len(phone) >= 7 and phone[-7:] in digits:
        return "must not contain the petitioner's phone number: it is the workflow id every operator sees"
    name = re.sub(r"\W", "", filing.petitioner.name).lower()
    if len(name) >= 5 and name in re.sub(r"\W", "", filing.petition_id).lower():
        return "must not contain the petitioner's name: it is the workflow id every operator sees"
    return None


def not_found(petition_id: str) -> ApiError:
    """The one answer for a petition that does not exist and for one the caller may not read."""
    return ApiError(404, "not_found", f"no petition {petition_id} was filed")


def within(reader: Reader) -> tuple[Tier, str] | None:
    """The tier and region whose petitions an official or contact cadre may list; None for all
    (an auditor) or for a service (which lists what it filed)."""
    actor = reader.actor
    if actor is None or actor.role is Role.AUDITOR:
        return None
    if actor.tier is None or actor.region_id is None:
        raise AssertionError(f"a {actor.role.value} without a jurisdiction")  # the Actor forbids it
    return actor.tier, actor.region_id


def may_read(reader: Reader, region: RegionPath, *, owner: str | None, contact_cadre_id: str) -> bool:
    """Whether ``reader`` may know the petition exists."""
    if reader.actor is None:
        return reader.service is not None and owner == reader.service
    return may_know(reader.actor, region, contact_cadre_id)


def entitled(reader: Reader, state: PetitionState) -> bool:
    """Whether ``reader`` may see the petition's text and its petitioner's contact."""
    actor = reader.actor
    if actor is None:
        return False
    if actor.role is Role.AUDITOR:
        return True
    if actor.role is Role.CONTACT_CADRE and actor.id == state.contact_cadre_id:
        return True
    return actor.role is Role.OFFICIAL and holds(state, actor)


def withhold(state: PetitionState) -> PetitionView:
    """``state`` without its personal fields, as a reader not entitled to them sees it."""
    values = state.model_dump()
    for name in PERSONAL_FIELDS:
        values[name] = None
    return PetitionView.model_validate({**values, "withheld": (*PERSONAL_FIELDS, CONTACT)})


def as_seen_by_household(state: PetitionState) -> PetitionView:
    """``state`` as its own petitioner sees it: everything but the contact they gave."""
    return PetitionView.model_validate({**state.model_dump(), "withheld": (CONTACT,)})


def _request_id() -> str | None:
    found = structlog.contextvars.get_contextvars().get("request_id")
    return found if isinstance(found, str) else None


def _store_reader(reader: Reader) -> access.Reader:
    return access.Reader(actor=reader.actor, service=reader.service)


async def present(pool: Db, reader: Reader, state: PetitionState, *, request: Request) -> PetitionView:
    """``state`` as ``reader`` may see it, with the petitioner's contact for those entitled; a read
    of personal fields is written to the access log first."""
    if not entitled(reader, state):
        return withhold(state)
    contact = await access.contact(pool, state.petitioner_id)
    fields = [*PERSONAL_FIELDS, *([CONTACT] if contact is not None else [])]
    await access.record_reads(
        pool,
        _store_reader(reader),
        [(state.petition_id, fields)],
        route=request.url.path,
        request_id=_request_id(),
    )
    return PetitionView.model_validate({**state.model_dump(), "contact": contact})


async def present_rows(
    pool: Db, reader: Reader, rows: Sequence[PetitionRow], *, request: Request
) -> list[ListedPetition]:
    """Listed rows as ``reader`` may see them (no contact in lists); the rows whose text was shown
    are written to the access log, in one statement."""
    shown: list[ListedPetition] = []
    logged: list[tuple[PetitionId, Sequence[str]]] = []
    for row in rows:
        if entitled(reader, row.state):
            view = PetitionView.model_validate(row.state.model_dump())
            logged.append((row.petition_id, PERSONAL_FIELDS))
        else:
            view = withhold(row.state)
        shown.append(ListedPetition.model_validate({**dict(row), "state": view}))
    await access.record_reads(
        pool, _store_reader(reader), logged, route=request.url.path, request_id=_request_id()
    )
    return shown


async def log_audit_read(pool: Db, reader: Reader, petition_id: PetitionId, *, request: Request) -> None:
    """An auditor's export, timeline or state of a petition holds its text: log it."""
    await access.record_reads(
        pool,
        _store_reader(reader),
        [(petition_id, ("events",))],
        route=request.url.path,
        request_id=_request_id(),
    )

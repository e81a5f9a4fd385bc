"""What a filing door takes from the caller, and what it fills in itself.

A filing body (``FilingBody``: the HTTP ``POST /v1/petitions``, ``petitionflow file``) carries no
policy: the deployment's (``petitionflow.policy``) is filled in here. The workflow's start input,
``FilePetitionInput``, keeps its ``policy`` field, so running petitions and their histories replay
as they were filed.

Where the petition sits and who its contact cadre is come from the directory, not from the caller
(``place``): the petitioner id is the household id, and the directory's current version gives the
household's region path and contact cadre; a walk-in (a petitioner the directory does not list)
names a village (``village_id``), whose duty cadre becomes the contact. A body that names a path or
a cadre the directory contradicts is refused naming the field. While no directory was imported, the
caller's path and cadre are taken as before (a bare ``village_id`` is looked up in
``regions.SAMPLE``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from petitionflow.regions import RegionDirectory
from schemas.commands import FilePetitionInput, PetitionerContact
from schemas.common import (
    Category,
    Channel,
    Contract,
    PersonId,
    PetitionId,
    RegionId,
    RegionPath,
    Tier,
    Urgency,
)
from schemas.directory import PersonRole
from schemas.offices import About
from schemas.policy import Policy
from store import lookup
from store._db import Db

POLICY_REFUSED = (
    "a filing cannot choose its policy: the deployment's (PETITIONFLOW_POLICY_FILE) is filled in; "
    "leave policy out"
)


class FilingBody(Contract):
    """Raise a petition. ``petition_id`` is the caller's idempotency key."""

    petition_id: PetitionId
    petitioner: PetitionerContact
    """``petitioner_id`` is the household's id in the directory (or a walk-in's own id)."""
    region: RegionPath | None = None
    """Optional once a directory is imported: it gives the household's path (a path given must
    agree with it). Required while no directory was imported."""
    village_id: RegionId | None = None
    """A walk-in's village, for a petitioner who is not a household of the directory."""
    description: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    channel: Channel
    category: Category
    contact_cadre_id: PersonId | None = None
    """Optional once a directory is imported: the household's cadre, or the village's duty cadre
    for a walk-in (a cadre given must agree)."""
    urgency: Urgency = Urgency.NORMAL
    tier: Tier = Tier.VILLAGE
    about: About | None = None
    """A complaint about the household's contact cadre or its village office: they are recused and
    it is handled one level up (the filing door resolves the offices, ``api.filing.resolve_intake``)."""
    policy: SkipJsonSchema[Any] = Field(default=None, exclude=True)
    """Refused when sent: the policy belongs to the deployment."""

    @field_validator("policy", mode="before")
    @classmethod
    def _no_policy(cls, value: object) -> object:
        raise ValueError(POLICY_REFUSED)

    def filing(self, policy: Policy, **fields: object) -> FilePetitionInput:
        """The workflow's start input: this body, ``fields`` over it, under ``policy``.

        ``region`` and ``contact_cadre_id`` must be known by now (``place`` fills them in)."""
        given = self.model_dump(exclude={"policy", "village_id"})
        return FilePetitionInput.model_validate({**given, **fields, "policy": policy})


class FilingProblem(Exception):
    """A filing the directory refuses: ``path`` names the body's field, ``reason`` says why."""

    def __init__(self, path: tuple[str, ...], reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{'.'.join(self.path)}: {self.reason}"


async def place(db: Db, body: FilingBody, *, fallback: RegionDirectory) -> FilingBody:
    """``body`` with its ``region`` and ``contact_cadre_id`` from the directory's current version.

    Raises:
        FilingProblem: the body contradicts the directory, or names no place it can be filed at.
    """
    version = await lookup.current_version(db)
    if version is None:
        return _as_given(body, fallback)
    household_id = body.petitioner.petitioner_id
    home = await lookup.household(db, household_id, version=version)
    if home is not None:
        path = home.path
        if body.village_id is not None and body.village_id != path.village:
            raise FilingProblem(
                ("village_id",),
                f"household {household_id} lives in village {path.village} (directory version "
                f"{version}), not {body.village_id}",
            )
        _check_path(body, path, f"household {household_id}", version)
        cadre = home.cadre_id or await lookup.duty_cadre(db, path.village, version=version)
        whose = (
            f"household {household_id}'s contact cadre"
            if home.cadre_id
            else (f"the duty cadre of village {path.village} (household {household_id} has no contact cadre)")
        )
    else:
        village = body.village_id or (body.region.village if body.region is not None else None)
        if village is None:
            raise FilingProblem(
                ("petitioner", "petitioner_id"),
                f"{household_id} is not a household of the directory (version {version}); "
                "a walk-in names its village (village_id)",
            )
        field = ("village_id",) if body.village_id is not None else ("region", "village")
        found = await lookup.village_path(db, village, version=version)
        if found is None:
            raise FilingProblem(field, f"{village} is not a village of the directory (version {version})")
        path = found
        _check_path(body, path, f"village {village}", version)
        cadre = await lookup.duty_cadre(db, village, version=version)
        whose = f"the duty cadre of village {village} (a walk-in: {household_id} is not a household)"
    if cadre is None:
        cadre = await _roster_cadre(db, body, version)
    elif body.contact_cadre_id is not None and body.contact_cadre_id != cadre:
        raise FilingProblem(
            ("contact_cadre_id",),
            f"the directory (version {version}) names {cadre}, {whose}; not {body.contact_cadre_id}",
        )
    return body.model_copy(update={"region": path, "contact_cadre_id": cadre, "village_id": None})


def _check_path(body: FilingBody, path: RegionPath, whose: str, version: int) -> None:
    if body.region is None or body.region == path:
        return
    wrong = next(t for t in Tier if body.region.at(t) != path.at(t))
    raise FilingProblem(
        ("region", wrong.value),
        f"the directory (version {version}) places {whose} in {wrong.value} {path.at(wrong)}, "
        f"not {body.region.at(wrong)}",
    )


async def _roster_cadre(db: Db, body: FilingBody, version: int) -> PersonId:
    """No cadre in the directory for this place: the caller's, if the roster knows them as one."""
    given = body.contact_cadre_id
    if given is None:
        raise FilingProblem(
            ("contact_cadre_id",),
            f"the directory (version {version}) gives this household or village no contact or duty "
            "cadre; name one of the roster's cadres",
        )
    person = await lookup.roster_person(db, given, version=version)
    if person is None or person.role is not PersonRole.CADRE:
        raise FilingProblem(
            ("contact_cadre_id",), f"{given} is not a cadre of the roster (directory version {version})"
        )
    return given


def _as_given(body: FilingBody, fallback: RegionDirectory) -> FilingBody:
    """No directory imported: the caller's path and cadre, as before the directory existed."""
    if body.region is None and body.village_id is not None:
        village = fallback.resolve(body.village_id)
        if village is None:
            raise FilingProblem(("village_id",), f"{body.village_id} is not a village of this jurisdiction")
        return body.model_copy(
            update={
                "region": village.path,
                "contact_cadre_id": body.contact_cadre_id or village.contact_cadre_id,
                "village_id": None,
            }
        )
    missing = [name for name in ("region", "contact_cadre_id") if getattr(body, name) is None]
    if missing:
        raise FilingProblem(
            (missing[0],), "is required while no directory is imported (petitionflow directory import)"
        )
    if body.village_id is not None and body.region is not None and body.village_id != body.region.village:
        raise FilingProblem(("village_id",), f"{body.village_id} is not the village of region")
    return body

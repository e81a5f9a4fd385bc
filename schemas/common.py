"""The vocabulary every contract shares: tiers, stages, regions and actors."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

PetitionId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
"""A petition's id: the caller's idempotency key; the workflow id is ``petition-<id>``."""

RegionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
PersonId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Contract(BaseModel):
    """Base of every contract: unknown fields are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: object) -> object:
        # PostgreSQL text and jsonb cannot hold U+0000: refuse it at the door, not at the event log.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


M = TypeVar("M", bound=BaseModel)

_FIELDS: dict[type[BaseModel], frozenset[str]] = {}
"""Each model class's field names, computed once: ``copy_with`` runs on the decider's hot path."""


def copy_with(model: M, changes: Mapping[str, object]) -> M:
    """``model.model_copy(update=changes)``, refusing a key that is not one of the model's fields.

    ``model_copy`` neither validates its ``update`` nor checks its keys, so a misspelt field would
    be stored as an extra attribute and silently ignored by everything that reads the field.

    Raises:
        ValueError: a key of ``changes`` names no field of ``model``'s class.
    """
    cls = type(model)
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = frozenset(cls.model_fields)
    if not fields.issuperset(changes):
        unknown = ", ".join(sorted(set(changes) - fields))
        raise ValueError(f"{cls.__name__} has no field {unknown}")
    return model.model_copy(update=changes)


class Tier(StrEnum):
    """The administrative level that owns a petition, lowest first."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    CITY = "city"

    @property
    def rank(self) -> int:
        return _TIER_ORDER.index(self)

    @property
    def above(self) -> Tier | None:
        """The next tier up, or None at the city tier."""
        rank = self.rank
        return _TIER_ORDER[rank + 1] if rank + 1 < len(_TIER_ORDER) else None


_TIER_ORDER: tuple[Tier, ...] = (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY)


class Stage(StrEnum):
    """Where a petition is in the loop collect → assess → resolve → feedback."""

    COLLECT = "collect"
    ASSESS = "assess"
    RESOLVE = "resolve"
    FEEDBACK = "feedback"
    CLOSED = "closed"
    DISPATCH = "dispatch"
    """Held by a centre (or its supervisor), waiting to be dispatched to an office."""
    SIGN_FOR = "sign_for"
    """Dispatched to an office, waiting for it to sign for it (签收)."""


class RegionPath(Contract):
    """The grid path of a household: exactly one village, township, county and city."""

    village: RegionId
    township: RegionId
    county: RegionId
    city: RegionId

    def at(self, tier: Tier) -> RegionId:
        """The region that has jurisdiction at ``tier``."""
        region: RegionId = getattr(self, tier.value)
        return region


class Role(StrEnum):
    PETITIONER = "petitioner"
    CONTACT_CADRE = "contact_cadre"
    OFFICIAL = "official"
    SYSTEM = "system"
    AUDITOR = "auditor"


class Proof(StrEnum):
    """How a petitioner's action was proved to be theirs, or how an operator acted."""

    LINK = "link"
    """A signed, expiring link token tied to the one petition (the SMS answering it, an app)."""
    REPLY_CODE = "reply_code"
    """The petition's short reply code, sent back from the petitioner's phone on record (SMS)."""
    CALLBACK = "callback"
    """A hotline callback (回访) recorded by an operator of a service holding the callback permission."""
    OPERATOR = "operator"
    """An operator acting straight through Temporal (``petitionflow act --operator``)."""


class Relay(Contract):
    """Who carried an action to the engine for the actor: the service, its operator, and the proof."""

    proof: Proof
    service: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    """The backend service that relayed it (its API key's name)."""
    operator: PersonId | None = None
    """The person who recorded it: the hotline operator of a callback, the CLI's operator."""


class Actor(Contract):
    """Who did something. Officials and contact cadres carry the tier and region they serve.

    ``relay`` (optional, added after the first histories were recorded) names the service and
    operator that carried the action and how it was proved; it is left out of the serialized form
    when unset, so every actor recorded before it serializes, hashes and replays exactly as before.
    """

    role: Role
    id: PersonId
    tier: Tier | None = None
    region_id: RegionId | None = None
    office_id: RegionId | None = Field(default=None, exclude_if=lambda office_id: office_id is None)
    """The department or centre an official serves; None: the territorial office (the government)
    of ``tier`` and ``region_id``, whatever id the directory gives it. Left out of the dump when
    None, so every actor stored before offices existed keeps its hash."""
    relay: Relay | None = Field(default=None, exclude_if=lambda relay: relay is None)

    def relayed(self, relay: Relay) -> Actor:
        """This actor, with ``relay`` recorded."""
        return copy_with(self, {"relay": relay})

    @model_validator(mode="after")
    def _officials_have_a_jurisdiction(self) -> Self:
        serves = self.role in (Role.OFFICIAL, Role.CONTACT_CADRE)
        if serves and (self.tier is None or self.region_id is None):
            raise ValueError(f"a {self.role.value} must have a tier and a region_id")
        if not serves and (self.tier is not None or self.region_id is not None):
            raise ValueError(f"a {self.role.value} has no tier or region_id")
        if not serves and self.office_id is not None:
            raise ValueError(f"a {self.role.value} has no office_id")
        return self

    @classmethod
    def system(cls) -> Actor:
        return SYSTEM

    @classmethod
    def petitioner(cls, petitioner_id: str) -> Actor:
        return cls(role=Role.PETITIONER, id=petitioner_id)

    @classmethod
    def official(cls, official_id: str, tier: Tier, region_id: str) -> Actor:
        return cls(role=Role.OFFICIAL, id=official_id, tier=tier, region_id=region_id)

    @classmethod
    def contact_cadre(cls, cadre_id: str, village_id: str) -> Actor:
        return cls(role=Role.CONTACT_CADRE, id=cadre_id, tier=Tier.VILLAGE, region_id=village_id)


SYSTEM = Actor(role=Role.SYSTEM, id="petitionflow")


class Channel(StrEnum):
    """How a petition reached the engine."""

    HOTLINE = "hotline"
    WEB = "web"
    CADRE_VISIT = "cadre_visit"
    APP = "app"
    OPEN311 = "open311"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Rating(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class Outcome(StrEnum):
    """A reasoned refusal (not feasible) is also an answer."""

    RESOLVED = "resolved"
    NOT_FEASIBLE = "not_feasible"


class AssessmentDecision(StrEnum):
    ACCEPT = "accept"
    NEEDS_INFO = "needs_info"
    BEYOND_TIER = "beyond_tier"


class ClosedReason(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNRATED = "unrated"
    WITHDRAWN = "withdrawn"
    DISSATISFIED_AT_TOP = "dissatisfied_at_top"


class Clock(StrEnum):
    """The two deadlines each tier runs."""

    RESPOND = "respond"
    RESOLVE = "resolve"


Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
Fraction = Annotated[float, Field(gt=0, lt=1)]


class RefusalCode(StrEnum):
    """Why the rules refused an action; the message says it in words."""

    ALREADY_FILED = "already_filed"
    NOT_FILED = "not_filed"
    NOT_AN_OFFICIAL = "not_an_official"
    WRONG_TIER = "wrong_tier"
    WRONG_REGION = "wrong_region"
    WRONG_STAGE = "wrong_stage"
    NOT_PETITIONER = "not_petitioner"
    REASON_REQUIRED = "reason_required"
    TOP_TIER = "top_tier"
    CLOSED = "closed"
    FINISHED = "finished"
    STALE_TIMER = "stale_timer"
    CLOCK_WENT_BACK = "clock_went_back"
    WRONG_OFFICE = "wrong_office"
    OUTSIDE_AREA = "outside_area"
    RECUSED = "recused"
    WINDOW_CLOSED = "window_closed"
    SUPERVISOR_DECIDED = "supervisor_decided"
    NOT_SUMMONED = "not_summoned"

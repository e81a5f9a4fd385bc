"""What a filing door takes from the caller, and what it fills in itself.

A filing body (``FilingBody``: the HTTP ``POST /v1/petitions``, ``petitionflow file``) carries no
policy: the deployment's (``petitionflow.policy``) is filled in here. The workflow's start input,
``FilePetitionInput``, keeps its ``policy`` field, so running petitions and their histories replay
as they were filed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from schemas.commands import FilePetitionInput, PetitionerContact
from schemas.common import Category, Channel, Contract, PersonId, PetitionId, RegionPath, Tier, Urgency
from schemas.policy import Policy

POLICY_REFUSED = (
    "a filing cannot choose its policy: the deployment's (PETITIONFLOW_POLICY_FILE) is filled in; "
    "leave policy out"
)


class FilingBody(Contract):
    """Raise a petition. ``petition_id`` is the caller's idempotency key."""

    petition_id: PetitionId
    petitioner: PetitionerContact
    region: RegionPath
    description: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    channel: Channel
    category: Category
    contact_cadre_id: PersonId
    urgency: Urgency = Urgency.NORMAL
    tier: Tier = Tier.VILLAGE
    policy: SkipJsonSchema[Any] = Field(default=None, exclude=True)
    """Refused when sent: the policy belongs to the deployment."""

    @field_validator("policy", mode="before")
    @classmethod
    def _no_policy(cls, value: object) -> object:
        raise ValueError(POLICY_REFUSED)

    def filing(self, policy: Policy, **fields: object) -> FilePetitionInput:
        """The workflow's start input: this body, ``fields`` over it, under ``policy``."""
        given = self.model_dump(exclude={"policy"})
        return FilePetitionInput.model_validate({**given, **fields, "policy": policy})

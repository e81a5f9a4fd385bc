"""Request bodies of the native actions: each ``<Verb>Input`` without ``actor``.

The caller never names the actor: an official's bearer token fixes who acts, and a service acting
for a petitioner names only ``petitioner_id``. ``tests/api/test_bodies.py`` checks that every body
carries exactly its command's fields, so a field added to a command shows up here or fails a test;
the offices of ``dispatch`` and ``summon`` are named by id and resolved from the directory by the
door (``store.offices.OFFICE_FIELDS``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from petitionflow.api.params import refuse_unprintable
from schemas.commands import ACTION_TYPES, Action
from schemas.common import (
    Actor,
    AssessmentDecision,
    Category,
    Contract,
    Outcome,
    PersonId,
    Rating,
    Reason,
    RegionId,
    Summary,
    Text,
    Urgency,
)

OfficeId = RegionId


class OfficialBody(Contract):
    """An action by the token's holder."""


class PetitionerBody(Contract):
    """An action of the petitioner it names, sent with a proof that it is theirs (``api/petitioner.py``)."""

    petitioner_id: PersonId = Field(
        description="The petitioner who acts: the one the link token or the callback speaks for."
    )


class AcknowledgeBody(OfficialBody):
    note: Text | None = None


class AssessBody(OfficialBody):
    decision: AssessmentDecision
    category: Category | None = None
    urgency: Urgency | None = None
    common_issue: bool = False
    reason: Reason | None = Field(
        default=None, description="Required when the decision is needs_info or beyond_tier."
    )


class RequestInfoBody(OfficialBody):
    question: Reason


class ResolveBody(OfficialBody):
    outcome: Outcome
    public_summary: Summary = Field(description="Shown on the public echo wall: no personal data.")
    note: Text | None = None


class EscalateBody(OfficialBody):
    reason: Reason


class RecordReturnVisitBody(OfficialBody):
    held: bool
    note: Text | None = None


class DispatchBody(OfficialBody):
    office_id: OfficeId = Field(
        description="The office of the centre's area to dispatch to: a directory office id, or "
        "<tier>:<region_id> for a region's government when no directory names it."
    )
    note: Text | None = None


class SignForBody(OfficialBody):
    note: Text | None = None


class SendBackBody(OfficialBody):
    reason: Reason = Field(description="Why it is not this office's: shown to the centre.")


class SummonBody(OfficialBody):
    office_ids: Annotated[tuple[OfficeId, ...], Field(min_length=1, max_length=20)] = Field(
        description="The offices called in to help, as in dispatch's office_id."
    )
    note: Reason | None = None


class AnswerSummonsBody(OfficialBody):
    part: Text


class ProvideInfoBody(PetitionerBody):
    info: Text


class RateBody(PetitionerBody):
    rating: Rating
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class WithdrawBody(PetitionerBody):
    reason: Reason | None = None


OFFICIAL_BODIES: dict[str, type[OfficialBody]] = {
    "acknowledge": AcknowledgeBody,
    "assess": AssessBody,
    "request_info": RequestInfoBody,
    "resolve": ResolveBody,
    "escalate": EscalateBody,
    "record_return_visit": RecordReturnVisitBody,
    "dispatch": DispatchBody,
    "sign_for": SignForBody,
    "send_back": SendBackBody,
    "summon": SummonBody,
    "answer_summons": AnswerSummonsBody,
}
PETITIONER_BODIES: dict[str, type[PetitionerBody]] = {
    "provide_info": ProvideInfoBody,
    "rate": RateBody,
    "withdraw": WithdrawBody,
}


def to_action(
    verb: str, body: OfficialBody | PetitionerBody, actor: Actor, *, resolved: dict[str, object] | None = None
) -> Action:
    """The ``<Verb>Input`` of ``body`` with ``actor`` as the one who acts.

    Args:
        resolved: the body's fields with the offices it names resolved (``store.offices.command_fields``).

    Raises:
        RequestValidationError: a text of ``body`` holds a control character (the 422 names it).
    """
    refuse_unprintable("body", body.model_dump(mode="json"))
    fields = (
        resolved if resolved is not None else body.model_dump(exclude={"petitioner_id"}, exclude_unset=False)
    )
    action: Action = ACTION_TYPES[verb].model_validate({**fields, "actor": actor})  # type: ignore[assignment]
    return action

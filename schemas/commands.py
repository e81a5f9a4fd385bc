"""What callers ask for: one ``<Verb>Input`` per action, each naming the actor who asks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.common import (
    Actor,
    AssessmentDecision,
    Category,
    Channel,
    Contract,
    Outcome,
    PersonId,
    PetitionId,
    Rating,
    Reason,
    RegionPath,
    Summary,
    Text,
    Tier,
    Urgency,
)
from schemas.offices import About, Chain, Intake, OfficeRef
from schemas.policy import Policy
from schemas.timers import Timer

Phone = Annotated[str, StringConstraints(min_length=3, max_length=32, pattern=r"^[0-9+() -]+$")]


class PetitionerContact(Contract):
    """Personal data of the petitioner. Stored apart from the event log; never in an event body."""

    petitioner_id: PersonId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    phone: Phone | None = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None


class FilePetitionInput(Contract):
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
    policy: Policy = Field(default_factory=Policy)
    about: About | None = None
    """The complaint is about the household's contact cadre or its village office: they are
    recused, and the petition is handled one level up."""
    intake: Intake | None = None
    """Set by the filing door from the directory (never by the caller): the office that holds the
    petition first (a centre, or the office above a recused one) and its supervisors."""


class AcknowledgeInput(Contract):
    """First contact with the petitioner by the tier holding the petition: meets the respond deadline."""

    kind: Literal["acknowledge"] = "acknowledge"
    actor: Actor
    note: Text | None = None


class AssessInput(Contract):
    """Classify the petition and decide what this tier does with it."""

    kind: Literal["assess"] = "assess"
    actor: Actor
    decision: AssessmentDecision
    category: Category | None = None
    urgency: Urgency | None = None
    common_issue: bool = False
    reason: Reason | None = None
    """Required when the decision is ``needs_info`` (the question) or ``beyond_tier``."""


class RequestInfoInput(Contract):
    """Ask the petitioner for more information; the resolve clock pauses until it comes."""

    kind: Literal["request_info"] = "request_info"
    actor: Actor
    question: Reason


class ProvideInfoInput(Contract):
    """The petitioner answers a request for information; the resolve clock runs again."""

    kind: Literal["provide_info"] = "provide_info"
    actor: Actor
    info: Text


class ResolveInput(Contract):
    """Record what was done, or why it cannot be done, with a summary fit for the echo wall."""

    kind: Literal["resolve"] = "resolve"
    actor: Actor
    outcome: Outcome
    public_summary: Summary
    note: Text | None = None


class EscalateInput(Contract):
    """Hand the petition to the next tier up, for a stated reason."""

    kind: Literal["escalate"] = "escalate"
    actor: Actor
    reason: Reason


class RateInput(Contract):
    """The petitioner's verdict on a resolution."""

    kind: Literal["rate"] = "rate"
    actor: Actor
    rating: Rating
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class WithdrawInput(Contract):
    """The petitioner no longer needs an answer."""

    kind: Literal["withdraw"] = "withdraw"
    actor: Actor
    reason: Reason | None = None


class RecordReturnVisitInput(Contract):
    """The result of going back after closing: the fix held, or the petition is reopened."""

    kind: Literal["record_return_visit"] = "record_return_visit"
    actor: Actor
    held: bool
    note: Text | None = None


class DispatchInput(Contract):
    """A centre hands the petition to an office of its area (派单): down the territorial chain, or to
    a department. The door resolves the office and its supervisors from the directory."""

    kind: Literal["dispatch"] = "dispatch"
    actor: Actor
    office: OfficeRef
    chain: Chain = ()
    """``office``'s supervisors, nearest first: where its missed deadlines escalate."""
    note: Text | None = None


class SignForInput(Contract):
    """The receiving office takes the petition as its own (签收): its first response."""

    kind: Literal["sign_for"] = "sign_for"
    actor: Actor
    note: Text | None = None


class SendBackInput(Contract):
    """The receiving office returns the petition to the centre as not its own (退单)."""

    kind: Literal["send_back"] = "send_back"
    actor: Actor
    reason: Reason
    """Why it is not this office's: shown to the centre."""


class SummonInput(Contract):
    """The holding office calls other offices in to help (协办, 吹哨报到)."""

    kind: Literal["summon"] = "summon"
    actor: Actor
    offices: Annotated[tuple[OfficeRef, ...], Field(min_length=1, max_length=20)]
    note: Reason | None = None
    """What the holding office needs from them."""


class AnswerSummonsInput(Contract):
    """A summoned office reports, with its part of the work."""

    kind: Literal["answer_summons"] = "answer_summons"
    actor: Actor
    part: Text


Action = Annotated[
    AcknowledgeInput
    | AssessInput
    | RequestInfoInput
    | ProvideInfoInput
    | ResolveInput
    | EscalateInput
    | RateInput
    | WithdrawInput
    | RecordReturnVisitInput
    | DispatchInput
    | SignForInput
    | SendBackInput
    | SummonInput
    | AnswerSummonsInput,
    Field(discriminator="kind"),
]
"""Any action a person takes on a filed petition."""

ACTION_TYPES: dict[str, type[Contract]] = {
    t.model_fields["kind"].default: t
    for t in (
        AcknowledgeInput,
        AssessInput,
        RequestInfoInput,
        ProvideInfoInput,
        ResolveInput,
        EscalateInput,
        RateInput,
        WithdrawInput,
        RecordReturnVisitInput,
        DispatchInput,
        SignForInput,
        SendBackInput,
        SummonInput,
        AnswerSummonsInput,
    )
}


class DirectoryChangeInput(Contract):
    """The directory changed under an open petition (``petitionflow directory notify-open``): who
    answers for it now. Sent by the system, never by a person; what it names that differs from the
    petition is recorded (``RegionRenamed``, ``ContactCadreChanged``), the rest changes nothing.

    The caller resolves the directory (the successor map, the household's cadre) and passes the
    answer in: the rules stay pure."""

    kind: Literal["directory_change"] = "directory_change"
    actor: Actor
    directory_version: Annotated[int, Field(ge=1)]
    answering: RegionPath | None = None
    """The path whose offices answer for the petition now: the successor of its village (merged or
    split) with that village's path in the directory. None: unchanged."""
    contact_cadre_id: PersonId | None = None
    """The household's contact cadre now (its households were reassigned). None: unchanged."""


class TimerFired(Contract):
    """Time passing is a command too: the workflow sends it when the pending timer comes due."""

    kind: Literal["timer_fired"] = "timer_fired"
    timer: Timer

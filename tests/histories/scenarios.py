"""Representative petitions, driven through the real workflow: the golden histories are their records.

Each scenario files one petition and acts on it through ``PetitionClient`` while the time-skipping
server moves the clock. ``record.py`` runs them all and saves each as an audit export.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from petitionflow.client import PetitionClient
from schemas.commands import (
    AcknowledgeInput,
    AnswerSummonsInput,
    AssessInput,
    DirectoryChangeInput,
    DispatchInput,
    ProvideInfoInput,
    RateInput,
    RecordReturnVisitInput,
    ResolveInput,
    SendBackInput,
    SignForInput,
    SummonInput,
)
from schemas.common import SYSTEM, Actor, AssessmentDecision, Outcome, Rating, Tier
from schemas.offices import About, OfficeRef
from tests.factories import REGION, contact_cadre, filing, official, petitioner
from tests.unit._offices import (
    CENTRE,
    CHAINS,
    COUNTY_GOV,
    ROADS,
    SUPERVISION,
    TOWNSHIP,
    WATER,
    centre_filing,
    staff,
)
from tests.unit._petitions import PETITIONER as unit_petitioner
from tests.unit._petitions import filing as unit_filing

DAY = timedelta(days=1)
Scenario = Callable[[WorkflowEnvironment, PetitionClient], Awaitable[str]]
"""Runs one petition; returns its id."""


async def _resolve(
    petitions: PetitionClient, petition_id: str, tier: Tier, *, acknowledge: bool = True
) -> None:
    actor = official(tier)
    if acknowledge:
        await petitions.act(petition_id, AcknowledgeInput(actor=actor, note="Called the household."))
    await petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        petition_id,
        ResolveInput(
            actor=actor, outcome=Outcome.RESOLVED, public_summary=f"The {tier.value} rebuilt the bridge."
        ),
    )


async def happy_path(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """Filed, answered at the village, rated satisfied, the return visit finds the fix held: finished."""
    await petitions.file(filing("golden-happy"))
    await _resolve(petitions, "golden-happy", Tier.VILLAGE)
    await petitions.act("golden-happy", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
    await env.sleep(30 * DAY + timedelta(hours=1))
    await petitions.act(
        "golden-happy", RecordReturnVisitInput(actor=contact_cadre(), held=True, note="It holds.")
    )
    await petitions.handle("golden-happy").result()
    return "golden-happy"


async def escalation_to_city(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """Nobody answers: reminders, missed deadlines, automatic escalation village → city, overdue there."""
    await petitions.file(filing("golden-climb"))
    await env.sleep(9 * DAY + timedelta(hours=1))
    await env.sleep(2 * DAY)  # overdue at the city: reminded once a day
    return "golden-climb"


async def dissatisfied_reopen_escalate(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """Dissatisfied once: reopened at the village; dissatisfied again: up to the township, answered there."""
    await petitions.file(filing("golden-loop"))
    await _resolve(petitions, "golden-loop", Tier.VILLAGE)
    await petitions.act("golden-loop", RateInput(actor=petitioner(), rating=Rating.DISSATISFIED))
    village = official(Tier.VILLAGE)
    await petitions.act("golden-loop", AssessInput(actor=village, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        "golden-loop",
        ResolveInput(actor=village, outcome=Outcome.NOT_FEASIBLE, public_summary="No budget this year."),
    )
    await petitions.act("golden-loop", RateInput(actor=petitioner(), rating=Rating.DISSATISFIED))
    await _resolve(petitions, "golden-loop", Tier.TOWNSHIP)
    await petitions.act("golden-loop", RateInput(actor=petitioner(), rating=Rating.BASICALLY_SATISFIED))
    return "golden-loop"


async def failed_return_visit(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """Closed satisfied, but the return visit finds the fix failed: reopened, resolved again."""
    await petitions.file(filing("golden-relapse"))
    await _resolve(petitions, "golden-relapse", Tier.VILLAGE)
    await petitions.act("golden-relapse", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
    await petitions.act(
        "golden-relapse", RecordReturnVisitInput(actor=contact_cadre(), held=False, note="Cracked again.")
    )
    await _resolve(petitions, "golden-relapse", Tier.VILLAGE, acknowledge=False)
    await petitions.act("golden-relapse", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
    return "golden-relapse"


async def info_pause(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """The village asks the petitioner; the resolve clock stops for ten days, then runs on."""
    await petitions.file(filing("golden-pause"))
    village = official(Tier.VILLAGE)
    await petitions.act("golden-pause", AcknowledgeInput(actor=village))
    await petitions.act(
        "golden-pause",
        AssessInput(actor=village, decision=AssessmentDecision.NEEDS_INFO, reason="Which bridge exactly?"),
    )
    await env.sleep(10 * DAY)
    await petitions.act("golden-pause", ProvideInfoInput(actor=petitioner(), info="The one by the school."))
    await petitions.act("golden-pause", AssessInput(actor=village, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        "golden-pause",
        ResolveInput(actor=village, outcome=Outcome.RESOLVED, public_summary="Bridge by the school rebuilt."),
    )
    return "golden-pause"


async def continue_as_new(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """A long petition (history_limit=50): five failed fixes; its history spans several runs."""
    await petitions.file(filing("golden-long"), history_limit=50)
    await _resolve(petitions, "golden-long", Tier.VILLAGE)
    village = official(Tier.VILLAGE)
    for round_ in range(5):
        await petitions.act("golden-long", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
        await petitions.act("golden-long", RecordReturnVisitInput(actor=contact_cadre(), held=False))
        await petitions.act("golden-long", AssessInput(actor=village, decision=AssessmentDecision.ACCEPT))
        await petitions.act(
            "golden-long",
            ResolveInput(
                actor=village, outcome=Outcome.RESOLVED, public_summary=f"Fixed again ({round_ + 2})."
            ),
        )
    return "golden-long"


async def feedback_closing_reminder(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """Answered at the village; a day before the feedback window closes the petitioner is reminded
    (``FeedbackClosingSoon``, the ``feedback-closing-reminder`` patch), then rates."""
    await petitions.file(filing("golden-reminded"))
    await _resolve(petitions, "golden-reminded", Tier.VILLAGE)
    await env.sleep(6 * DAY + timedelta(hours=12))
    await petitions.act("golden-reminded", RateInput(actor=petitioner(), rating=Rating.BASICALLY_SATISFIED))
    return "golden-reminded"


# ------------------------------------------------------------------- offices and dispatch (issue 12)
# Petitions filed through a county centre (the ``offices-and-dispatch`` patch): each new stage.


def _dispatch(office: OfficeRef, by: Actor | None = None) -> DispatchInput:
    return DispatchInput(actor=by or staff(CENTRE), office=office, chain=CHAINS[office.office_id])


async def _sign_and_resolve(petitions: PetitionClient, petition_id: str, office: OfficeRef) -> None:
    actor = staff(office)
    await petitions.act(petition_id, SignForInput(actor=actor, note="Ours."))
    await petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        petition_id, ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="The drain was dug.")
    )


async def dispatch_intake(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """Filed through the county centre, dispatched to the township, signed for, resolved, rated."""
    pid = "golden-intake"
    await petitions.file(centre_filing(petition_id=pid))
    await env.sleep(timedelta(minutes=4))
    await petitions.act(pid, _dispatch(TOWNSHIP))
    await _sign_and_resolve(petitions, pid, TOWNSHIP)
    await petitions.act(pid, RateInput(actor=unit_petitioner, rating=Rating.SATISFIED))
    return pid


async def dispatch_unsigned(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """The water bureau does not sign for it: back to the centre, which misses its own limit too."""
    pid = "golden-unsigned"
    await petitions.file(centre_filing(petition_id=pid))
    await petitions.act(pid, _dispatch(WATER))
    await env.sleep(timedelta(hours=4))
    await petitions.act(pid, _dispatch(ROADS))
    await _sign_and_resolve(petitions, pid, ROADS)
    return pid


async def dispatch_send_backs(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """Sent back twice: the county government decides, and its dispatch cannot be sent back."""
    pid = "golden-returned"
    await petitions.file(centre_filing(petition_id=pid))
    await petitions.act(pid, _dispatch(WATER))
    await petitions.act(pid, SendBackInput(actor=staff(WATER), reason="A road, not water."))
    await petitions.act(pid, _dispatch(ROADS))
    await petitions.act(pid, SendBackInput(actor=staff(ROADS), reason="The pipe: water."))
    await petitions.act(pid, _dispatch(WATER, by=staff(COUNTY_GOV)))
    await _sign_and_resolve(petitions, pid, WATER)
    return pid


async def dispatch_summons(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """The township summons two bureaus: one reports its part in time, one misses the 30 minutes."""
    pid = "golden-whistle"
    await petitions.file(centre_filing(petition_id=pid))
    await petitions.act(pid, _dispatch(TOWNSHIP))
    township = staff(TOWNSHIP)
    await petitions.act(pid, SignForInput(actor=township))
    await petitions.act(pid, SummonInput(actor=township, offices=(WATER, ROADS), note="Pump and digger."))
    await petitions.act(pid, AnswerSummonsInput(actor=staff(WATER), part="Pump on site."))
    await env.sleep(timedelta(minutes=45))
    await petitions.act(pid, AnswerSummonsInput(actor=staff(ROADS), part="Digger came late."))
    await petitions.act(pid, AssessInput(actor=township, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        pid, ResolveInput(actor=township, outcome=Outcome.RESOLVED, public_summary="Pumped and dug.")
    )
    return pid


async def dispatch_department_chain(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """The roads bureau lets its deadline pass: up its own chain to the county's supervision office."""
    pid = "golden-bureau"
    await petitions.file(centre_filing(petition_id=pid))
    await petitions.act(pid, _dispatch(ROADS))
    await petitions.act(pid, SignForInput(actor=staff(ROADS)))
    await env.sleep(30 * DAY + timedelta(hours=1))
    await petitions.act(pid, AcknowledgeInput(actor=staff(SUPERVISION)))
    return pid


async def dispatch_recused(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """A complaint about the contact cadre: the township handles it, and makes the return visit."""
    pid = "golden-recused"
    await petitions.file(unit_filing(petition_id=pid).model_copy(update={"about": About.CONTACT_CADRE}))
    township = staff(TOWNSHIP)
    await petitions.act(pid, AcknowledgeInput(actor=township))
    await petitions.act(pid, AssessInput(actor=township, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        pid, ResolveInput(actor=township, outcome=Outcome.RESOLVED, public_summary="Settled.")
    )
    await petitions.act(pid, RateInput(actor=unit_petitioner, rating=Rating.SATISFIED))
    await env.sleep(30 * DAY + timedelta(hours=1))
    await petitions.act(pid, RecordReturnVisitInput(actor=township, held=True))
    await petitions.handle(pid).result()
    return pid


DISPATCH_SCENARIOS: dict[str, Scenario] = {
    "dispatch-intake": dispatch_intake,
    "dispatch-unsigned": dispatch_unsigned,
    "dispatch-send-backs": dispatch_send_backs,
    "dispatch-summons": dispatch_summons,
    "dispatch-department-chain": dispatch_department_chain,
    "dispatch-recused": dispatch_recused,
}
"""Recorded with the ``offices-and-dispatch`` patch; the scenarios above take no office path."""

SCENARIOS: dict[str, Scenario] = {
    "happy-path": happy_path,
    "escalation-to-city": escalation_to_city,
    "dissatisfied-reopen-escalate": dissatisfied_reopen_escalate,
    "failed-return-visit": failed_return_visit,
    "info-pause": info_pause,
    "continue-as-new": continue_as_new,
    "feedback-closing-reminder": feedback_closing_reminder,
    **DISPATCH_SCENARIOS,
}
"""File name (without ``.json``) → scenario."""


# ------------------------------------------------------------------ directory changes (its own patch)


async def directory_changes(env: WorkflowEnvironment, petitions: PetitionClient) -> str:
    """The directory changes under an open petition (the ``directory-changes`` patch): its village is
    merged into Xishan and its household gets another cadre; Xishan's official answers it, the new
    cadre records the return visit."""
    await petitions.file(filing("golden-directory"))
    merged = REGION.model_copy(update={"village": "v-xishan"})
    await petitions.directory_changed(
        "golden-directory",
        DirectoryChangeInput(
            actor=SYSTEM, directory_version=2, answering=merged, contact_cadre_id="cadre-wang"
        ),
    )
    xishan = official(Tier.VILLAGE, region=merged)
    await petitions.act("golden-directory", AcknowledgeInput(actor=xishan))
    await petitions.act("golden-directory", AssessInput(actor=xishan, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        "golden-directory",
        ResolveInput(actor=xishan, outcome=Outcome.RESOLVED, public_summary="Xishan rebuilt the bridge."),
    )
    await petitions.act("golden-directory", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
    await env.sleep(30 * DAY + timedelta(hours=1))
    cadre = Actor.contact_cadre("cadre-wang", merged.village)
    await petitions.act("golden-directory", RecordReturnVisitInput(actor=cadre, held=True))
    await petitions.handle("golden-directory").result()
    return "golden-directory"


SCENARIOS["directory-changes"] = directory_changes
ADDED_AFTER_V2 = frozenset({"directory-changes", "feedback-closing-reminder"})
"""Scenarios of paths added after ``v2/`` (the ``lean-steps`` generation, before the
``directory-changes`` and ``feedback-closing-reminder`` patches): neither generation holds them."""
ADDED_AFTER_V1 = ADDED_AFTER_V2

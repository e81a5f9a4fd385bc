"""The Petition workflow: a thin, durable shell around the pure decider in ``lifecycle``.

One workflow per petition (id ``petition-<petition_id>``, task queue ``petitions``). People act
through updates whose validators run ``decide`` — a refused action is rejected before anything is
written to history — and time acts through the single pending timer ``next_timer`` names. Every new
event is queued and sent, in batches, to the PostgreSQL event log by an idempotent activity: first as
a local activity, in the same workflow task, so the reply to an update leaves once its events are in
the log; if that fails, as an ordinary activity retried without limit, so a database outage delays
the read models but never holds a reply. Search attributes (tier, region, overdue) are upserted only
when they change.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from schemas.commands import (
        AcknowledgeInput,
        AnswerSummonsInput,
        AssessInput,
        DirectoryChangeInput,
        DispatchInput,
        EscalateInput,
        FilePetitionInput,
        PetitionerContact,
        ProvideInfoInput,
        RateInput,
        RecordReturnVisitInput,
        RequestInfoInput,
        ResolveInput,
        SendBackInput,
        SignForInput,
        SummonInput,
        WithdrawInput,
    )
    from schemas.common import Stage
    from schemas.events import Envelope, Event
    from schemas.state import PetitionState
    from schemas.timers import Timer
    from schemas.workflow import WORKFLOW_TYPE, AppendEventsInput, PetitionInput
    from workflows import lifecycle, search

_NOTEWORTHY = frozenset({"PetitionFiled", "DeadlineMissed", "Escalated", "Resolved", "Closed", "Withdrawn"})
"""Events logged at info level; the rest at debug."""

APPEND_BATCH = 500
"""At most this many events per append activity; more wait for the next one."""

LEAN_STEPS = "lean-steps"
"""Patch id. Before it, store activities always ran as ordinary activities (an activity task and a
workflow task more per step), and every step that changed tier, stage, region or overdue upserted
all four search attributes. Since: store activities run locally first (``_store``), the petitioner's
contact goes with the filing's append instead of its own activity, and only the routing attributes
that changed are upserted (``search.changes``; the client sets the first ones at the start)."""

FEEDBACK_CLOSING_REMINDER = "feedback-closing-reminder"
"""The petitioner is reminded before the feedback window closes (``FeedbackClosingSoon``)."""

DIRECTORY_CHANGES = "directory-changes"
"""Patch id. Since: the ``directory_changed`` update records what a new directory version changes
for an open petition (``RegionRenamed``, ``ContactCadreChanged``), and a petition whose answering
path changed adds that path's regions to its ``PetitionRegion`` search attribute (one more upsert).
Histories recorded before it carry no directory change and take none of this."""

OFFICES = "offices-and-dispatch"
"""Patch id (issue 12). Before it, a filing knew no offices: a petition started at its tier and
climbed the tier chain. Since: a filing through a centre, or about the household's own cadre or
village office, is decided with its ``intake`` (``IntakeOpened`` after ``PetitionFiled``) and held
by offices. Only such filings ask for the patch, so a plain filing's history is as it was; a history
recorded before the patch replays its filing without the intake."""

_LOCAL_TIMEOUT = timedelta(seconds=2)
"""How long a local attempt may hold the workflow task (and the reply) before the durable path."""

_LOCAL_ONCE = RetryPolicy(maximum_attempts=1)

_STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    # Retried without limit: a database outage delays the read models, it never loses an event. A
    # conflict is retried too, until an operator settles it: the activity raises it as
    # ``UnsettledEventConflict``, not the ``EventConflict`` named here, so that the activities
    # already scheduled with this list retry as well (docs/operations.md).
    non_retryable_error_types=["EventConflict", "EventGap"],
)


@workflow.defn(name=WORKFLOW_TYPE)
class PetitionWorkflow:
    @workflow.init
    def __init__(self, input: PetitionInput) -> None:
        self._state: PetitionState | None = input.state
        self._unsent: list[Envelope] = list(input.unsent)
        self._woken = False
        self._petitioner: PetitionerContact | None = None
        """The contact to store with the first batch (lean-steps), until it is stored."""
        # The history length of the workflow task that last decided events, and the first seq it
        # decided: until a later task runs, that task (and those events) may not be in history yet.
        self._task_length = -1
        self._task_first_seq = 0
        self._closing_reminder = False
        """The feedback-closing-reminder patch, asked (and then fixed) once the petition first
        waits for its rating in this run: petitions whose histories predate it keep the old timers."""
        if input.filing is not None:
            # Filed here, not in run(): an update sent right after the start is validated before
            # run() begins, and must find the petition already filed.
            self._record(lifecycle.decide(None, self._filing(input.filing), workflow.now()))

    @workflow.run
    async def run(self, input: PetitionInput) -> PetitionState:
        if input.filing is not None:
            if workflow.patched(LEAN_STEPS):
                self._petitioner = input.filing.petitioner  # it goes with the filing's append
            else:
                await self._record_petitioner(input.filing.petitioner)
        elif workflow.patched(LEAN_STEPS):
            # Carried on: a successor path (RegionRenamed) stays listed beside the filed one.
            answering = self.state.answering is not None and workflow.patched(DIRECTORY_CHANGES)
            workflow.upsert_search_attributes(search.changes(None, self.state, answering=answering))
        else:
            workflow.upsert_search_attributes(search.updates(self.state))
        while True:
            if self._history_is_long(input.history_limit):
                await workflow.wait_condition(workflow.all_handlers_finished)
                # Events not yet in the event log travel with the state: no seq is ever skipped.
                workflow.continue_as_new(
                    PetitionInput(
                        state=self.state, history_limit=input.history_limit, unsent=tuple(self._unsent)
                    )
                )
            if self._unsent:
                await self._send_batch()
            elif self.state.finished:
                return self.state
            else:
                if self.state.stage is Stage.FEEDBACK and not self._closing_reminder:
                    self._closing_reminder = workflow.patched(FEEDBACK_CLOSING_REMINDER)
                await self._wait_for_change_or(self._next_timer())

    @staticmethod
    def _filing(filing: FilePetitionInput) -> FilePetitionInput:
        """The filing as this history decides it: with its offices only under the patch."""
        if filing.intake is None and filing.about is None:
            return filing
        if workflow.patched(OFFICES):
            return filing
        return filing.model_copy(update={"intake": None, "about": None})

    @property
    def state(self) -> PetitionState:
        assert self._state is not None, "the petition has not been filed"
        return self._state

    # ------------------------------------------------------------------------------- queries

    @workflow.query
    def view(self) -> PetitionState:
        """The petition as it stands."""
        return self.state

    @workflow.query
    def pending_timer(self) -> Timer | None:
        """The reminder, deadline or callback the petition is waiting on, if any."""
        return self._next_timer()

    def _next_timer(self) -> Timer | None:
        return lifecycle.next_timer(self.state, closing_reminder=self._closing_reminder)

    # ------------------------------------------------------------------------------- updates
    # Each action is an update: its validator decides (and refuses with the rule's reason, leaving
    # no trace in history); its handler records the events and answers with the new state.

    @workflow.update
    def acknowledge(self, input: AcknowledgeInput) -> PetitionState:
        return self._act(input)

    @acknowledge.validator
    def _validate_acknowledge(self, input: AcknowledgeInput) -> None:
        self._decide(input)

    @workflow.update
    def assess(self, input: AssessInput) -> PetitionState:
        return self._act(input)

    @assess.validator
    def _validate_assess(self, input: AssessInput) -> None:
        self._decide(input)

    @workflow.update
    def request_info(self, input: RequestInfoInput) -> PetitionState:
        return self._act(input)

    @request_info.validator
    def _validate_request_info(self, input: RequestInfoInput) -> None:
        self._decide(input)

    @workflow.update
    def provide_info(self, input: ProvideInfoInput) -> PetitionState:
        return self._act(input)

    @provide_info.validator
    def _validate_provide_info(self, input: ProvideInfoInput) -> None:
        self._decide(input)

    @workflow.update
    def resolve(self, input: ResolveInput) -> PetitionState:
        return self._act(input)

    @resolve.validator
    def _validate_resolve(self, input: ResolveInput) -> None:
        self._decide(input)

    @workflow.update
    def escalate(self, input: EscalateInput) -> PetitionState:
        return self._act(input)

    @escalate.validator
    def _validate_escalate(self, input: EscalateInput) -> None:
        self._decide(input)

    @workflow.update
    def rate(self, input: RateInput) -> PetitionState:
        return self._act(input)

    @rate.validator
    def _validate_rate(self, input: RateInput) -> None:
        self._decide(input)

    @workflow.update
    def withdraw(self, input: WithdrawInput) -> PetitionState:
        return self._act(input)

    @withdraw.validator
    def _validate_withdraw(self, input: WithdrawInput) -> None:
        self._decide(input)

    @workflow.update
    def record_return_visit(self, input: RecordReturnVisitInput) -> PetitionState:
        return self._act(input)

    @record_return_visit.validator
    def _validate_record_return_visit(self, input: RecordReturnVisitInput) -> None:
        self._decide(input)

    @workflow.update
    def directory_changed(self, input: DirectoryChangeInput) -> PetitionState:
        """The directory changed under the petition: its regions merged or moved, or its household's
        cadre was reassigned. Only what differs is recorded; the answer is the new state."""
        workflow.patched(DIRECTORY_CHANGES)
        return self._act(input)

    @directory_changed.validator
    def _validate_directory_changed(self, input: DirectoryChangeInput) -> None:
        self._decide(input)

    @workflow.update
    def dispatch(self, input: DispatchInput) -> PetitionState:
        return self._act(input)

    @dispatch.validator
    def _validate_dispatch(self, input: DispatchInput) -> None:
        self._decide(input)

    @workflow.update
    def sign_for(self, input: SignForInput) -> PetitionState:
        return self._act(input)

    @sign_for.validator
    def _validate_sign_for(self, input: SignForInput) -> None:
        self._decide(input)

    @workflow.update
    def send_back(self, input: SendBackInput) -> PetitionState:
        return self._act(input)

    @send_back.validator
    def _validate_send_back(self, input: SendBackInput) -> None:
        self._decide(input)

    @workflow.update
    def summon(self, input: SummonInput) -> PetitionState:
        return self._act(input)

    @summon.validator
    def _validate_summon(self, input: SummonInput) -> None:
        self._decide(input)

    @workflow.update
    def answer_summons(self, input: AnswerSummonsInput) -> PetitionState:
        return self._act(input)

    @answer_summons.validator
    def _validate_answer_summons(self, input: AnswerSummonsInput) -> None:
        self._decide(input)

    # ------------------------------------------------------------------------------- internals

    def _decide(self, command: lifecycle.Command) -> list[Event]:
        try:
            return lifecycle.decide(
                self._state, command, workflow.now(), closing_reminder=self._closing_reminder
            )
        except lifecycle.Refused as refused:
            raise ApplicationError(
                refused.reason,
                refused.code.value,
                refused.key,
                refused.params,
                type="Refused",
                non_retryable=True,
            ) from None

    def _act(self, command: lifecycle.Command) -> PetitionState:
        self._record(self._decide(command))
        return self.state

    def _record(self, events: list[Event]) -> None:
        """Fold new events into the state and queue them for the event log."""
        if not events:
            return
        before = self._state
        length = workflow.info().get_current_history_length()
        if length != self._task_length:  # the first events of this workflow task
            self._task_length, self._task_first_seq = length, (before.seq if before else 0) + 1
        for event in events:
            self._state = lifecycle.evolve(self._state, event)
            self._unsent.append(Envelope(petition_id=self.state.petition_id, seq=self.state.seq, event=event))
            # workflow.logger is replay-safe and adds the workflow and run ids itself.
            workflow.logger.log(
                logging.INFO if event.type in _NOTEWORTHY else logging.DEBUG,
                "petition event %s",
                event.type,
                extra={
                    "petition_id": self.state.petition_id,
                    "seq": self.state.seq,
                    "tier": self.state.tier.value,
                    "actor": f"{event.actor.role.value}:{event.actor.id}",
                },
            )
        if workflow.patched(LEAN_STEPS):
            changed = search.changes(
                before,
                self.state,
                answering=before is not None
                and before.answering != self.state.answering
                and workflow.patched(DIRECTORY_CHANGES),
            )
            if before is None:  # the client may have set them when it started the workflow
                started = workflow.info().typed_search_attributes
                changed = [update for update in changed if started.get(update.key) != update.value]
            if changed:
                workflow.upsert_search_attributes(changed)
        elif before is None or search.updates(before) != search.updates(self.state):
            workflow.upsert_search_attributes(search.updates(self.state))
        self._woken = True

    async def _wait_for_change_or(self, timer: Timer | None) -> None:
        """Sleep until an update changes the petition or ``timer`` comes due, then let every timer
        due by now fire (an update may have moved the petition on while we slept)."""
        self._woken = False
        timeout = None if timer is None else timer.at - workflow.now()
        if timeout is None or timeout > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._woken, timeout=timeout)
        self._record(lifecycle.catch_up(self.state, workflow.now(), closing_reminder=self._closing_reminder))

    async def _send_batch(self) -> None:
        """Send the oldest queued events to the event log; updates may queue more meanwhile."""
        batch = AppendEventsInput(events=self._unsent[:APPEND_BATCH], petitioner=self._petitioner)
        local = batch
        if self._task_length == workflow.info().get_current_history_length():
            # Some were decided in this very task: a tentative append (store.append_plan).
            local = batch.model_copy(
                update={"tentative_from": self._task_first_seq, "decided_at": workflow.now()}
            )
        await self._store("append_events", local, batch)
        del self._unsent[: len(batch.events)]
        self._petitioner = None

    async def _record_petitioner(self, contact: PetitionerContact) -> None:
        await self._store("record_petitioner", contact, contact)

    async def _store(self, activity: str, local_arg: object, arg: object) -> None:
        """Run a store activity: locally first, then durably if that fails.

        The local attempt runs inside this workflow task, which completes — sending the replies of
        the updates it answered — only when the attempt is over: a reply leaves with its events
        already in the event log, and costs Temporal one marker instead of an activity task and the
        workflow task that takes its result. A failed attempt (the database is down or slow) falls
        back to an ordinary activity retried without limit, while the workflow goes on answering.
        Both activities are idempotent, so an attempt that timed out after writing is harmless.

        A local attempt writes before Temporal records the workflow task, so ``local_arg`` says which
        events are this task's own (``tentative_from``, ``decided_at``) and ``arg``, for the
        ordinary activity, does not: the event log's ``store.append_plan`` says why and what follows.
        """
        if workflow.patched(LEAN_STEPS):
            try:
                await workflow.execute_local_activity(
                    activity, local_arg, start_to_close_timeout=_LOCAL_TIMEOUT, retry_policy=_LOCAL_ONCE
                )
                return
            except FailureError as error:  # the activity's own error, or its timeout (not wrapped)
                if isinstance(error, CancelledError):
                    raise
                workflow.logger.warning("local %s failed, retrying it as an activity: %s", activity, error)
        await workflow.execute_activity(
            activity, arg, start_to_close_timeout=timedelta(seconds=30), retry_policy=_STORE_RETRY
        )

    def _history_is_long(self, limit: int) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit

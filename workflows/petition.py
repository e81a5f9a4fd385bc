"""The Petition workflow: a thin, durable shell around the pure decider in ``lifecycle``.

One workflow per petition (id ``petition-<petition_id>``, task queue ``petitions``). People act
through updates whose validators run ``decide`` — a refused action is rejected before anything is
written to history — and time acts through the single pending timer ``next_timer`` names. Every new
event is queued and sent, in batches, to the PostgreSQL event log by an idempotent activity.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.commands import (
        AcknowledgeInput,
        AssessInput,
        EscalateInput,
        PetitionerContact,
        ProvideInfoInput,
        RateInput,
        RecordReturnVisitInput,
        RequestInfoInput,
        ResolveInput,
        WithdrawInput,
    )
    from schemas.events import Envelope, Event
    from schemas.state import PetitionState
    from schemas.timers import Timer
    from schemas.workflow import WORKFLOW_TYPE, AppendEventsInput, PetitionInput
    from workflows import lifecycle, search

_NOTEWORTHY = frozenset({"PetitionFiled", "DeadlineMissed", "Escalated", "Resolved", "Closed", "Withdrawn"})
"""Events logged at info level; the rest at debug."""

APPEND_BATCH = 500
"""At most this many events per append activity; more wait for the next one."""

_STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    # Retried without limit: a database outage delays the read models, it never loses an event.
    non_retryable_error_types=["EventConflict", "EventGap"],
)


@workflow.defn(name=WORKFLOW_TYPE)
class PetitionWorkflow:
    @workflow.init
    def __init__(self, input: PetitionInput) -> None:
        self._state: PetitionState | None = input.state
        self._unsent: list[Envelope] = list(input.unsent)
        self._woken = False
        if input.filing is not None:
            # Filed here, not in run(): an update sent right after the start is validated before
            # run() begins, and must find the petition already filed.
            self._record(lifecycle.decide(None, input.filing, workflow.now()))

    @workflow.run
    async def run(self, input: PetitionInput) -> PetitionState:
        if input.filing is not None:
            await self._record_petitioner(input.filing.petitioner)
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
                await self._wait_for_change_or(lifecycle.next_timer(self.state))

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
        return lifecycle.next_timer(self.state)

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

    # ------------------------------------------------------------------------------- internals

    def _decide(self, command: lifecycle.Command) -> list[Event]:
        try:
            return lifecycle.decide(self._state, command, workflow.now())
        except lifecycle.Refused as refused:
            raise ApplicationError(
                refused.reason, refused.code.value, type="Refused", non_retryable=True
            ) from None

    def _act(self, command: lifecycle.Command) -> PetitionState:
        self._record(self._decide(command))
        return self.state

    def _record(self, events: list[Event]) -> None:
        """Fold new events into the state and queue them for the event log."""
        if not events:
            return
        before = self._state
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
        if before is None or search.updates(before) != search.updates(self.state):
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
        self._record(lifecycle.catch_up(self.state, workflow.now()))

    async def _send_batch(self) -> None:
        """Send the oldest queued events to the event log; updates may queue more meanwhile."""
        batch = self._unsent[:APPEND_BATCH]
        await workflow.execute_activity(
            "append_events",
            AppendEventsInput(events=batch),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_STORE_RETRY,
        )
        del self._unsent[: len(batch)]

    async def _record_petitioner(self, contact: PetitionerContact) -> None:
        await workflow.execute_activity(
            "record_petitioner",
            contact,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_STORE_RETRY,
        )

    def _history_is_long(self, limit: int) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit

"""Activities that write a petition's events and its petitioner's contact to PostgreSQL."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from schemas.commands import PetitionerContact
from schemas.workflow import AppendEventsInput, AppendEventsResult
from store import eventlog

log = structlog.get_logger(__name__)

CONFLICT = "UnsettledEventConflict"
"""The error type of an append refused by an ``EventConflict``: retried until it is settled."""
_SHOW = "petitionflow conflicts show {}"


def tentative_of(input: AppendEventsInput, *, local: bool) -> eventlog.Tentative | None:
    """The tentative marks of an attempt: only a local attempt is tentative (``store.append_plan``
    says why)."""
    if local and input.tentative_from is not None and input.decided_at is not None:
        return eventlog.Tentative(from_seq=input.tentative_from, at=input.decided_at)
    return None


def refusal(err: eventlog.EventConflict | eventlog.EventGap) -> ApplicationError:
    """The activity's error for an append the event log refused.

    A conflict is retried (type ``UnsettledEventConflict``, not the ``EventConflict`` the
    workflow's retry policy names as non-retryable, so that petitions whose activity was scheduled
    with that policy keep retrying too) until an operator settles it: it never ends the petition.
    A gap is not retried: stored rows were lost (docs/operations.md).
    """
    if isinstance(err, eventlog.EventConflict):
        show = _SHOW.format(err.petition_id)
        return ApplicationError(f"{err}; see `{show}`", type=CONFLICT, non_retryable=False)
    return ApplicationError(str(err), type=type(err).__name__, non_retryable=True)


class EventLogActivities:
    """Bound to one asyncpg pool, created by the worker at start."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="append_events")
    async def append_events(self, input: AppendEventsInput) -> AppendEventsResult:
        """Append events idempotently: a retry after a crash stores nothing twice.

        Raises:
            ApplicationError: ``UnsettledEventConflict`` when a different event already holds a
                seq: retried, with the workflow's backoff, until an operator settles it
                (``petitionflow conflicts``, docs/operations.md), so that a conflict never ends
                the petition. ``EventGap`` when seqs would skip: not retried (a bug).
        """
        info = activity.info()
        bound = log.bind(
            petition_id=input.events[0].petition_id if input.events else None,
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            attempt=info.attempt,
            local=info.is_local,
        )
        tentative = tentative_of(input, local=info.is_local)
        try:
            if input.petitioner is None:
                result = await eventlog.append(self._pool, input.events, tentative=tentative)
            else:  # a filing: the contact and the events in one transaction
                async with self._pool.acquire() as conn, conn.transaction():
                    await eventlog.record_petitioner(conn, input.petitioner)
                    result = await eventlog.append(conn, input.events, tentative=tentative)
        except eventlog.EventConflict as err:
            bound.error("event_log_conflict", conflict_seq=err.seq, see=_SHOW.format(err.petition_id))
            raise refusal(err) from err
        except eventlog.EventGap as err:
            bound.error("event_log_refused_append", error=str(err))
            raise refusal(err) from err
        bound.debug("events_appended", appended=result.appended, duplicates=result.duplicates)
        return AppendEventsResult(
            appended=result.appended, duplicates=result.duplicates, stored=tuple(input.events)
        )

    @activity.defn(name="record_petitioner")
    async def record_petitioner(self, contact: PetitionerContact) -> None:
        """Keep the petitioner's personal data apart from the event log."""
        await eventlog.record_petitioner(self._pool, contact)

"""The timeline says, event by event, when, who, where the petition stood, what changed and which
deadline was met or missed; ``--as-of`` gives the petition as it stood at a moment."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import asyncpg
from typer.testing import CliRunner

from petitionflow.audit import DeadlineOutcome, TimelineEntry, state_as_of, timeline
from petitionflow.cli._audit import audit_app
from schemas.commands import AcknowledgeInput, AssessInput, FilePetitionInput, RateInput, ResolveInput
from schemas.common import AssessmentDecision, Clock, Outcome, Rating, Role, Stage, Tier
from schemas.events import Envelope
from schemas.state import PetitionState
from store import eventlog
from tests.factories import T0, filing, official, petitioner
from workflows import lifecycle

H = timedelta(hours=1)
VILLAGE = official(Tier.VILLAGE)


def _run(steps: list[tuple[lifecycle.Command | FilePetitionInput | None, datetime]]) -> list[Envelope]:
    """The envelopes the decider gives for ``steps`` (None: only let time pass)."""
    state: PetitionState | None = None
    envelopes: list[Envelope] = []
    for command, now in steps:
        if command is None:
            assert state is not None
            events = lifecycle.catch_up(state, now)
        else:
            events = lifecycle.decide(state, command, now)
        for event in events:
            state = lifecycle.evolve(state, event)
            envelopes.append(Envelope(petition_id="tl", seq=state.seq, event=event))
    return envelopes


def _answered() -> list[Envelope]:
    return _run(
        [
            (filing("tl"), T0),
            (AcknowledgeInput(actor=VILLAGE, note="On my way."), T0 + 13 * H),
            (AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), T0 + 14 * H),
            (
                ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="Bridge rebuilt."),
                T0 + 48 * H,
            ),
            (RateInput(actor=petitioner(), rating=Rating.SATISFIED), T0 + 72 * H),
        ]
    )


def _brief(entry: TimelineEntry) -> tuple[object, ...]:
    return (
        entry.seq,
        entry.at,
        entry.type,
        (entry.actor.role, entry.actor.id),
        entry.tier,
        entry.stage,
        entry.summary,
        [(c.field, c.before, c.after) for c in entry.changes],
        [(d.clock, d.tier, d.due_at, d.met) for d in entry.deadlines],
    )


def test_the_timeline_of_an_answered_petition() -> None:
    respond_by, resolve_by = T0 + 24 * H, T0 + 7 * 24 * H
    iso = "%Y-%m-%dT%H:%M:%SZ"
    assert [_brief(e) for e in timeline(_answered())] == [
        (1, T0, "PetitionFiled", (Role.PETITIONER, "hh-0042"), Tier.VILLAGE, Stage.COLLECT,
         "filed via hotline at the village tier (roads); respond by 2026-03-03 08:00,"
         " resolve by 2026-03-09 08:00",
         [], []),
        (2, T0 + 13 * H, "ReminderDue", (Role.SYSTEM, "petitionflow"), Tier.VILLAGE, Stage.COLLECT,
         "reminder (50% of the window): respond deadline 2026-03-03 08:00",
         [("reminded", [], [["respond", 0.5]])], []),
        (3, T0 + 13 * H, "Acknowledged", (Role.OFFICIAL, "village-official"), Tier.VILLAGE, Stage.ASSESS,
         "acknowledged by village-official",
         [("stage", "collect", "assess"), ("respond_by", respond_by.strftime(iso), None),
          ("reminded", [["respond", 0.5]], []), ("acknowledged_by", None, "village-official")],
         [(Clock.RESPOND, Tier.VILLAGE, respond_by, True)]),
        (4, T0 + 14 * H, "Assessed", (Role.OFFICIAL, "village-official"), Tier.VILLAGE, Stage.RESOLVE,
         "assessed: accept", [("stage", "assess", "resolve")], []),
        (5, T0 + 48 * H, "Resolved", (Role.OFFICIAL, "village-official"), Tier.VILLAGE, Stage.FEEDBACK,
         "resolved (resolved, on time): Bridge rebuilt.",
         [("stage", "resolve", "feedback"), ("resolve_by", resolve_by.strftime(iso), None),
          ("resolution", None, {"tier": "village", "outcome": "resolved", "public_summary": "Bridge rebuilt.",
                                "resolved_at": "2026-03-04T08:00:00Z", "resolved_by": "village-official",
                                "on_time": True}),
          ("feedback_by", None, "2026-03-11T08:00:00Z")],
         [(Clock.RESOLVE, Tier.VILLAGE, resolve_by, True)]),
        (6, T0 + 72 * H, "FeedbackReceived", (Role.PETITIONER, "hh-0042"), Tier.VILLAGE, Stage.FEEDBACK,
         "rated satisfied", [("rating", None, "satisfied")], []),
        (7, T0 + 72 * H, "Closed", (Role.PETITIONER, "hh-0042"), Tier.VILLAGE, Stage.CLOSED,
         "closed: satisfied",
         [("stage", "feedback", "closed"), ("feedback_by", "2026-03-11T08:00:00Z", None),
          ("closed_reason", None, "satisfied"), ("closed_at", None, "2026-03-05T08:00:00Z"),
          ("return_visit_due", None, "2026-04-04T08:00:00Z")],
         []),
    ]  # fmt: skip


def test_a_missed_deadline_and_the_escalation_it_causes() -> None:
    entries = timeline(_run([(filing("tl"), T0), (None, T0 + 25 * H)]))
    assert [(e.type, e.tier, e.summary) for e in entries] == [
        ("PetitionFiled", Tier.VILLAGE, entries[0].summary),
        ("ReminderDue", Tier.VILLAGE, "reminder (50% of the window): respond deadline 2026-03-03 08:00"),
        ("ReminderDue", Tier.VILLAGE, "reminder (75% of the window): respond deadline 2026-03-03 08:00"),
        (
            "DeadlineMissed",
            Tier.VILLAGE,
            "respond deadline missed at the village tier, charged to cadre-zhang",
        ),
        (
            "Escalated",
            Tier.TOWNSHIP,
            "escalated village → township automatically: the respond deadline at the village tier passed",
        ),
    ]
    assert entries[3].deadlines == [
        DeadlineOutcome(clock=Clock.RESPOND, tier=Tier.VILLAGE, due_at=T0 + 24 * H, met=False)
    ]
    assert [c.field for c in entries[4].changes] == [
        "tier", "tier_entered_at", "tiers_visited", "respond_by", "respond_window", "resolve_by",
        "resolve_window", "reminded",
    ]  # fmt: skip


def test_state_as_of_folds_only_what_had_happened() -> None:
    envelopes = _answered()
    assert state_as_of(envelopes, T0 - H) is None
    then = state_as_of(envelopes, T0 + 13 * H + 30 * timedelta(minutes=1))
    assert then == lifecycle.fold(e.event for e in envelopes[:3])
    assert then is not None and (then.seq, then.stage, then.acknowledged_by) == (
        3,
        Stage.ASSESS,
        "village-official",
    )
    assert state_as_of(envelopes, T0 + 1000 * H) == lifecycle.fold(e.event for e in envelopes)
    assert [e.seq for e in timeline(envelopes, as_of=T0 + 14 * H)] == [1, 2, 3, 4]


async def test_the_cli_prints_the_timeline_and_the_state_as_of_from_the_event_log(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await eventlog.append(pool, _answered())
    result = await asyncio.to_thread(
        CliRunner().invoke,
        audit_app,
        ["timeline", "tl", "--as-of", "2026-03-02T21:30:00Z", "--json"],
        env={"PETITIONFLOW_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [(e["seq"], e["type"], e["stage"]) for e in printed["timeline"]] == [
        (1, "PetitionFiled", "collect"),
        (2, "ReminderDue", "collect"),
        (3, "Acknowledged", "assess"),
    ]
    assert printed["timeline"][2]["deadlines"] == [
        {"clock": "respond", "tier": "village", "due_at": "2026-03-03T08:00:00Z", "met": True}
    ]
    assert (printed["as_of"], printed["state"]["seq"], printed["state"]["stage"]) == (
        "2026-03-02T21:30:00+00:00",
        3,
        "assess",
    )

    table = await asyncio.to_thread(
        CliRunner().invoke, audit_app, ["timeline", "tl"], env={"PETITIONFLOW_DATABASE_URL": database_url}
    )
    assert table.exit_code == 0, table.output
    assert (
        "resolved (resolved, on time): Bridge rebuilt." in table.stdout.replace("\n", " ")
        or "Bridge" in table.stdout
    )

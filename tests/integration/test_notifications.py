"""The outbox: one notification per recipient per event, never doubled; claimed once, marked sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from schemas.common import Rating
from store.eventlog import append
from store.models import RecipientRole
from store.outbox import claim_notifications, list_notifications, mark_sent
from store.rebuild import rebuild_read_models
from tests.integration.story import CADRE_ID, Story

PETITIONER = RecipientRole.PETITIONER
CADRE = RecipientRole.CONTACT_CADRE
OFFICIAL = RecipientRole.OFFICIAL
OFFICE = RecipientRole.TIER_OFFICE


async def test_each_event_notifies_its_recipients_once(pool: asyncpg.Pool) -> None:
    story = Story("p-1")
    story.wait(timedelta(days=1))  # a respond reminder, the missed deadline, escalation to the township
    story.acknowledge()
    story.accept()
    story.resolve()
    story.rate(Rating.SATISFIED)
    story.wait(timedelta(days=30))  # return visit due
    await append(pool, story.envelopes)
    await append(pool, story.envelopes)  # a retry changes nothing
    await rebuild_read_models(pool)  # nor does a rebuild
    sent = [
        (n.seq, story.envelopes[n.seq - 1].event.type, n.recipient_role, n.recipient_id, n.kind)
        for n in await list_notifications(pool, "p-1")
    ]
    assert sent == [
        (1, "PetitionFiled", CADRE, CADRE_ID, "cadre_told_of_filing"),
        (1, "PetitionFiled", OFFICE, "village:v-dongshan", "petition_filed"),
        (2, "ReminderDue", OFFICE, "village:v-dongshan", "reminder"),
        (3, "ReminderDue", OFFICE, "village:v-dongshan", "reminder"),
        (4, "DeadlineMissed", CADRE, CADRE_ID, "deadline_missed"),
        (4, "DeadlineMissed", OFFICE, "village:v-dongshan", "deadline_missed"),
        (5, "Escalated", CADRE, CADRE_ID, "escalated_accompany"),
        (5, "Escalated", PETITIONER, "hh-p-1", "escalated"),
        (5, "Escalated", OFFICE, "township:t-xiazhuang", "escalated_to_you"),
        (6, "Acknowledged", PETITIONER, "hh-p-1", "acknowledged"),
        (8, "Resolved", PETITIONER, "hh-p-1", "resolution_to_petitioner"),
        (9, "FeedbackReceived", OFFICIAL, "township-official", "feedback_received"),
        (10, "Closed", PETITIONER, "hh-p-1", "feedback_closed"),
        (11, "ReturnVisitDue", CADRE, CADRE_ID, "return_visit_due"),
    ]
    resolved = next(n for n in await list_notifications(pool, "p-1") if n.kind == "resolution_to_petitioner")
    assert resolved.payload == {
        "tier": "township",
        "outcome": "resolved",
        "public_summary": "The township office repaired the east-lane bridge.",
        "feedback_by": (story.envelopes[7].event.at + timedelta(days=7)).isoformat(),
    }


async def test_concurrent_senders_claim_disjoint_notifications(pool: asyncpg.Pool) -> None:
    for n in range(10):
        story = Story(f"p-{n}")
        story.acknowledge()
        await append(pool, story.envelopes)  # 3 notifications each
    claims = await asyncio.gather(*(claim_notifications(pool, 7) for _ in range(5)))
    concurrent = [n.id for claim in claims for n in claim]
    # SKIP LOCKED: a claimer passes over rows another one holds at that instant, so how many each
    # gets varies; what is guaranteed is that no row goes to two of them.
    assert len(concurrent) == len(set(concurrent)) and all(len(c) <= 7 for c in claims)
    rest = [n.id for n in await claim_notifications(pool, 100)]
    ids = concurrent + rest
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 30
    assert await claim_notifications(pool, 10) == []  # all leased
    assert await mark_sent(pool, ids[:20]) == 20
    assert await mark_sent(pool, ids[:20]) == 0
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 10


async def test_an_expired_claim_is_claimed_again(pool: asyncpg.Pool) -> None:
    await append(pool, Story("p-1").envelopes)
    first = await claim_notifications(pool, 10, lease=timedelta(0))
    again = await claim_notifications(pool, 10)
    assert [n.id for n in again] == [n.id for n in first]
    assert len(first) == 2

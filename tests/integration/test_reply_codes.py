"""Reply codes in the store (``petitionflow.proofs`` on ``store.access``, real PostgreSQL): the
code of a message is that message's on every send, and holds from every phone it was sent to and
from the phone given at filing; another message's code replaces it, and its phones with it."""

from __future__ import annotations

import asyncpg

from petitionflow import proofs
from schemas.commands import PetitionerContact
from store.eventlog import record_petitioner

SECRET = "reply-codes-test-secret"
HOUSEHOLD = "hh-0042"
FILED = "+86 139 0000 0042"
DIRECTORY = "13700000007"
MOVED = "+86 137 0000 0008"
STRANGER = "13700000099"


async def _household(pool: asyncpg.Pool) -> None:
    await record_petitioner(pool, PetitionerContact(petitioner_id=HOUSEHOLD, name="Wang Fang", phone=FILED))


async def _issue(pool: asyncpg.Pool, message: str, sent_to: str | None) -> str:
    code = await _issue_late(pool, message, sent_to)
    assert code is not None
    return code


async def _issue_late(pool: asyncpg.Pool, message: str, sent_to: str | None) -> str | None:
    """The code of ``message`` (``p-1/<seq>/<recipient>``), or None when a later answer's holds."""
    seq = int(message.split("/")[1])
    return await proofs.issue_reply_code(
        pool, SECRET, "p-1", HOUSEHOLD, message_key=message, message_seq=seq, sent_to=sent_to
    )


async def _holds(pool: asyncpg.Pool, phone: str, code: str) -> bool:
    return await proofs.check_reply(pool, SECRET, phone, f"{code} 1") is not None


async def test_a_message_sent_again_keeps_its_code_and_gains_the_phone_it_went_to(pool: asyncpg.Pool) -> None:
    await _household(pool)
    code = await _issue(pool, "p-1/4/hh-0042", DIRECTORY)
    before = await pool.fetchrow("SELECT issued_at, expires_at FROM reply_codes")
    # The directory changed the household's phone between the first try and the retry.
    assert await _issue(pool, "p-1/4/hh-0042", MOVED) == code
    assert await _issue(pool, "p-1/4/hh-0042", MOVED) == code

    row = await pool.fetchrow("SELECT issued_at, expires_at, cardinality(sent_to) AS n FROM reply_codes")
    assert (row["issued_at"], row["expires_at"], row["n"]) == (before["issued_at"], before["expires_at"], 2)
    assert [await _holds(pool, p, code) for p in (DIRECTORY, MOVED, FILED, STRANGER)] == [
        True,
        True,
        True,
        False,
    ]


async def test_a_spent_code_stays_spent_when_its_message_is_sent_again(pool: asyncpg.Pool) -> None:
    await _household(pool)
    code = await _issue(pool, "p-1/4/hh-0042", DIRECTORY)
    reply = await proofs.check_reply(pool, SECRET, DIRECTORY, f"{code} 1")
    assert reply is not None and await proofs.spend(pool, reply)

    assert await _issue(pool, "p-1/4/hh-0042", DIRECTORY) == code  # a late retry of the same SMS

    assert not await _holds(pool, DIRECTORY, code)
    assert not await proofs.spend(pool, reply)


async def test_another_messages_code_replaces_the_code_and_the_phones(pool: asyncpg.Pool) -> None:
    await _household(pool)
    old = await _issue(pool, "p-1/4/hh-0042", DIRECTORY)
    new = await _issue(pool, "p-1/9/hh-0042", MOVED)
    assert new != old  # the codes of these two messages under SECRET differ
    assert new == proofs.message_code(SECRET, "p-1", "p-1/9/hh-0042")

    assert [await _holds(pool, p, old) for p in (DIRECTORY, MOVED, FILED)] == [False, False, False]
    # The new answer went to MOVED: the phone the old one went to no longer holds.
    assert [await _holds(pool, p, new) for p in (DIRECTORY, MOVED, FILED)] == [False, True, True]


async def test_the_phones_are_kept_only_as_keyed_hashes(pool: asyncpg.Pool) -> None:
    await _household(pool)
    await _issue(pool, "p-1/4/hh-0042", "+86 (137) 0000-0007")
    (stored,) = await pool.fetchval("SELECT sent_to FROM reply_codes")
    assert len(stored) == 32 and b"0000007" not in stored
    assert await pool.fetchval("SELECT position('0000007' in r::text) FROM reply_codes r") == 0


async def test_a_late_retry_of_an_earlier_answer_never_takes_the_later_answers_place(
    pool: asyncpg.Pool,
) -> None:
    await _household(pool)
    first = await _issue(pool, "p-1/4/hh-0042", DIRECTORY)
    reply = await proofs.check_reply(pool, SECRET, DIRECTORY, f"{first} 3")
    assert reply is not None and await proofs.spend(pool, reply)  # dissatisfied: answered again
    later = await _issue(pool, "p-1/9/hh-0042", DIRECTORY)

    # The first answer's SMS, retried after its lease ran out: it gets no code, changes nothing.
    assert await _issue_late(pool, "p-1/4/hh-0042", DIRECTORY) is None

    row = await pool.fetchrow("SELECT message_key, message_seq, used_at FROM reply_codes")
    assert (row["message_key"], row["message_seq"], row["used_at"]) == ("p-1/9/hh-0042", 9, None)
    assert not await _holds(pool, DIRECTORY, first), "the spent first code is not brought back"
    assert await _holds(pool, DIRECTORY, later)

"""The dispatcher against real servers: signed webhooks, robots, Aliyun's SMS shape, SMTP."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
from datetime import timedelta

import asyncpg
import pytest

from petitionflow.notify import AnswerProofing, Dispatcher
from petitionflow.notify._webhook import IDEMPOTENCY_KEY
from petitionflow.proofs import check_reply, verify_link
from schemas.common import Rating, Tier
from store.eventlog import append, record_petitioner
from store.outbox import find_notifications, list_notifications, retry_notifications
from store.sessions import RosterPerson, issue_code
from tests.integration.story import NAME, PHONE, Story
from tests.notify.conftest import HOUSEHOLD_PHONE, add_directory, config
from tests.notify.receivers import Receiver, smtp_server


async def drain(dispatcher: Dispatcher, rounds: int = 20) -> None:
    for _ in range(rounds):
        if await dispatcher.run_once() == 0:
            return


async def escalated(pool: asyncpg.Pool, petition_id: str = "p-1") -> Story:
    """A petition whose village let the respond deadline pass: it went up to the township."""
    story = Story(petition_id)
    story.wait(timedelta(days=1))
    await append(pool, story.envelopes)
    return story


async def test_every_recipient_gets_its_message_by_its_channel(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await add_directory(pool, receiver)
    await escalated(pool)
    dispatcher = Dispatcher(pool, config(receiver))
    try:
        await drain(dispatcher)
    finally:
        await dispatcher.aclose()
    assert receiver.refused == []
    rows = await list_notifications(pool, "p-1")
    assert all(n.delivered_at is not None and n.failed_at is None for n in rows)
    by_id = {str(n.id): n for n in rows}
    township = receiver.at("/hook/township")
    kinds = sorted(r.body["kind"] for r in township)
    # The township office now holds it; it also supervises the village office that missed the deadline.
    assert kinds == ["deadline_missed_supervisor", "escalated_to_you"]
    handed = next(r.body for r in township if r.body["kind"] == "escalated_to_you")
    assert handed["subject"] == "诉求 p-1 已上交给您"
    assert "由村级上交至乡镇" in handed["text"] and handed["link"].endswith("/petitions/p-1")
    assert by_id[handed["id"]].kind == "escalated_to_you"
    assert {r.headers[IDEMPOTENCY_KEY.lower()] for r in township} == {
        handed["id"],
        next(r.body["id"] for r in township if r.body["kind"] == "deadline_missed_supervisor"),
    }
    supervised = next(r.body for r in township if r.body["kind"] == "deadline_missed_supervisor")
    assert supervised["id"].endswith("-supervisor") and "off-v-dongshan" in supervised["text"]
    village = sorted(r.body["kind"] for r in receiver.at("/hook/village"))
    assert village == ["deadline_missed", "petition_filed", "reminder", "reminder"]
    cadre = sorted(r.body["kind"] for r in receiver.at("/hook/cadre"))
    assert cadre == ["cadre_told_of_filing", "deadline_missed", "escalated_accompany"]
    # The household by SMS, through Aliyun's SendSms shape, its signature checked by the receiver.
    (sms,) = receiver.at("/aliyun/")
    assert sms.body["PhoneNumbers"] == HOUSEHOLD_PHONE and sms.body["SignName"] == "县信访"
    assert sms.body["TemplateCode"] == "SMS_100000001"
    assert json.loads(sms.body["TemplateParam"]) == {"petition_id": "p-1", "to_tier": "乡镇"}
    # No message to an office or a cadre carries the petitioner's name or phone.
    for r in receiver.received:
        assert NAME not in json.dumps(r.body, ensure_ascii=False) and PHONE not in json.dumps(r.body)


async def test_a_refused_message_fails_with_its_cause_and_a_retry_delivers_it(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await add_directory(pool, receiver)
    await escalated(pool)
    wrong = Dispatcher(pool, config(receiver, webhook={"secret": "not-the-secret"}))
    try:
        await drain(wrong)
    finally:
        await wrong.aclose()
    failed = await find_notifications(pool, failed=True)
    assert failed and all(n.last_error == "webhook answered HTTP 401" for n in failed)
    assert all(n.channel == "webhook" and n.attempts == 1 for n in failed)
    assert wrong.counters.failed == len(failed) and receiver.at("/hook/township") == []
    retried = await retry_notifications(pool, failed=True)
    assert retried == sorted(n.id for n in failed)
    right = Dispatcher(pool, config(receiver))
    try:
        await drain(right)
    finally:
        await right.aclose()
    assert await find_notifications(pool, failed=True) == []
    assert sorted(
        int(k.split("-")[0]) for k in receiver.ids() if k and not k.endswith("-supervisor")
    ) == sorted(n.id for n in await list_notifications(pool, "p-1"))  # the SMS by its OutId


async def test_robots_get_their_own_shapes(pool: asyncpg.Pool, receiver: Receiver) -> None:
    await add_directory(pool, receiver)
    story = Story("p-2")
    story.wait(timedelta(days=7))  # village → township → county (wecom) → city (dingtalk)
    await append(pool, story.envelopes)
    dispatcher = Dispatcher(pool, config(receiver))
    try:
        await drain(dispatcher)
    finally:
        await dispatcher.aclose()
    assert receiver.refused == []
    wecom = [r.body for r in receiver.at("/cgi-bin/webhook/send")]
    dingtalk = [r.body for r in receiver.at("/robot/send")]
    assert wecom and all(b["msgtype"] == "text" and b["text"]["content"] for b in wecom)
    assert any("县级" in b["text"]["content"] for b in wecom)
    assert dingtalk and any("市级" in b["text"]["content"] for b in dingtalk)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_email_goes_over_smtp_with_login(pool: asyncpg.Pool, receiver: Receiver) -> None:
    await add_directory(pool, receiver)
    await pool.execute(
        "UPDATE directory_people SET webhook = NULL, email = 'zhang@xiazhuang.example'"
        " WHERE person_id = 'cadre-zhang'"
    )
    await escalated(pool)
    with smtp_server() as (mailbox, port):
        dispatcher = Dispatcher(
            pool,
            config(
                receiver,
                email={"enabled": True, "port": port, "username": "notify", "password": "smtp-secret",
                       "sender": "notify@county.example"},
                language="en",
            ),
        )  # fmt: skip
        try:
            await drain(dispatcher)
        finally:
            await dispatcher.aclose()
    assert mailbox.logins and all(m[1] == ["zhang@xiazhuang.example"] for m in mailbox.messages)
    subjects = sorted(
        email.message_from_bytes(m[2], policy=email.policy.default)["Subject"] for m in mailbox.messages
    )
    assert subjects == [
        "Deadline missed: petition p-1",
        "New petition p-1 from your village",
        "Petition p-1 went up to the township tier",
    ]


async def test_a_kind_without_a_template_fails_at_once_with_its_cause(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await add_directory(pool, receiver)
    await escalated(pool)
    await pool.execute("UPDATE notifications SET kind = 'mystery' WHERE kind = 'escalated_to_you'")
    dispatcher = Dispatcher(pool, config(receiver))
    try:
        await drain(dispatcher)
    finally:
        await dispatcher.aclose()
    (failed,) = await find_notifications(pool, failed=True)
    assert (failed.kind, failed.attempts, failed.last_error) == (
        "mystery",
        1,
        "cannot render mystery: TemplateNotFound",
    )
    assert dispatcher.counters.failed == 1 and dispatcher.counters.retried == 0


async def test_the_generic_sms_gateway_gets_template_params_and_its_key(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await add_directory(pool, receiver)
    await escalated(pool)
    sms = {
        "provider": "generic",
        "endpoint": receiver.url("/gateway"),
        "generic_headers": {"Authorization": "Bearer gateway-key"},
    }
    dispatcher = Dispatcher(pool, config(receiver, sms=sms))
    try:
        await drain(dispatcher)
    finally:
        await dispatcher.aclose()
    (sent,) = receiver.at("/gateway")
    assert sent.body["phone"] == HOUSEHOLD_PHONE and sent.body["template"] == "SMS_100000001"
    assert sent.body["params"] == {"petition_id": "p-1", "to_tier": "乡镇"}
    assert sent.body["text"] == "您的诉求 p-1 现由乡镇办理。" and receiver.refused == []


async def test_the_answer_to_a_household_carries_a_reply_code_its_reply_proves(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    """The SMS that answers a petition carries its reply code and a link (issue 13's proofs): the
    household's reply "<code>1" is then checked by ``proofs.check_reply``, and the link opens it."""
    await add_directory(pool, receiver)
    story = Story("p-1")
    story.acknowledge()
    story.accept()
    story.resolve()
    await append(pool, story.envelopes)
    await record_petitioner(pool, story.contact.model_copy(update={"phone": HOUSEHOLD_PHONE}))
    sms = {
        "provider": "generic",
        "endpoint": receiver.url("/gateway"),
        "generic_headers": {"Authorization": "Bearer gateway-key"},
    }
    secret = "test-link-secret"
    proofing = AnswerProofing(secret=secret, link_base="https://petitions.example/h/")
    dispatcher = Dispatcher(pool, config(receiver, sms=sms), proofs=proofing)
    try:
        await drain(dispatcher)
    finally:
        await dispatcher.aclose()
    (answer,) = [r for r in receiver.at("/gateway") if "回复" in r.body["text"]]
    code = answer.body["params"]["reply_code"]
    assert len(code) == 4 and code.isdigit()
    assert f"回复{code}1满意" in answer.body["text"]
    link = answer.body["text"].rsplit("打开 ", 1)[1].strip()
    assert link.startswith("https://petitions.example/h/")
    claims = verify_link(secret, link.removeprefix("https://petitions.example/h/"), max_age_seconds=3600)
    assert claims is not None and (claims.petition_id, claims.household_id) == ("p-1", "hh-p-1")
    reply = await check_reply(pool, secret, HOUSEHOLD_PHONE, f"{code}1")
    assert reply is not None and (reply.petition_id, reply.rating) == ("p-1", Rating.SATISFIED)
    assert await check_reply(pool, secret, HOUSEHOLD_PHONE, f"{int(code[0]) ^ 1}{code[1:]}1") is None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_an_officials_sign_in_code_goes_where_they_signed_in_with_and_never_to_a_webhook(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    """The web pages' one-time code goes out through the outbox (``store.sessions.issue_code``):
    owed for no petition's event, it has no stream to wait for, and reaches the person at once, by
    the email or the phone they signed in with; the webhook their office reads gets nothing."""
    await add_directory(pool, receiver)
    await pool.execute(
        "UPDATE directory_people SET email = 'lina@xiazhuang.example', phone = '+8613900000002'"
        " WHERE person_id = 'township-official'"
    )
    person = RosterPerson(
        person_id="township-official",
        name="Li Na",
        role="official",
        tier=Tier.TOWNSHIP,
        region_id="t-xiazhuang",
        via="email",
    )
    await issue_code(pool, person)
    by_email = json.loads(
        await pool.fetchval("SELECT payload::text FROM notifications WHERE kind = 'sign_in_code'")
    )
    with smtp_server() as (mailbox, port):
        email_on = {"enabled": True, "port": port, "username": "notify", "password": "smtp-secret",
                    "sender": "notify@county.example"}  # fmt: skip
        dispatcher = Dispatcher(pool, config(receiver, email=email_on))
        try:
            await drain(dispatcher)
            (mail,) = mailbox.messages
            assert mail[1] == ["lina@xiazhuang.example"]
            body = email.message_from_bytes(mail[2], policy=email.policy.default).get_body()
            assert body is not None and by_email["code"] in body.get_content()

            await issue_code(pool, dataclasses.replace(person, via="phone"))
            by_phone = json.loads(
                await pool.fetchval(
                    "SELECT payload::text FROM notifications WHERE kind = 'sign_in_code'"
                    " ORDER BY id DESC LIMIT 1"
                )
            )
            await drain(dispatcher)
        finally:
            await dispatcher.aclose()
    (sms,) = receiver.at("/aliyun/")
    assert sms.body["PhoneNumbers"] == "+8613900000002"
    assert by_phone["code"] in sms.body["TemplateParam"]
    assert receiver.at("/hook/official") == [], "a code never goes where others read"
    assert len(mailbox.messages) == 1
    delivered = [n.delivered_at is not None for n in await list_notifications(pool, "-sign-in-")]
    assert delivered == [True, True]

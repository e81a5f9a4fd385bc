"""The email channel through STARTTLS: a real SMTP server in the test process that offers it (and
takes a login only after it), under a CA made for the test; and a server without it, to which the
channel sends nothing rather than send in clear."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from petitionflow.notify import Dispatcher, NotifyConfig
from store.outbox import find_notifications
from tests.notify.conftest import add_directory, config
from tests.notify.receivers import Receiver, certificates, smtp_server, starttls_server
from tests.notify.test_delivery import drain, escalated

CADRE = "zhang@xiazhuang.example"

SUBJECTS = {
    "zh_CN": ["诉求 p-1 已上交至乡镇", "您联系的村有新诉求 p-1", "超时：诉求 p-1"],
    "en": [
        "Deadline missed: petition p-1",
        "New petition p-1 from your village",
        "Petition p-1 went up to the township tier",
    ],
}
ACCOMPANY = {
    "zh_CN": "请陪同农户：其诉求 p-1 现已上交至乡镇。",
    "en": "Please accompany the household: its petition p-1 is now at the township tier.",
}


async def cadre_by_email(pool: asyncpg.Pool, receiver: Receiver) -> None:
    await add_directory(pool, receiver)
    await pool.execute(
        "UPDATE directory_people SET webhook = NULL, email = $1 WHERE person_id = 'cadre-zhang'", CADRE
    )
    await escalated(pool)


def settings(receiver: Receiver, port: int, **changes: Any) -> NotifyConfig:
    mail = {"enabled": True, "port": port, "starttls": True, "username": "notify",
            "password": "smtp-secret", "sender": "notify@county.example"}  # fmt: skip
    return config(receiver, email={**mail, **changes.pop("email", {})}, **changes)


async def deliver(pool: asyncpg.Pool, config: NotifyConfig) -> None:
    dispatcher = Dispatcher(pool, config)
    try:
        await drain(dispatcher)
    finally:
        await dispatcher.aclose()


async def email_errors(pool: asyncpg.Pool) -> list[str | None]:
    rows = await pool.fetch("SELECT last_error FROM notifications WHERE channel = 'email' ORDER BY id")
    return [r["last_error"] for r in rows]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_email_goes_through_starttls_then_login(
    pool: asyncpg.Pool, receiver: Receiver, tmp_path: Path, language: str
) -> None:
    await cadre_by_email(pool, receiver)
    certs = certificates(tmp_path)
    with starttls_server(certs) as (mailbox, port):
        await deliver(pool, settings(receiver, port, email={"ca_file": str(certs.ca)}, language=language))
    assert mailbox.logins == ["notify"] * 3  # one session a message, each logged in after STARTTLS
    assert [m[:2] for m in mailbox.messages] == [("notify@county.example", [CADRE])] * 3
    mails = [email.message_from_bytes(m[2], policy=email.policy.default) for m in mailbox.messages]
    assert sorted(str(m["Subject"]) for m in mails) == sorted(SUBJECTS[language])
    bodies = [m.get_body(("plain",)).get_content() for m in mails]  # type: ignore[union-attr]
    assert any(b.startswith(ACCOMPANY[language]) for b in bodies)
    assert await email_errors(pool) == [None] * 3 and await find_notifications(pool, failed=True) == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_server_without_starttls_gets_neither_the_login_nor_the_message(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await cadre_by_email(pool, receiver)
    with smtp_server() as (mailbox, port):  # offers no STARTTLS
        await deliver(pool, settings(receiver, port))
    assert mailbox.messages == [] and mailbox.logins == []
    # Each waits for its next try (the server may be mended), its cause named.
    assert await email_errors(pool) == ["smtp server offers no STARTTLS (starttls is required): not sent"] * 3
    assert (
        await pool.fetchval("SELECT count(*) FROM notifications WHERE channel = 'email' AND sent_at IS NULL")
        == 3
    )


async def test_a_certificate_not_trusted_gets_neither_the_login_nor_the_message(
    pool: asyncpg.Pool, receiver: Receiver, tmp_path: Path
) -> None:
    await cadre_by_email(pool, receiver)
    with starttls_server(certificates(tmp_path)) as (mailbox, port):  # its CA not in ca_file
        await deliver(pool, settings(receiver, port))
    assert mailbox.messages == [] and mailbox.logins == []
    assert await email_errors(pool) == ["smtp server's certificate is not trusted (see email.ca_file)"] * 3

"""The log channel, for development: the message's kind and ids go to the log, never its text or
the address (which may be a phone number)."""

from __future__ import annotations

import structlog

from petitionflow.notify._base import Message

log = structlog.get_logger("petitionflow.notify")


class LogChannel:
    name = "log"

    async def send(self, message: Message, address: str) -> None:
        log.info(
            "notification",
            notification_id=message.key,
            petition_id=message.petition_id,
            kind=message.kind,
            recipient_role=message.recipient_role,
            language=message.language,
        )

    async def aclose(self) -> None:
        pass

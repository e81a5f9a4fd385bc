"""The email channel: SMTP with an async client (aiosmtplib), STARTTLS and login from the settings."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from petitionflow.notify._base import DeliveryError, Message
from petitionflow.notify._config import EmailConfig


def email(message: Message, sender: str, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = message.subject
    # Lets a receiving system drop a duplicate of an at-least-once delivery.
    mail["Message-ID"] = f"<notification-{message.key}@petitionflow>"
    mail.set_content(message.text + (f"\n\n{message.link}" if message.link else ""))
    return mail


class EmailChannel:
    name = "email"

    def __init__(self, config: EmailConfig) -> None:
        self._config = config

    async def send(self, message: Message, address: str) -> None:
        c = self._config
        try:
            await aiosmtplib.send(
                email(message, c.sender, address),
                hostname=c.host,
                port=c.port,
                start_tls=c.starttls,
                username=c.username,
                password=None if c.password is None else c.password.get_secret_value(),
                timeout=c.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            raise DeliveryError("smtp refused the recipient", permanent=True) from None
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryError(f"smtp answered {error.code}", permanent=500 <= error.code < 600) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"smtp unreachable: {type(error).__name__}") from None

    async def aclose(self) -> None:
        pass

"""The email channel: SMTP with an async client (aiosmtplib), STARTTLS and login from the settings.

With ``starttls`` on, the server's certificate is verified (host name included) against the
system's trust store and, when it is set, ``ca_file``'s certificates. STARTTLS, when required, comes
before the login: a server that does not offer it gets neither the password nor the message."""

from __future__ import annotations

import ssl
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
        client = aiosmtplib.SMTP(
            hostname=c.host, port=c.port, timeout=c.timeout, start_tls=False, cert_bundle=c.ca_file
        )
        try:
            async with client:
                await client.ehlo()
                if c.starttls:
                    if not client.supports_extension("starttls"):
                        # Required and not offered (or stripped on the way): never log in or send in clear.
                        raise DeliveryError("smtp server offers no STARTTLS (starttls is required): not sent")
                    await client.starttls()
                if c.username:
                    password = "" if c.password is None else c.password.get_secret_value()
                    await client.login(c.username, password)
                await client.send_message(email(message, c.sender, address))
        except aiosmtplib.SMTPRecipientsRefused:
            raise DeliveryError("smtp refused the recipient", permanent=True) from None
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryError(f"smtp answered {error.code}", permanent=500 <= error.code < 600) from None
        except ssl.SSLCertVerificationError:
            raise DeliveryError("smtp server's certificate is not trusted (see email.ca_file)") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"smtp unreachable: {type(error).__name__}") from None

    async def aclose(self) -> None:
        pass

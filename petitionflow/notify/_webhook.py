"""The webhook channel: POST the message as JSON, signed.

Headers: ``Idempotency-Key`` (the notification id: a receiver drops what it has seen),
``X-Petitionflow-Timestamp`` (Unix seconds) and ``X-Petitionflow-Signature: sha256=<hex>``, the
HMAC-SHA256, keyed by the shared secret, of ``<timestamp>.<body>``: a receiver checks it and refuses
a timestamp far from its clock, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from petitionflow.notify._base import DeliveryError, HttpPool, Message, TransportError, http_error

SIGNATURE = "X-Petitionflow-Signature"
TIMESTAMP = "X-Petitionflow-Timestamp"
IDEMPOTENCY_KEY = "Idempotency-Key"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body(message: Message) -> bytes:
    return json.dumps(
        {
            "id": message.key,
            "notification_id": message.id,
            "petition_id": message.petition_id,
            "kind": message.kind,
            "recipient": {"role": message.recipient_role, "id": message.recipient_id},
            "language": message.language,
            "subject": message.subject,
            "text": message.text,
            "link": message.link,
            "facts": message.payload,
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


class WebhookChannel:
    name = "webhook"

    def __init__(self, http: HttpPool, secret: str) -> None:
        self._http = http
        self._secret = secret

    async def send(self, message: Message, address: str) -> None:
        data = body(message)
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", IDEMPOTENCY_KEY: message.key, TIMESTAMP: timestamp}
        if self._secret:
            headers[SIGNATURE] = sign(self._secret, timestamp, data)
        try:
            response = await self._http.post(address, content=data, headers=headers)
        except TransportError as error:
            raise DeliveryError(f"webhook unreachable: {error}") from None
        if response.status_code >= 300:
            raise http_error(response.status_code, "webhook")

    async def aclose(self) -> None:
        pass

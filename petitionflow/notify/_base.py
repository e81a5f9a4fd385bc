"""What the channels share: the message as rendered, and how a try fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered notification for one address. It carries what its recipient needs and no more:
    ids, the petition's facts, a link; never another person's name or phone."""

    id: int
    """The notification id: the idempotency key."""
    key: str
    """The idempotency key as sent: the id, with a suffix for a copy (``-supervisor``)."""
    petition_id: str
    kind: str
    recipient_role: str
    recipient_id: str
    language: str
    subject: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)
    sms_params: dict[str, str] = field(default_factory=dict)
    link: str | None = None


class DeliveryError(Exception):
    """A try failed; ``permanent`` when trying again cannot help (the receiver refused the message)."""

    def __init__(self, cause: str, *, permanent: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.permanent = permanent


class Channel(Protocol):
    name: str

    async def send(self, message: Message, address: str) -> None:
        """Deliver ``message`` to ``address``, or raise ``DeliveryError``."""
        ...

    async def aclose(self) -> None: ...


def http_error(status: int, where: str) -> DeliveryError:
    """A receiver's HTTP status as a delivery error: 4xx (not 408/429) is permanent."""
    permanent = 400 <= status < 500 and status not in (408, 429)
    return DeliveryError(f"{where} answered HTTP {status}", permanent=permanent)

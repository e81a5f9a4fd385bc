"""What the channels share: the message as rendered, and how a try fails."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


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


class HttpPool:
    """HTTP clients for the channels, ``per_client`` connections each, taken in turn.

    One ``httpx.AsyncClient`` with many connections spends more time choosing a connection than
    sending (httpcore scans its pool for every request and every queued one); several small ones
    do not (``bench/notify.py``: about twice the messages per second at 64 in flight)."""

    def __init__(self, connections: int, *, timeout: float, per_client: int = 8) -> None:
        count = max(1, -(-connections // per_client))
        limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
        self._clients = [httpx.AsyncClient(timeout=timeout, limits=limits) for _ in range(count)]
        self._turn = itertools.cycle(self._clients)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await next(self._turn).post(url, **kwargs)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

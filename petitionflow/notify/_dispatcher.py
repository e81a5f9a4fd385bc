"""The dispatcher: claim from the outbox, resolve the recipient from the directory, render, deliver.

One loop per process; several processes may run at once (a claim hands each row to one of them).
Each pass: confirm held notifications with Temporal (``_confirm``), claim a batch of due ones,
reserve their channels' sending slots (one statement, shared by every dispatcher: a channel's rate
limit holds for all processes together), deliver them concurrently, then mark them in a few
statements. A try that fails is retried with
exponential backoff and jitter until ``give_up_after`` (24 h), then the notification is failed with
its cause; a refusal that retrying cannot cure (a 4xx, a bad number) fails it at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import jinja2
import structlog
from temporalio.client import Client

from petitionflow.notify._base import Channel, DeliveryError, HttpPool, Message
from petitionflow.notify._config import NotifyConfig
from petitionflow.notify._confirm import Confirmer
from petitionflow.notify._delivery import Counters, backoff, channel_slots, quiet_until
from petitionflow.notify._email import EmailChannel
from petitionflow.notify._log import LogChannel
from petitionflow.notify._robots import DingtalkChannel, WecomChannel, robot_kind
from petitionflow.notify._sms import sms_channel
from petitionflow.notify._templates import render
from petitionflow.notify._webhook import WebhookChannel
from petitionflow.proofs import issue_answer_proofs
from store import outbox, rate_limits, recipients
from store.models import Notification, RecipientRole
from store.recipients import Address
from store.sessions import SIGN_IN_CODE

log = structlog.get_logger("petitionflow.notify")

Clock = Callable[[], datetime]
_ADDRESS_TTL = 30.0
"""Seconds an address looked up in the directory is reused (a new import shows within this)."""


ANSWER_KIND = "resolution_to_petitioner"


@dataclass(frozen=True, slots=True)
class AnswerProofing:
    """How the answer to a household is proven: the link secret (``PETITIONFLOW_LINK_SECRET``) and
    where its link opens (the web's ``/h/`` page)."""

    secret: str
    link_base: str


@dataclass(frozen=True, slots=True)
class _Route:
    channel: str
    address: str
    kind: str
    key: str
    extra: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """``delivered``, ``retry``, ``failed`` or ``deferred`` (until ``at``)."""

    what: str
    channel: str | None = None
    error: str | None = None
    at: datetime | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        config: NotifyConfig,
        *,
        client: Client | None = None,
        clock: Clock = utcnow,
        channels: dict[str, Channel] | None = None,
        seed: int | None = None,
        proofs: AnswerProofing | None = None,
    ) -> None:
        self.pool = pool
        self.config = config
        self.proofs = proofs
        self.counters = Counters()
        self._clock = clock
        self._rng = random.Random(seed)
        self._http = HttpPool(config.concurrency, timeout=config.webhook.timeout)
        self.channels: dict[str, Channel] = channels if channels is not None else self._channels()
        self._slots_of = channel_slots(config.rate_limits, config.rate_windows)
        self._slots = asyncio.Semaphore(config.concurrency)
        self._addresses: dict[tuple[RecipientRole, str], tuple[float, Address | None]] = {}
        self._confirmer = None if client is None else Confirmer(client, pool, config.confirm_after)

    def _channels(self) -> dict[str, Channel]:
        c = self.config
        channels: dict[str, Channel] = {}
        if c.webhook.enabled:
            channels["webhook"] = WebhookChannel(self._http, c.webhook.secret.get_secret_value())
        if c.robots.enabled:
            channels["wecom"] = WecomChannel(self._http)
            channels["dingtalk"] = DingtalkChannel(self._http, c.robots.dingtalk_secret.get_secret_value())
        if c.email.enabled:
            channels["email"] = EmailChannel(c.email)
        if c.sms.enabled:
            channels["sms"] = sms_channel(self._http, c.sms)
        if c.log:
            channels["log"] = LogChannel()
        return channels

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
        await self._http.aclose()

    # ----------------------------------------------------------------------------- the loop

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set (or the task is cancelled: claimed rows go back when their
        lease ends, so nothing is lost)."""
        stop = stop or asyncio.Event()
        log.info("notify_started", channels=sorted(self.channels))
        last_summary = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    if self._confirmer is not None:
                        self.counters.confirmed += await self._confirmer.confirm_held()
                    done = await self.run_once()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    # The database is away: claims lapse and come back; try again shortly.
                    log.warning("notify_store_unavailable", error=type(error).__name__)
                    done = 0
                    with _suppress_timeout():
                        await asyncio.wait_for(stop.wait(), 1.0)
                if time.monotonic() - last_summary > 60:
                    log.info("notify_counters", **self.counters.summary())
                    last_summary = time.monotonic()
                if done < self.config.batch:
                    with _suppress_timeout():
                        await asyncio.wait_for(stop.wait(), self.config.poll_interval)
        finally:
            log.info("notify_stopped", **self.counters.summary())

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many notifications were claimed."""
        now = self._clock()
        batch = await outbox.claim_notifications(
            self.pool, self.config.batch, lease=self.config.lease, now=now
        )
        if not batch:
            return 0
        addresses = await self._lookup(batch)
        plans = [self._plan(n, addresses.get((n.recipient_role, n.recipient_id)), now) for n in batch]
        plans = await self._within_rates(plans, now)
        outcomes = await asyncio.gather(*(self._settle(n, p, now) for n, p in zip(batch, plans, strict=True)))
        delivered = [
            (n.id, o.channel or "") for n, o in zip(batch, outcomes, strict=True) if o.what == "delivered"
        ]
        await outbox.mark_delivered(self.pool, delivered)
        real_now = utcnow()
        for n, o in zip(batch, outcomes, strict=True):
            if o.what == "delivered":
                self.counters.delivered += 1
                self.counters.lag((real_now - n.created_at).total_seconds())
            elif o.what == "deferred":
                assert o.at is not None
                self.counters.deferred += 1
                await outbox.defer(self.pool, n.id, o.at)
            elif o.what == "retry":
                assert o.at is not None and o.error is not None
                self.counters.retried += 1
                await outbox.mark_retry(self.pool, n.id, error=o.error, at=o.at, channel=o.channel)
            else:
                assert o.error is not None
                self.counters.failed += 1
                await outbox.mark_failed(self.pool, n.id, error=o.error, channel=o.channel)
                log.warning(
                    "notification_failed", notification_id=n.id, kind=n.kind, channel=o.channel, cause=o.error
                )
        return len(batch)

    # ------------------------------------------------------------------------------ routing

    async def _lookup(self, batch: Sequence[Notification]) -> dict[tuple[RecipientRole, str], Address]:
        now = time.monotonic()
        wanted = {(n.recipient_role, n.recipient_id) for n in batch}
        missing = [k for k in wanted if k not in self._addresses or self._addresses[k][0] < now]
        if missing:
            found = await recipients.resolve(self.pool, missing)
            for key in missing:
                self._addresses[key] = (now + _ADDRESS_TTL, found.get(key))
        return {k: a for k in wanted if (a := self._addresses[k][1]) is not None}

    def _pick(self, address: Address | None, *, household: bool) -> tuple[str, str] | None:
        """The channel and address a recipient is reached by: a household by SMS; an office or a
        person by its webhook (or group robot), else email, else SMS; else the log, when on."""
        options: list[tuple[str, str | None]] = []
        if address is not None:
            if household:
                options.append(("sms", address.phone))
            else:
                if address.webhook:
                    options.append(robot_kind(address.webhook))
                options += [("email", address.email), ("sms", address.phone)]
        for channel, where in options:
            if where and channel in self.channels:
                return channel, where
        return ("log", "-") if "log" in self.channels else None

    def _pick_sign_in(self, address: Address | None, via: object) -> tuple[str, str] | None:
        """Where an official's sign-in code goes: to the email or the phone they signed in with
        (``store.sessions.RosterPerson.via``), never to a webhook or a group robot, which others
        read; else the log, when on (the dev stack)."""
        if address is not None:
            channel, where = ("email", address.email) if via == "email" else ("sms", address.phone)
            if where and channel in self.channels:
                return channel, where
        return ("log", "-") if "log" in self.channels else None

    def _routes(self, n: Notification, address: Address | None) -> list[_Route] | str:
        household = n.recipient_role is RecipientRole.PETITIONER
        routes: list[_Route] = []
        if n.kind == SIGN_IN_CODE:
            picked = self._pick_sign_in(address, n.payload.get("via"))
        else:
            picked = self._pick(address, household=household)
        if picked is None:
            return f"no channel reaches {n.recipient_role.value} (no address in the directory)"
        routes.append(_Route(picked[0], picked[1], n.kind, str(n.id), {}))
        if n.kind == "deadline_missed" and n.recipient_role is RecipientRole.TIER_OFFICE:
            supervisor = address.supervisor if address is not None else None
            up = self._pick(supervisor, household=False) if supervisor is not None else None
            if up is not None:
                office = (address.office_id if address is not None else None) or n.recipient_id
                routes.append(
                    _Route(
                        up[0], up[1], "deadline_missed_supervisor", f"{n.id}-supervisor", {"office": office}
                    )
                )
        return routes

    async def _with_proofs(self, n: Notification, route: _Route) -> _Route:
        """The answer to a household carries its proofs (``petitionflow.proofs``): a reply code for
        answering by SMS ("回复48211") and a link to its petition's page. The code is the message's
        (by its event and recipient): a retried send carries the same one, a new answer a new one,
        which replaces it. A reply holds from the phone it is sent to as from the filing phone."""
        if self.proofs is None or n.kind != ANSWER_KIND or n.recipient_role is not RecipientRole.PETITIONER:
            return route
        issued = await issue_answer_proofs(
            self.pool,
            self.proofs.secret,
            n.petition_id,
            n.recipient_id,
            message_key=f"{n.petition_id}/{n.seq}/{n.recipient_id}",
            message_seq=n.seq,
            sent_to=route.address if route.channel == "sms" else None,
        )
        extra = {**route.extra, "link": self.proofs.link_base + issued.link_token}
        if issued.reply_code is not None:  # None: a later answer's SMS holds the code
            extra["reply_code"] = issued.reply_code
        return dataclasses.replace(route, extra=extra)

    def _message(self, n: Notification, route: _Route, now: datetime) -> Message:
        role = n.recipient_role.value
        language = self.config.languages.get(role, self.config.language)
        rendered = render(
            route.kind,
            language,
            petition_id=n.petition_id,
            facts=n.payload,
            now=now,
            timezone=self.config.timezone,
            extra=route.extra,
        )
        household = n.recipient_role is RecipientRole.PETITIONER
        return Message(
            id=n.id,
            key=route.key,
            petition_id=n.petition_id,
            kind=route.kind,
            recipient_role=role,
            recipient_id=n.recipient_id,
            language=language,
            subject=rendered.subject,
            text=rendered.text,
            payload=n.payload,
            sms_params=rendered.params,
            link=None if household else self.config.link_base + n.petition_id,
        )

    # ----------------------------------------------------------------------------- delivery

    def _plan(self, n: Notification, address: Address | None, now: datetime) -> list[_Route] | _Outcome:
        """The routes to send ``n`` by, or its outcome already (no channel reaches it; quiet hours)."""
        routes = self._routes(n, address)
        if isinstance(routes, str):
            return _Outcome("failed", error=routes)
        c = self.config
        for route in routes:
            if route.channel == "sms" and n.recipient_role is RecipientRole.PETITIONER:
                until = quiet_until(now, c.timezone, c.quiet_start, c.quiet_end)
                if until is not None:
                    return _Outcome("deferred", channel="sms", at=until)
        return routes

    async def _within_rates(
        self, plans: list[list[_Route] | _Outcome], now: datetime
    ) -> list[list[_Route] | _Outcome]:
        """Reserve the batch's sending slots of each rate-limited channel in one statement, shared
        with every other dispatcher (``store.rate_limits.take_slots``); a message that gets no slot
        of one of its channels is deferred to the end of that channel's window (not a try). Slots go
        in claim order, a message all of its routes' or none."""
        demand: dict[str, int] = {}
        for plan in plans:
            if not isinstance(plan, _Outcome):
                for route in plan:
                    if route.channel in self._slots_of:
                        demand[route.channel] = demand.get(route.channel, 0) + 1
        if not demand:
            return plans
        grants = await rate_limits.take_slots(self.pool, [(self._slots_of[c], k) for c, k in demand.items()])
        left = {g.channel: g.granted for g in grants}
        resets = {g.channel: g.resets_in for g in grants}
        planned: list[list[_Route] | _Outcome] = []
        for plan in plans:
            if isinstance(plan, _Outcome):
                planned.append(plan)
                continue
            need: dict[str, int] = {}
            for route in plan:
                if route.channel in self._slots_of:
                    need[route.channel] = need.get(route.channel, 0) + 1
            short = [c for c, k in need.items() if left.get(c, 0) < k]
            if short:  # over the channel's rate: come back when its window ends
                wait = max(resets.get(c, 1.0) for c in short)
                planned.append(
                    _Outcome("deferred", channel=plan[0].channel, at=now + timedelta(seconds=wait))
                )
                continue
            for c, k in need.items():
                left[c] -= k
            planned.append(plan)
        return planned

    async def _settle(self, n: Notification, plan: list[_Route] | _Outcome, now: datetime) -> _Outcome:
        return plan if isinstance(plan, _Outcome) else await self._deliver(n, plan, now)

    async def _deliver(self, n: Notification, routes: list[_Route], now: datetime) -> _Outcome:
        c = self.config
        worst: DeliveryError | None = None
        async with self._slots:
            for route in routes:
                route = await self._with_proofs(n, route)
                try:
                    message = self._message(n, route, now)
                except jinja2.TemplateError as error:  # no template for the kind, or a fact missing
                    worst = DeliveryError(
                        f"cannot render {route.kind}: {type(error).__name__}", permanent=True
                    )
                    continue
                try:
                    await self.channels[route.channel].send(message, route.address)
                except DeliveryError as error:
                    if worst is None or (error.permanent and not worst.permanent):
                        worst = error
                except Exception as error:  # a bug in a channel must not stop the others
                    worst = DeliveryError(f"{route.channel}: {type(error).__name__}", permanent=False)
        channel = routes[0].channel
        if worst is None:
            return _Outcome("delivered", channel=channel)
        since = n.retried_at or n.created_at
        if worst.permanent or now - since >= c.give_up_after:
            cause = worst.cause if worst.permanent else f"gave up after {c.give_up_after}: {worst.cause}"
            return _Outcome("failed", channel=channel, error=cause)
        wait = backoff(n.attempts + 1, c.backoff_initial, c.backoff_max, self._rng)
        return _Outcome("retry", channel=channel, error=worst.cause, at=now + wait)


class _suppress_timeout:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is TimeoutError

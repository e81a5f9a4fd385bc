"""Delivering the notifications outbox to people: webhooks, group robots, email, SMS and the log.

``Dispatcher`` claims from the outbox and delivers; ``NotifyConfig`` is its configuration (from
``PETITIONFLOW_NOTIFY_FILE``); ``run_dispatcher`` is what ``petitionflow notify`` and ``dev`` run.
"""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio.client import Client

from petitionflow.notify._config import NotifyConfig
from petitionflow.notify._dispatcher import AnswerProofing, Dispatcher
from petitionflow.notify._templates import kinds, render
from petitionflow.settings import Settings

__all__ = ["AnswerProofing", "Dispatcher", "NotifyConfig", "kinds", "render", "run_dispatcher"]


async def run_dispatcher(
    pool: asyncpg.Pool, client: Client | None, settings: Settings, stop: asyncio.Event | None = None
) -> None:
    """Run one dispatcher with the configuration ``settings.notify_file`` names until ``stop``."""
    base = (settings.public_base_url or "http://127.0.0.1:8000").rstrip("/")
    proofs = AnswerProofing(secret=settings.link_secret_value(), link_base=f"{base}/h/")
    dispatcher = Dispatcher(pool, NotifyConfig.load(settings.notify_file), client=client, proofs=proofs)
    try:
        await dispatcher.run(stop)
    finally:
        await dispatcher.aclose()

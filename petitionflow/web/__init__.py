"""The web pages: the public echo wall and dashboard, the officials' work queue (issue: web).

Rendered on the server (Jinja2) in zh-CN and English (Babel catalogs), plain forms with htmx on top,
charts as SVG drawn on the server. Mounted in the API's app by the CLI (``install``) so the two doors
stay independent: this package imports nothing of ``petitionflow.api``.
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from petitionflow.catalogue import Catalogue
from petitionflow.client import PetitionClient
from petitionflow.web import _auditor, _household, _officials, _public
from petitionflow.web._base import STATIC, Web, WebConfig

__all__ = ["WebConfig", "install", "warm"]


def install(
    app: FastAPI,
    *,
    pool: asyncpg.Pool,
    petitions: PetitionClient,
    config: WebConfig | None = None,
    catalogue: Catalogue | None = None,
) -> None:
    """Serve the pages from ``app``: ``/``, ``/wall/…``, ``/p/…``, ``/dashboard``, ``/signin``,
    ``/queue``, ``/o/…`` (officials' petition pages), ``/file``, ``/h/…`` (households' links),
    ``/audit/…`` and ``/static/…``."""
    app.state.web = Web(
        pool=pool, petitions=petitions, config=config or WebConfig(), catalogue=catalogue or Catalogue()
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (_public, _officials, _household, _auditor):
        app.include_router(module.router)


async def warm(app: FastAPI) -> None:
    """Count the dashboard's tables now, so the first visitor does not wait for the count (seconds
    at a million petitions). A failure is logged and left to the first request to retry."""
    try:
        await app.state.web.dashboard()
    except Exception as error:  # the database may still be starting: the pages count on demand
        structlog.get_logger("petitionflow.web").warning("dashboard_not_counted", error=repr(error))

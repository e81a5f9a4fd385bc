"""What every page needs: the configuration, the language and time zone, rendering, who is signed in."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from petitionflow.catalogue import Catalogue
from petitionflow.client import PetitionClient
from petitionflow.web._i18n import Speaker, negotiate
from schemas.common import Actor, Tier
from store import auth, offices, pages, queries, sessions
from store.models import FigureGroup

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "pf_session"
LANG_COOKIE = "lang"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""The pages load only their own files (htmx, the style sheet); charts are inline SVG."""


@dataclass(frozen=True)
class WebConfig:
    """How the pages behave; the CLI builds it from ``Settings``."""

    timezone: str = "Asia/Shanghai"
    link_secret: str | None = None
    """``PETITIONFLOW_LINK_SECRET``: verifies the households' signed links (none: links refused)."""
    link_max_age: timedelta = timedelta(days=30)
    secure_cookies: bool = False
    """Mark cookies ``Secure`` (the public base URL is https)."""
    session_ttl: timedelta = timedelta(hours=8)
    code_requests_per_window: int = 5
    """Sign-in codes one login (phone or email) may ask for, and codes one may try, per window."""
    throttle_seconds: float = 600.0
    county_id: str | None = None
    """The county whose echo wall the home page shows (none: every county the read models hold)."""
    dashboard_seconds: float = 60.0
    """The dashboard's tables (and the home page's headline) are counted at most this often per
    process: each count scans every stint, too slow to repeat per request at a million petitions."""


@dataclass
class Web:
    """The pages' clients and configuration, kept on ``app.state.web``."""

    pool: asyncpg.Pool
    petitions: PetitionClient
    config: WebConfig
    catalogue: Catalogue = field(default_factory=Catalogue)
    env: Environment = field(
        default_factory=lambda: Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )
    _names: dict[str, tuple[str, str]] | None = None
    _names_at: datetime | None = None
    _tables: dict[str, Any] | None = None
    _tables_at: datetime | None = None
    _tables_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _recount: asyncio.Task[None] | None = None

    async def dashboard(self) -> tuple[dict[str, Any], datetime]:
        """The dashboard's tables and when they were counted.

        Counted at most every ``dashboard_seconds``: the first request waits for the count; after
        that a request finding them older gets them as they are while one recount runs behind it.
        """
        if self._tables is None or self._tables_at is None:
            async with self._tables_lock:
                if self._tables is None:
                    await self._count()
        elif datetime.now(UTC) - self._tables_at >= timedelta(seconds=self.config.dashboard_seconds):
            if self.config.dashboard_seconds <= 0:
                await self._count()
            elif self._recount is None or self._recount.done():
                self._recount = asyncio.create_task(self._count())
        assert self._tables is not None and self._tables_at is not None
        return self._tables, self._tables_at

    async def _count(self) -> None:
        started = datetime.now(UTC)
        self._tables = {
            "tiers": await queries.figures(self.pool, FigureGroup.TIER),
            "regions": await queries.figures(self.pool, FigureGroup.REGION),
            "townships": await queries.figures(self.pool, FigureGroup.REGION, tier=Tier.TOWNSHIP),
            "counties": await queries.figures(self.pool, FigureGroup.REGION, tier=Tier.COUNTY),
            "months": await pages.monthly(self.pool, timezone=self.config.timezone),
            "league": await pages.league(self.pool, Tier.TOWNSHIP),
            "overdue": await pages.overdue_counts(self.pool),
            "offices": await queries.figures(self.pool, FigureGroup.OFFICE),
            "office_names": await offices.names(self.pool),
        }
        self._tables_at = started

    async def names(self) -> dict[str, tuple[str, str]]:
        """Region names of the current directory, read again at most once a minute."""
        now = datetime.now(UTC)
        if self._names is None or self._names_at is None or now - self._names_at > timedelta(minutes=1):
            self._names = await pages.region_names(self.pool)
            self._names_at = now
        return self._names


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


def speaker(request: Request) -> Speaker:
    config = web(request).config
    language = negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    return Speaker(language, config.timezone)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: nobody, or an actor from a session cookie or a bearer token."""

    actor: Actor | None = None
    csrf_token: str | None = None
    via: str | None = None
    """``session`` or ``token``."""


async def viewer(request: Request) -> Viewer:
    """The signed-in person: a bearer token (machines, tests) or the session cookie."""
    pool = web(request).pool
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = await auth.authenticate(pool, header[7:].strip())
        # A bearer token is not sent by a browser on its own: no cross-site forgery to guard against.
        return Viewer(actor, csrf_token=None, via="token") if actor is not None else Viewer()
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        found = await sessions.session(pool, secret)
        if found is not None:
            return Viewer(found.actor, found.csrf_token, via="session")
    return Viewer()


def csrf_ok(who: Viewer, given: str | None) -> bool:
    """A form post of a session must carry the session's CSRF token; a bearer token needs none."""
    if who.via == "token":
        return True
    return who.csrf_token is not None and given is not None and hmac.compare_digest(who.csrf_token, given)


async def render(
    request: Request, template: str, status: int = 200, *, who: Viewer | None = None, **context: Any
) -> HTMLResponse:
    """The page ``template`` in the viewer's language, with the pages' own security policy."""
    say = speaker(request)
    here = web(request)
    names = await here.names()

    def place(region_id: str | None) -> str:
        if not region_id:
            return ""
        zh, en = names.get(region_id, (region_id, region_id))
        return zh if say.language == "zh-CN" else en

    html = here.env.get_template(template).render(
        _=say.gettext,
        say=say,
        lang=say.language,
        path=request.url.path,
        query=str(request.url.query),
        who=who or Viewer(),
        place=place,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    response.headers["content-language"] = say.language
    if who is not None and who.actor is not None:
        response.headers["cache-control"] = "no-store"  # a signed-in page may hold personal data
    if request.query_params.get("lang") in ("zh-CN", "en"):
        response.set_cookie(
            LANG_COOKIE,
            say.language,
            max_age=365 * 86400,
            samesite="lax",
            secure=here.config.secure_cookies,
            httponly=True,
        )
    return response


def new_token() -> str:
    return secrets.token_urlsafe(16)

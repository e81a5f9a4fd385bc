"""CLI commands that give and take access: ``officials add/revoke`` and ``keys add/revoke``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from pydantic import ValidationError

from petitionflow.cli._support import database, explain_validation, fail, out, run
from schemas.common import Actor, Role, Tier
from store import auth

officials = typer.Typer(
    help="Bearer tokens for officials, contact cadres and auditors.", no_args_is_help=True
)
keys = typer.Typer(help="API keys for backend services (Open311 api_key, X-API-Key).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(officials, name="officials")
    app.add_typer(keys, name="keys")


@officials.command("add")
def add_official(
    person_id: Annotated[str, typer.Argument(help="The official's id.")],
    tier: Annotated[Tier | None, typer.Option(help="The tier they act for (not for auditors).")] = None,
    region: Annotated[str | None, typer.Option(help="The region they serve at that tier.")] = None,
    role: Annotated[Role, typer.Option(help="official, contact_cadre or auditor.")] = Role.OFFICIAL,
    days: Annotated[int | None, typer.Option(min=1, help="The token expires after this many days.")] = None,
) -> None:
    """Issue a token; it is printed once, as the last line, and stored only as a hash."""
    try:
        actor = Actor(role=role, id=person_id, tier=tier, region_id=region)
    except ValidationError as error:
        fail("invalid official\n" + explain_validation(error))
    if role not in (Role.OFFICIAL, Role.CONTACT_CADRE, Role.AUDITOR):
        fail(f"a {role.value} holds no token: use official, contact_cadre or auditor")
    expires_at = datetime.now(UTC) + timedelta(days=days) if days else None

    async def go() -> str:
        async with database() as pool:
            return await auth.issue_token(pool, actor, expires_at=expires_at)

    token = run(go)
    where = f" at the {tier} tier of {region}" if tier else ""
    out.print(
        f"token for {role.value} {person_id}{where}"
        + (f", expires {expires_at:%Y-%m-%d}" if expires_at else "")
    )
    print(token)


@officials.command("revoke")
def revoke_official(person_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke every token the person holds."""

    async def go() -> int:
        async with database() as pool:
            return await auth.revoke_token(pool, person_id)

    revoked = run(go)
    if revoked == 0:
        fail(f"{person_id} holds no live token")
    out.print(f"revoked {revoked} token(s) of {person_id}")


@keys.command("add")
def add_key(
    name: Annotated[str, typer.Argument(help="The calling service's name.")],
    tier: Annotated[
        Tier, typer.Option(help="The tier its petitions are filed at (a filing cannot choose another).")
    ] = Tier.VILLAGE,
    callback: Annotated[
        bool,
        typer.Option(
            "--callback",
            help="Its operators may record a petitioner's answer given on a hotline callback (回访).",
        ),
    ] = False,
) -> None:
    """Issue an API key for a service; it is printed once, as the last line."""

    async def go() -> str:
        async with database() as pool:
            return await auth.issue_api_key(pool, name, tier=tier, callback=callback)

    key = run(go)
    holds = ", with the callback permission" if callback else ""
    out.print(f"API key for service {name}, filing at the {tier.value} tier{holds}")
    print(key)


@keys.command("revoke")
def revoke_key(name: Annotated[str, typer.Argument()]) -> None:
    """Revoke every key of the service."""

    async def go() -> int:
        async with database() as pool:
            return await auth.revoke_api_key(pool, name)

    revoked = run(go)
    if revoked == 0:
        fail(f"service {name} holds no live key")
    out.print(f"revoked {revoked} key(s) of {name}")

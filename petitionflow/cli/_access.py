"""CLI commands that give and take access: ``officials add/revoke`` and ``keys add/revoke``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from pydantic import ValidationError

from petitionflow.cli._support import database, explain_validation, fail, out, run
from schemas.common import Actor, Role, Tier
from schemas.directory import OfficeKind
from store import auth, offices
from store._db import Db

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
    office: Annotated[
        str | None,
        typer.Option(
            help="The office they serve when it is not their region's government (a department, a centre);"
            " its tier and region come from the directory."
        ),
    ] = None,
) -> None:
    """Issue a token; it is printed once, as the last line, and stored only as a hash."""
    if role not in (Role.OFFICIAL, Role.CONTACT_CADRE, Role.AUDITOR):
        fail(f"a {role.value} holds no token: use official, contact_cadre or auditor")
    expires_at = datetime.now(UTC) + timedelta(days=days) if days else None

    async def go() -> tuple[str, Actor]:
        async with database() as pool:
            actor = await _official(pool, person_id, role, tier, region, office)
            return await auth.issue_token(pool, actor, expires_at=expires_at), actor

    token, actor = run(go)
    tier, region = actor.tier, actor.region_id
    where = f" at the {tier} tier of {region}" if tier else ""
    where += f" for office {actor.office_id}" if actor.office_id else ""
    out.print(
        f"token for {role.value} {person_id}{where}"
        + (f", expires {expires_at:%Y-%m-%d}" if expires_at else "")
    )
    print(token)


async def _official(
    pool: Db, person_id: str, role: Role, tier: Tier | None, region: str | None, office_id: str | None
) -> Actor:
    """The actor a token is issued to; an ``--office`` the directory holds gives the tier and region."""
    if office_id is not None:
        try:
            found, _ = await offices.office(pool, office_id)
        except offices.UnknownOffice:
            if tier is None or region is None:
                fail(f"no office {office_id} in the directory: give its --tier and --region")
        else:
            if (tier, region) not in ((None, None), (found.tier, found.region_id)):
                fail(
                    f"office {office_id} is of the {found.tier} tier of {found.region_id};"
                    " leave --tier and --region out"
                )
            tier, region = found.tier, found.region_id
            if found.kind is OfficeKind.TERRITORIAL:
                office_id = None  # a government's officials are known by their tier and region
    try:
        return Actor(role=role, id=person_id, tier=tier, region_id=region, office_id=office_id)
    except ValidationError as error:
        fail("invalid official\n" + explain_validation(error))


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
    centre: Annotated[
        str | None,
        typer.Option(
            help="A centre (a directory office of kind centre): petitions filed with this key wait in"
            " stage dispatch, held by it. Files at the centre's tier."
        ),
    ] = None,
) -> None:
    """Issue an API key for a service; it is printed once, as the last line."""

    async def go() -> tuple[str, Tier]:
        async with database() as pool:
            at = tier
            if centre is not None:
                try:
                    found, _ = await offices.office(pool, centre)
                except offices.UnknownOffice:
                    pass  # no directory (or not in it): a centre of the --tier, serving the petition's region
                else:
                    if found.kind is not OfficeKind.CENTRE:
                        fail(f"office {centre} is a {found.kind} office, not a centre")
                    at = found.tier
            return await auth.issue_api_key(pool, name, tier=at, centre_id=centre), at

    key, at = run(go)
    bound = f", held first by centre {centre}" if centre else ""
    out.print(f"API key for service {name}, filing at the {at.value} tier{bound}")
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

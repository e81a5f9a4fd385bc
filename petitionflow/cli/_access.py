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
    tier: Annotated[
        Tier | None, typer.Option(help="The tier they act for (the roster's, once a directory is imported).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="The region they serve at that tier (likewise the roster's).")
    ] = None,
    role: Annotated[
        Role | None,
        typer.Option(help="official, contact_cadre or auditor (default: the roster's, else official)."),
    ] = None,
    days: Annotated[int | None, typer.Option(min=1, help="The token expires after this many days.")] = None,
    office: Annotated[
        str | None,
        typer.Option(
            help="The office they serve when it is not their region's government (a department, a centre);"
            " its tier and region come from the directory."
        ),
    ] = None,
) -> None:
    """Issue a token; it is printed once, as the last line, and stored only as a hash.

    Once a directory is imported, officials and contact cadres must be in its roster: their role,
    tier and region are the roster's (an office's tier and region); --tier, --region and --role may
    be left out, and must agree when given. --office names a department or a centre the official
    serves instead of their region's government."""
    if role is not None and role not in (Role.OFFICIAL, Role.CONTACT_CADRE, Role.AUDITOR):
        fail(f"a {role.value} holds no token: use official, contact_cadre or auditor")
    expires_at = datetime.now(UTC) + timedelta(days=days) if days else None

    async def go() -> tuple[Actor, str | None, str]:
        async with database() as pool:
            if office is not None:
                actor = await _official(pool, person_id, role or Role.OFFICIAL, tier, region, office)
                listed_office = None
            else:
                listed = None if role is Role.AUDITOR else await _listed(pool, person_id)
                actor = _actor(person_id, role, tier, region, listed)
                listed_office = None if listed is None else listed[1]
            try:
                token = await auth.issue_token(pool, actor, expires_at=expires_at)
            except auth.NotInRoster as refused:
                fail(str(refused))
            return actor, listed_office, token

    actor, roster_office, token = run(go)
    where = f" at the {actor.tier} tier of {actor.region_id}" if actor.tier else ""
    where += f" for office {actor.office_id}" if actor.office_id else ""
    out.print(
        f"token for {actor.role.value} {person_id}{where}"
        + (f" (office {roster_office}, from the directory's roster)" if roster_office else "")
        + (f", expires {expires_at:%Y-%m-%d}" if expires_at else "")
    )
    print(token)


async def _listed(pool: Db, person_id: str) -> tuple[Actor, str] | None:
    try:
        return await auth.roster_actor(pool, person_id)
    except auth.NotInRoster as refused:
        fail(str(refused))


def _actor(
    person_id: str,
    role: Role | None,
    tier: Tier | None,
    region: str | None,
    listed: tuple[Actor, str] | None,
) -> Actor:
    """The actor the token fixes: the roster's (the options must agree), or the options'."""
    if listed is not None:
        actor, office = listed
        given = {
            "--role": (role, actor.role),
            "--tier": (tier, actor.tier),
            "--region": (region, actor.region_id),
        }
        for option, (value, roster) in given.items():
            if value is not None and value != roster:
                fail(
                    f"the roster lists {person_id} as {actor.role.value} of office {office} "
                    f"({actor.tier} {actor.region_id}): {option} {value} disagrees"
                )
        return actor
    try:
        return Actor(role=role or Role.OFFICIAL, id=person_id, tier=tier, region_id=region)
    except ValidationError as error:
        fail("invalid official\n" + explain_validation(error))


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
    callback: Annotated[
        bool,
        typer.Option(
            "--callback",
            help="Its operators may record a petitioner's answer given on a hotline callback (回访).",
        ),
    ] = False,
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
            key = await auth.issue_api_key(pool, name, tier=at, callback=callback, centre_id=centre)
            return key, at

    key, at = run(go)
    holds = ", with the callback permission" if callback else ""
    bound = f", held first by centre {centre}" if centre else ""
    out.print(f"API key for service {name}, filing at the {at.value} tier{holds}{bound}")
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

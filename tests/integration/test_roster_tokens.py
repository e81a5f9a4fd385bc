"""Tokens only for people in the roster, with the tier and region of their office, once a directory
is imported; before that, as before (anyone may be named)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from schemas.common import Actor, Role, Tier
from store import auth
from tests import directory
from tests.directory import DONGSHAN, TOWNSHIP

PETITIONFLOW = str(Path(sys.executable).parent / "petitionflow")


async def test_without_a_directory_anyone_may_be_named(pool: asyncpg.Pool) -> None:
    actor = Actor.official("anyone", Tier.COUNTY, "c-anywhere")
    token = await auth.issue_token(pool, actor)
    assert await auth.authenticate(pool, token) == actor
    assert await auth.roster_actor(pool, "anyone") is None


async def test_the_roster_gives_the_role_tier_and_region_of_the_office(pool: asyncpg.Pool) -> None:
    await directory.insert(pool, 1)

    official, office = await auth.roster_actor(pool, "wu-township") or (None, None)
    cadre, _ = await auth.roster_actor(pool, "cadre-zhang") or (None, None)

    assert (official, office) == (Actor.official("wu-township", Tier.TOWNSHIP, TOWNSHIP), f"o-{TOWNSHIP}")
    assert cadre == Actor(role=Role.CONTACT_CADRE, id="cadre-zhang", tier=Tier.VILLAGE, region_id=DONGSHAN)
    assert official is not None
    assert await auth.authenticate(pool, await auth.issue_token(pool, official)) == official


async def test_a_token_for_someone_not_in_the_roster_or_not_as_listed_is_refused(pool: asyncpg.Pool) -> None:
    await directory.insert(pool, 1)

    with pytest.raises(auth.NotInRoster, match="impostor is not in the roster of directory version 1"):
        await auth.issue_token(pool, Actor.official("impostor", Tier.VILLAGE, DONGSHAN))
    with pytest.raises(
        auth.NotInRoster,
        match=r"the roster lists wu-township as official of office o-t-xiazhuang \(township t-xiazhuang\), "
        "not as official of county c-yishui",
    ):
        await auth.issue_token(pool, Actor.official("wu-township", Tier.COUNTY, directory.COUNTY))
    auditor = Actor(role=Role.AUDITOR, id="auditor-1")  # auditors are not officials of the grid
    assert await auth.authenticate(pool, await auth.issue_token(pool, auditor)) == auditor
    assert await pool.fetchval("SELECT count(*) FROM access_tokens") == 1


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETITIONFLOW_")}
    env["PETITIONFLOW_DATABASE_URL"] = database_url
    return subprocess.run([PETITIONFLOW, *args], env=env, capture_output=True, text=True, timeout=60)


async def test_officials_add_takes_the_roster_and_refuses_the_rest(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await directory.insert(pool, 1)

    listed = _cli(database_url, "officials", "add", "li-village")
    stranger = _cli(database_url, "officials", "add", "stranger", "--tier", "village", "--region", DONGSHAN)
    elsewhere = _cli(database_url, "officials", "add", "li-village", "--tier", "township")

    assert listed.returncode == 0, listed.stderr
    assert " ".join(listed.stdout.split()).startswith(
        f"token for official li-village at the village tier of {DONGSHAN} (office o-{DONGSHAN}, from the"
    )
    token = listed.stdout.strip().splitlines()[-1]
    assert await auth.authenticate(pool, token) == Actor.official("li-village", Tier.VILLAGE, DONGSHAN)
    assert stranger.returncode == 2
    assert "stranger is not in the roster of directory version 1" in " ".join(stranger.stderr.split())
    assert elsewhere.returncode == 2
    assert "--tier township disagrees" in " ".join(elsewhere.stderr.split())
    assert await pool.fetchval("SELECT count(*) FROM access_tokens") == 1


async def test_an_official_who_moves_office_loses_the_old_token_and_gets_the_new_office(
    pool: asyncpg.Pool,
) -> None:
    await directory.insert(pool, 1)
    village_token = await auth.issue_token(pool, Actor.official("li-village", Tier.VILLAGE, DONGSHAN))
    cadre_token = await auth.issue_token(pool, Actor.contact_cadre("cadre-zhang", DONGSHAN))
    moved = directory.Directory()
    moved.people["li-village"] = ("official", f"o-{TOWNSHIP}")  # promoted to the township government
    await directory.insert(pool, 2, moved)

    revoked = await auth.revoke_unlisted_tokens(pool)
    found = await auth.roster_actor(pool, "li-village")

    assert revoked == ["li-village"]
    assert await auth.authenticate(pool, village_token) is None
    assert await auth.authenticate(pool, cadre_token) is not None  # still listed as it was
    assert found is not None and found[0] == Actor.official("li-village", Tier.TOWNSHIP, TOWNSHIP)
    assert await auth.revoke_unlisted_tokens(pool) == []

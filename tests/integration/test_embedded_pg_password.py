"""The dev PostgreSQL asks for a password (issue 10, item 9): generated per cluster, kept in its
data folder for the owner only, and known to ``url()`` and to the CLI's settings."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncpg
import pytest

from petitionflow.dev.embedded_pg import EmbeddedPostgres, free_port
from petitionflow.settings import DEV_PASSWORD_FILE as PASSWORD_FILE
from petitionflow.settings import Settings


async def _who(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SELECT current_user"))
    finally:
        await conn.close()


async def test_a_new_cluster_refuses_a_connection_without_its_generated_password(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "data", port=free_port()) as server:
        password = server.password
        assert password is not None and len(password) >= 32
        kept = tmp_path / "data" / PASSWORD_FILE
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert server.url("postgres") == f"postgresql://postgres:{password}@127.0.0.1:{server.port}/postgres"

        with pytest.raises(asyncpg.InvalidPasswordError):
            await _who(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")
        with pytest.raises(asyncpg.InvalidPasswordError):
            await _who(f"postgresql://postgres:petitionflow@127.0.0.1:{server.port}/postgres")
        assert await _who(server.url("postgres")) == "postgres"
        hba = (tmp_path / "data" / "pg_hba.conf").read_text()
        assert "trust" not in [line.split()[-1] for line in hba.splitlines() if line and line[0] != "#"]


async def test_a_cluster_made_with_trust_is_given_a_password_on_start(tmp_path: Path) -> None:
    """A dev folder from before passwords: started again, it stops trusting."""
    server = EmbeddedPostgres(tmp_path / "data", port=free_port())
    server.data_dir.mkdir()
    server._hand_over(server.data_dir)
    server._run(  # what init() did before
        "initdb",
        ["-D", str(server.data_dir), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
    )
    assert server.password is None

    with server:
        assert server.password is not None
        with pytest.raises(asyncpg.InvalidPasswordError):
            await _who(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")
        assert await _who(server.url("postgres")) == "postgres"


def test_the_cli_finds_the_dev_stack_s_password(tmp_path: Path) -> None:
    (tmp_path / "postgres").mkdir()
    assert Settings(data_dir=tmp_path).database() == "postgresql://postgres@127.0.0.1:55432/petitionflow"
    (tmp_path / "postgres" / PASSWORD_FILE).write_text("s3cret\n")

    assert (
        Settings(data_dir=tmp_path).database() == "postgresql://postgres:s3cret@127.0.0.1:55432/petitionflow"
    )
    assert Settings(data_dir=tmp_path, database_url="postgresql://x@y/z").database() == "postgresql://x@y/z"

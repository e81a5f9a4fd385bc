"""The embedded PostgreSQL manager: a real server started, stopped and restarted on its own folder."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest

from petitionflow.dev.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError, free_port


async def _scalar(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_restart_on_the_same_folder_keeps_the_data(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "data", port=free_port())
    with server:
        assert server.is_running()
        assert server.create_database("keep") is True
        assert server.create_database("keep") is False
        conn = await asyncpg.connect(server.url("keep"))
        await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        await conn.close()
    assert not server.is_running()

    again = EmbeddedPostgres(tmp_path / "data", port=free_port())
    with again:
        assert again.is_running()
        assert await _scalar(again.url("keep"), "SELECT n FROM kept") == 42
    assert not again.is_running()


def test_start_on_a_taken_port_fails_with_the_server_log(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = EmbeddedPostgres(tmp_path / "data", port=port)
        with pytest.raises(EmbeddedPostgresError) as raised:
            server.start()
    message = str(raised.value)
    assert message.startswith(f"PostgreSQL did not start on 127.0.0.1:{port}")
    assert "Address already in use" in message
    assert not server.is_running()


def test_stop_and_is_running_on_a_folder_never_started(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "nothing", port=free_port())
    assert server.is_running() is False
    server.stop()
    assert not (tmp_path / "nothing").exists()


def test_database_names_are_plain_identifiers(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "data", port=free_port())
    with pytest.raises(ValueError, match="not a plain database name"):
        server.create_database('x"; DROP DATABASE postgres; --')


def test_urls_point_at_the_tcp_port(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "data", port=54321)
    assert server.dsn == "postgresql://postgres@127.0.0.1:54321/postgres"
    assert server.url("app") == "postgresql://postgres@127.0.0.1:54321/app"

"""What every CLI command shares: connections, output in tables or JSON, and exit codes."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn, TypeVar

import asyncpg
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.service import RPCError, RPCStatusCode

import worker
from petitionflow.client import PetitionClient, Refusal
from petitionflow.policy import PolicyFileError, deployment_policy
from petitionflow.settings import Settings
from schemas.policy import Policy

EXIT_REFUSED = 1
"""The rules refused the action; the reason is printed."""
EXIT_BAD_INPUT = 2
"""The input was malformed, named something that does not exist, or a server could not be reached."""

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def policy_in_force(settings: Settings | None = None) -> Policy:
    """The deployment's policy (``PETITIONFLOW_POLICY_FILE``, or the defaults); a bad file stops the
    command here with the key, the reason and exit code 2."""
    try:
        return deployment_policy((settings or Settings()).policy_file)
    except PolicyFileError as error:
        fail(str(error))


def explain_validation(error: ValidationError) -> str:
    """Each problem as ``field.path: reason``, one per line."""
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "input"
        lines.append(f"{where}: {problem['msg']}")
    return "\n".join(lines)


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` and turn the ways it can fail into messages and exit codes."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except Refusal as refusal:
        fail(f"refused ({refusal.code.value}): {refusal.reason}", EXIT_REFUSED)
    except ValidationError as error:
        fail("invalid input\n" + explain_validation(error))
    except worker.ConfigurationError as error:
        fail(str(error))
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            fail(f"not found in Temporal: {error.message}")
        fail(f"Temporal answered: {error.message}")
    except (OSError, asyncpg.PostgresError) as error:
        fail(
            f"cannot reach the engine ({error}); is `petitionflow dev` running, or are "
            "PETITIONFLOW_TEMPORAL_ADDRESS / PETITIONFLOW_DATABASE_URL set?"
        )


@asynccontextmanager
async def petitions(*, read_model: bool = False) -> AsyncIterator[PetitionClient]:
    """A client on the configured (or dev stack's) Temporal and, when asked, PostgreSQL."""
    settings = Settings()
    if not read_model:
        client = await worker.connect_with(settings)
        yield PetitionClient(client, task_queue=settings.task_queue)
        return
    async with worker.connected(settings, pool_size=2) as connections:
        yield PetitionClient(connections.client, pool=connections.pool, task_queue=settings.task_queue)


@asynccontextmanager
async def database(*, max_size: int = 2) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the configured (or dev stack's) event log, without Temporal."""
    async with asyncpg.create_pool(Settings().database(), min_size=1, max_size=max_size) as pool:
        yield pool


def emit_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    if isinstance(value, BaseModel):
        data: Any = value.model_dump(mode="json")
    elif isinstance(value, dict):
        data = value
    else:
        data = [item.model_dump(mode="json") for item in value]
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    out.print(grid)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"

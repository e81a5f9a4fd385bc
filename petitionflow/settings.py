"""Settings from ``PETITIONFLOW_*`` environment variables."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_TEMPORAL_ADDRESS = "127.0.0.1:7233"
DEV_DATABASE_URL = "postgresql://postgres@127.0.0.1:55432/petitionflow"
"""Where ``petitionflow dev`` serves with its default ports: other commands look there when unset."""
DEV_KEY_FILE = "dev-keys.json"
DEV_PSEUDONYM_FILE = "dev-pseudonym-secret"
"""What ``petitionflow dev`` generates in its data folder (never in the repository) when neither a
key file nor a pseudonym secret is configured; other commands on the dev stack find them there."""


DEV_LINK_SECRET_FILE = "link.secret"
"""In ``data_dir``: the link secret generated when ``PETITIONFLOW_LINK_SECRET`` is unset (owner-only)."""

DEV_PASSWORD_FILE = "petitionflow.password"
"""In an embedded PostgreSQL's data folder: the superuser's generated password (owner-only)."""


def dev_password(data_dir: Path) -> str | None:
    """The superuser password an embedded PostgreSQL keeps in ``data_dir``, or None (no cluster)."""
    try:
        return (Path(data_dir) / DEV_PASSWORD_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


class Settings(BaseSettings):
    """Where the engine finds Temporal and PostgreSQL. Unset addresses mean the embedded stack."""

    model_config = SettingsConfigDict(env_prefix="PETITIONFLOW_", extra="ignore")

    temporal_address: str | None = None
    """host:port of a Temporal frontend; unset runs the embedded dev server."""
    namespace: str = "default"
    task_queue: str = "petitions"
    database_url: str | None = None
    """postgresql:// URL; unset runs the embedded PostgreSQL."""
    data_dir: Path = Path(".data")
    """Where the embedded stack keeps Temporal's SQLite file and PostgreSQL's data."""
    log_format: Literal["console", "json"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_cached_workflows: int = 10_000
    max_concurrent_activities: int = 100
    workflow_sandbox: bool = False
    """Run workflow code in the SDK's sandbox (see ``worker.build_worker``): tests always do."""
    db_pool_size: int = 10
    rate_limit_enabled: bool = True
    rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    """The window every rate limit counts in (``petitionflow/api/limits.py``)."""
    rate_limit_per_address: int = Field(default=300, ge=1)
    """Requests per window without a valid API key or token, from one client address as uvicorn
    reports it: ``X-Forwarded-For``'s when the peer is a trusted proxy (``FORWARDED_ALLOW_IPS``,
    default 127.0.0.1 and ::1)."""
    rate_limit_per_api_key: int = Field(default=1200, ge=1)
    """Requests per window presenting one API key (``X-API-Key`` or Open311's ``api_key``)."""
    rate_limit_per_token: int = Field(default=300, ge=1)
    """Requests per window presenting one bearer token."""
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    """Request bodies larger than this are answered 413 before anything reads them."""
    public_base_url: str | None = None
    """Where clients reach the API (scheme, host, port): the Open311 discovery URLs are built from
    it, never from the request's ``Host``; unset, the address the API listens on. An ``https://``
    one turns HSTS on."""
    hsts: bool = False
    """Send ``Strict-Transport-Security`` even when ``public_base_url`` is not ``https://``."""
    open311_crs: Literal["wgs84", "gcj02", "bd09"] = "gcj02"
    """The coordinate system of an Open311 request's lat/long when it sends no ``attribute[crs]``:
    GCJ-02, what maps and apps in China give (Amap, Tencent, WeChat); BD-09 is Baidu's."""
    open311_nearest_metres: float = 200.0
    """How far outside every village boundary an Open311 point may fall and still go to the nearest
    village, in metres on the ground."""
    policy_file: Path | None = None
    """The deployment's policy (TOML, ``petitionflow/policy.py``); unset: the built-in defaults.
    Read and checked when a process starts: a bad file stops it (exit code 2)."""

    notify_file: Path | None = None
    """A TOML file of the notification channels and their credentials (``petitionflow notify``)."""

    link_secret: SecretStr | None = None
    """Signs petitioners' link tokens and keys their reply codes' HMACs; every API process of a
    deployment needs the same one. Unset: one is generated into ``data_dir/link.secret``."""
    link_max_age_days: float = Field(default=30.0, gt=0)
    """How long a petitioner's link token holds."""
    petitioner_guesses: int = Field(default=10, ge=1)
    """Attempts to prove a petitioner (link token, reply code) per petition or phone, per window."""
    petitioner_guess_window_seconds: float = Field(default=900.0, gt=0)

    def link_secret_value(self) -> str:
        """The configured link secret, or the one kept in (and, the first time, generated into)
        ``data_dir/link.secret``, readable by its owner only."""
        if self.link_secret is not None and self.link_secret.get_secret_value():
            return self.link_secret.get_secret_value()
        path = self.data_dir / DEV_LINK_SECRET_FILE
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(32)
        with path.open("x") as handle:
            path.chmod(0o600)
            handle.write(secret)
        return secret

    key_file: Path | None = None
    """A JSON key file (``petitionflow encryption generate``): payloads in Temporal are encrypted with
    its primary key and decrypted with any key it lists (``petitionflow.codec``). Unset, with
    ``keys`` unset too: payloads travel in clear."""
    keys: SecretStr | None = None
    """The key file's JSON text itself, for deployments that pass secrets in the environment."""
    codec_cors_origin: str = "http://127.0.0.1:8233"
    """The one origin (the Temporal Web UI's) allowed to call ``/codec/encode`` and ``/codec/decode``."""
    pseudonym_secret: SecretStr | None = None
    """The HMAC key of Open311 pseudonyms (``o311-…``); ``petitionflow dev`` keeps one in ``.data/``."""
    temporal_tls_ca: Path | None = None
    """PEM file of the CA that signed the Temporal frontend's certificate: setting it turns TLS on."""
    temporal_tls_cert: Path | None = None
    """PEM client certificate for mTLS (with ``temporal_tls_key``)."""
    temporal_tls_key: Path | None = None
    """PEM private key of the client certificate."""
    temporal_tls_server_name: str | None = None
    """The name to check the frontend's certificate against, when it is not the address's host."""

    timezone: str = "Asia/Shanghai"
    """The time zone the web pages show dates in, and count the dashboard's months in."""
    web_session_hours: float = Field(default=8.0, gt=0)
    """How long an official's web session lasts after signing in with a one-time code."""
    checkpoint_key_file: Path | None = None
    """The deployment's private key that signs the audit's checkpoints (PEM, Ed25519; write one with
    ``petitionflow audit keygen``). Unset: ``data_dir/checkpoint-key.pem``, which ``petitionflow dev``
    generates when missing."""

    def checkpoint_key(self) -> Path:
        """The checkpoint signing key's file: the configured one, or the dev stack's."""
        return self.checkpoint_key_file or self.data_dir / "checkpoint-key.pem"

    def temporal(self) -> str:
        """The Temporal frontend to talk to: the configured one, or the dev stack's."""
        return self.temporal_address or DEV_TEMPORAL_ADDRESS

    def payload_key_file(self) -> Path | None:
        """The key file to encrypt payloads with: the configured one, or, on the dev stack (no
        Temporal address, no ``keys``), the one ``petitionflow dev`` generated, if it did."""
        if self.key_file is not None or self.keys is not None or self.temporal_address is not None:
            return self.key_file
        dev = self.data_dir / DEV_KEY_FILE
        return dev if dev.is_file() else None

    def database(self) -> str:
        """The event log's database: the configured one, or the dev stack's (with the password
        ``petitionflow dev`` generated into ``data_dir``)."""
        if self.database_url:
            return self.database_url
        password = dev_password(self.data_dir / "postgres")  # the dev stack's PostgreSQL folder
        return DEV_DATABASE_URL if password is None else DEV_DATABASE_URL.replace("@", f":{password}@", 1)

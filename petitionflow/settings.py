"""Settings from ``PETITIONFLOW_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_TEMPORAL_ADDRESS = "127.0.0.1:7233"
DEV_DATABASE_URL = "postgresql://postgres@127.0.0.1:55432/petitionflow"
"""Where ``petitionflow dev`` serves with its default ports: other commands look there when unset."""


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
    notify_file: Path | None = None
    """A TOML file of the notification channels and their credentials (``petitionflow notify``)."""

    def temporal(self) -> str:
        """The Temporal frontend to talk to: the configured one, or the dev stack's."""
        return self.temporal_address or DEV_TEMPORAL_ADDRESS

    def database(self) -> str:
        """The event log's database: the configured one, or the dev stack's."""
        return self.database_url or DEV_DATABASE_URL

"""Settings from ``PETITIONFLOW_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


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
    db_pool_size: int = 10

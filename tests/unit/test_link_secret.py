"""The link secret: the configured one, else one generated once into the data folder, owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import SecretStr

from petitionflow.settings import DEV_LINK_SECRET_FILE, Settings


def test_an_unset_link_secret_is_generated_once_and_kept_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    first = settings.link_secret_value()
    again = Settings(data_dir=tmp_path / "data").link_secret_value()

    path = tmp_path / "data" / DEV_LINK_SECRET_FILE
    assert first == again == path.read_text()
    assert len(first) >= 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_configured_link_secret_wins_and_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, link_secret=SecretStr("from-the-environment"))

    assert settings.link_secret_value() == "from-the-environment"
    assert not (tmp_path / DEV_LINK_SECRET_FILE).exists()
    assert "from-the-environment" not in repr(settings)

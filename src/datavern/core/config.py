"""Settings from the environment (``DATAVERN_*``); the embedded default needs none."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATAVERN_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".datavern"),
        description="Folder for the embedded SQLite database, secrets and generated files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means SQLite in DATA_DIR/datavern.db.",
    )
    jobs: Literal["inline", "celery"] = "inline"
    secret_key: str | None = Field(
        default=None,
        description="Signs sessions and links; unset means a key kept in DATA_DIR/secret.key.",
    )
    register_path: Path | None = Field(
        default=None, description="Default register file or folder for CLI commands."
    )
    base_url: str = "http://127.0.0.1:8000"
    https_only: bool = Field(default=False, description="Mark cookies Secure (behind HTTPS).")
    actor: str | None = Field(
        default=None, description="Who is acting, recorded in the audit log (default: OS user)."
    )

    _file_key: str | None = PrivateAttr(default=None)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'datavern.db').resolve()}"

    def effective_secret_key(self) -> str:
        """DATAVERN_SECRET_KEY, or the key in DATA_DIR/secret.key (made on first use).
        The file is read once per Settings: every keyed hash of a request would
        otherwise read it from disk (a new key file means restarting, as a new
        DATAVERN_SECRET_KEY does)."""
        if self.secret_key:
            return self.secret_key
        if self._file_key is None:
            self._file_key = self._read_or_make_key()
        return self._file_key

    def _read_or_make_key(self) -> str:
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()

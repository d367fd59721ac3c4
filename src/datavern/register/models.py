"""Applied register versions: immutable, hashed, each one a notice version too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavern.core.db import Base, UTCDateTime


class RegisterVersion(Base):
    __tablename__ = "register_versions"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # Register.model_dump(mode="json")
    source: Mapped[dict[str, str]] = mapped_column(JSON)  # file name -> YAML text as applied
    applied_by: Mapped[str] = mapped_column(String(200))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # changes from the previous version
    message: Mapped[str | None] = mapped_column(Text, nullable=True)

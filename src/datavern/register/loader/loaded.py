"""A loaded register: the validated model, its files and where each node was written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from datavern.core.errors import Location
from datavern.register.schema import Register

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedRegister:
    register: Register
    root: Path
    files: dict[str, str]
    content_hash: str
    positions: Mapping[PathKey, Location] = field(default_factory=dict, repr=False, compare=False)

    def where(self, path: tuple[str | int, ...]) -> Location | None:
        return nearest(self.positions, tuple(path))


def content_hash(register: Register) -> str:
    canonical = json.dumps(
        register.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def nearest(positions: Mapping[PathKey, Location], path: PathKey) -> Location | None:
    while True:
        if path in positions:
            return positions[path]
        if not path:
            return None
        path = path[:-1]

"""How much a register may hold, and how sizes are written in messages."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much a register may hold; generous for real registers, tight for attacks."""

    max_file_bytes: int = 5 * MB
    max_total_bytes: int = 20 * MB
    max_files: int = 200
    max_depth: int = 64
    max_nodes: int = 500_000


DEFAULT_LIMITS = Limits()


def size_text(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB // 10 else f"{n} bytes"

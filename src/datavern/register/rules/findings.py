"""What a rule is and what it finds: severities, rules, findings and their paths."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

Path = tuple[str | int, ...]


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe; used to sort and to compare with ``--fail-on``."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


@dataclass(frozen=True)
class Rule:
    id: str
    slug: str
    severity: Severity
    legal_source: str
    title: str
    fix: str


@dataclass(frozen=True)
class Finding:
    rule: Rule
    message: str
    path: Path
    fix: str

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def slug(self) -> str:
        return self.rule.slug

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def legal_source(self) -> str:
        return self.rule.legal_source

    def sort_key(self) -> tuple[int, str, tuple[tuple[int, int, str], ...], str]:
        return (self.severity.rank, self.rule.id, path_sort_key(self.path), self.message)


def path_sort_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    """Integers and strings in one path sort without comparing int to str."""
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path)


def path_str(path: Path) -> str:
    """``("systems", 0, "processing", 1)`` -> ``systems[0].processing[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out

"""Errors a user sees. Each names what is wrong and where; none carries personal data."""

from __future__ import annotations

from dataclasses import dataclass


class DatavernError(Exception):
    """Base for errors reported to the user without a traceback."""

    exit_code = 1


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with where it is."""

    message: str
    location: Location | None = None
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.message}"


class InvalidInput(DatavernError):
    """Input that cannot be used; carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NotFound(DatavernError):
    exit_code = 2

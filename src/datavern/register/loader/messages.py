"""Wording shared by the loader's problems: kinds of values, unknown keys, paths."""

from __future__ import annotations

import difflib
from typing import Any

from datavern.core.errors import Problem


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))

    def key(p: Problem) -> tuple[int, str, int, int, str]:
        loc = p.location
        if loc is None:
            return (1, "", 0, 0, p.message)
        return (0, loc.file, loc.line or 0, loc.column or 0, p.message)

    return sorted(unique, key=key)


def line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def kind_of(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a yes/no value)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def unknown_key(key: str, expected: list[str], where: str = "") -> str:
    place = f" {where}" if where else ""
    return f"unknown key {key!r}{place}{did_you_mean(key, expected)}; expected one of: " + (
        ", ".join(expected)
    )


def did_you_mean(value: Any, choices: list[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

"""Pure rules of the connectors: connection names and IN-list batching (no I/O)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import product
from typing import Any

NAME_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
NAME_RULE = "1 to 64 characters, each a lowercase letter a-z, a digit, '_' or '-'"

# One IN-list per query holds at most this many values: small enough for every
# backend's bind-parameter limit, large enough that a subject with thousands of
# rows is fetched in a handful of round trips.
DEFAULT_BATCH_SIZE = 1000


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a connection, or None when it can."""
    if NAME_PATTERN.fullmatch(name):
        return None
    return f"connection name {name!r} is not valid: use {NAME_RULE}"


def unique_values(values: Iterable[Any]) -> list[Any]:
    """The values without repeats and without None, first occurrence first.

    None is dropped on purpose: `IN (NULL)` matches nothing in SQL, and a missing
    identity must never be widened into "every row whose column is empty".
    """
    seen: set[Any] = set()
    out: list[Any] = []
    for value in values:
        if value is None:
            continue
        marker = (type(value).__name__, value) if _hashable(value) else (id(value),)
        if marker in seen:
            continue
        seen.add(marker)
        out.append(value)
    return out


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def chunks(values: Sequence[Any], size: int) -> Iterator[list[Any]]:
    """`values` in consecutive slices of at most `size`."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def filter_batches(filters: dict[str, list[Any]], size: int) -> Iterator[dict[str, list[Any]]]:
    """Split AND-ed IN-filters into queries whose IN-lists hold at most `size` values.

    Each field's values are sliced and every combination of slices is one query.
    A row has a single value per column, so it matches exactly one combination:
    the queries together return each matching row once.
    """
    if not filters:
        yield {}
        return
    fields = list(filters)
    sliced = [list(chunks(filters[field], size)) for field in fields]
    if any(not s for s in sliced):
        return  # an empty IN-list matches nothing: no query at all
    for combination in product(*sliced):
        yield dict(zip(fields, combination, strict=True))


class _NoMatch:
    """Marks a filter value that cannot equal any value of the column's type."""

    def __repr__(self) -> str:
        return "NO_MATCH"


NO_MATCH = _NoMatch()
_INTEGER = re.compile(r"[+-]?\d+")


def coerce_filter_value(kind: str, value: Any) -> Any:
    """`value` in the Python type a column of `kind` holds, or NO_MATCH.

    Identities arrive as text from the command line and from forms ("42" for an
    integer customer id). PostgreSQL refuses to compare an integer column with a
    text parameter, so a value is converted when the conversion is exact; a value
    that no row of that type can hold (e.g. "abc" for an integer) matches nothing.
    """
    if isinstance(value, bool):
        return value
    if kind == "integer":
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        return NO_MATCH
    if kind == "string":
        if isinstance(value, int | Decimal):
            return str(value)
        return value
    if kind == "number":
        if isinstance(value, int | float | Decimal):
            return value
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                return NO_MATCH
        return NO_MATCH
    if kind == "uuid" and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return NO_MATCH
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return NO_MATCH
    if kind == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return NO_MATCH
    return value

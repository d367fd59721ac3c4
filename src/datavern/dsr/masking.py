"""Masking strategies for erasure, fitted to each live column (GDPR art. 17).

The register says how a field is erased (``dsr.masking``); the database says
what the column accepts (type, length, NULL or not, enum choices). ``resolve``
joins the two into a :class:`FieldMask` before anything is written, so that a
field that cannot be erased under its type stops the request with the reason
instead of failing half-way.

Strategies:

``null``
    NULL. Where the column refuses NULL, the type's neutral value: a random
    marked text for text columns (so a unique column stays unique), ``0``,
    ``false``, ``1970-01-01``, the first enum choice, ``{}`` for JSON, the nil
    UUID, an empty binary. A column of a type Datavern cannot name a value for
    fails.
``fixed``
    One value for every row (``dsr.masking.fixed_value``, ``***`` by default,
    or the field's own ``value``), converted to the column's type; it must fit.
``random``
    A random text ``dv:<hex>`` (128 bits, shorter only where the column is short).
``hmac``
    A pseudonym ``dv:<hex>``: HMAC-SHA256 of the value with the masking key, so
    the same value gives the same pseudonym in every table (statistics and joins
    still work) and nobody without the key can compute it back from a guess.
``delete_row``
    Not a field strategy: the row is deleted (collection level).

``random`` and ``hmac`` produce text. On a column that is not text they are
refused when the register names them for that field; when they come from
``masking.default`` the field falls back to ``null``, so one default can serve
a whole database.

Masked texts start with ``dv:`` followed by 8 to 64 lower-case hex digits. The
mark makes erasure idempotent and checkable: a value that already carries it
is left as it is when a step is re-run, and the check after erasure knows a
masked value when it reads one.

The masking key is ``DATAVERN_MASKING_KEY`` when set; otherwise it is derived
from Datavern's secret key (``DATAVERN_SECRET_KEY`` or the key file in the data
folder). Changing it changes future pseudonyms, not past ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from datavern.connectors.base import ColumnInfo
from datavern.core.errors import DatavernError

__all__ = [
    "MARK",
    "FieldMask",
    "MaskingProblem",
    "convert_text",
    "is_marked",
    "masking_key",
    "resolve_mask",
]

MARK: Final = "dv:"
MASKING_KEY_ENV: Final = "DATAVERN_MASKING_KEY"
_MARKED = re.compile(r"^dv:[0-9a-f]{8,64}$")
_MIN_HEX: Final = 8
_RANDOM_HEX: Final = 32
_HMAC_HEX: Final = 64
_TEXT_KINDS: Final = frozenset({"string"})

Strategy = Literal["null", "fixed", "random", "hmac"]
Effective = Literal["null", "neutral", "fixed", "random", "hmac"]


class MaskingProblem(DatavernError):
    """A field cannot be erased under its column type; the message says why and what to do."""


def masking_key() -> bytes:
    """The HMAC key for pseudonyms: DATAVERN_MASKING_KEY, else derived from the secret key."""
    configured = os.environ.get(MASKING_KEY_ENV, "").strip()
    if configured:
        return configured.encode("utf-8")
    from datavern.core.config import get_settings

    secret = get_settings().effective_secret_key().encode("utf-8")
    return hmac.new(secret, b"datavern dsr masking key v1", hashlib.sha256).digest()


def is_marked(value: Any) -> bool:
    """Whether ``value`` is a text Datavern wrote when masking (``dv:`` + hex)."""
    if isinstance(value, str):
        return _MARKED.match(value.rstrip()) is not None
    return False


def _hex_length(column: ColumnInfo, wanted: int) -> int | None:
    """How many hex digits fit after the mark; None when fewer than the minimum fit."""
    if column.max_length is None:
        return wanted
    room = column.max_length - len(MARK)
    if room < _MIN_HEX:
        return None
    return min(wanted, room)


def _random_text(digits: int) -> str:
    return MARK + secrets.token_hex((digits + 1) // 2)[:digits]


def _hmac_text(key: bytes, value: Any, digits: int) -> str:
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return MARK + hmac.new(key, data, hashlib.sha256).hexdigest()[:digits]


@dataclass(frozen=True)
class FieldMask:
    """How one field of one collection is erased, fitted to its column."""

    field: str
    strategy: Strategy
    """As the register asks for it."""
    effective: Effective
    """What is written: ``neutral`` is ``null`` on a column that refuses NULL."""
    constant: Any = None
    """The value written for null, fixed and neutral (None for NULL)."""
    digits: int = 0
    """Hex digits after the mark, for random, hmac and a text neutral."""
    key: bytes = b""

    @property
    def is_constant(self) -> bool:
        return self.effective in ("null", "fixed") or (
            self.effective == "neutral" and self.digits == 0
        )

    def describe(self) -> str:
        if self.effective == "neutral":
            return "null (neutral value: the field refuses NULL)"
        if self.strategy != self.effective:
            return f"{self.effective} (default {self.strategy} does not fit the type)"
        return self.effective

    def write_value(self) -> Any | Callable[[Any, ColumnInfo], Any]:
        """What the connector writes: a constant, or a function of the current value."""
        if self.is_constant:
            return self.constant
        digits, key, effective = self.digits, self.key, self.effective

        def mask(current: Any, _column: ColumnInfo) -> Any:
            # Already masked (a step re-run after an interruption): leave it, so
            # that running a step twice changes nothing the second time.
            if is_marked(current):
                return current
            if effective == "hmac":
                return None if current is None else _hmac_text(key, current, digits)
            if effective == "random" and current is None:
                return None
            return _random_text(digits)

        return mask

    def erased(self, value: Any) -> bool:
        """Whether ``value``, read back after erasure, is what this mask leaves."""
        if self.effective in ("hmac", "random"):
            return value is None or is_marked(value)
        if not self.is_constant:  # neutral text
            return is_marked(value)
        if self.constant is None:
            return value is None
        if isinstance(self.constant, str) and isinstance(value, str):
            # CHAR(n) columns come back padded.
            return value.rstrip() == self.constant.rstrip()
        if isinstance(self.constant, dict) and isinstance(value, str):
            try:
                return bool(json.loads(value) == self.constant)
            except ValueError:
                return False
        return bool(value == self.constant)


def _neutral(column: ColumnInfo, where: str) -> tuple[Any, int]:
    """(constant, digits) of the neutral value for a column that refuses NULL."""
    kind = column.kind
    if kind in _TEXT_KINDS:
        digits = _hex_length(column, _RANDOM_HEX)
        if digits is None:
            return "", 0
        return None, digits
    neutral: dict[str, Any] = {
        "integer": 0,
        "number": 0,
        "boolean": False,
        "date": date(1970, 1, 1),
        "datetime": datetime(1970, 1, 1),
        "time": time(0, 0),
        "interval": timedelta(0),
        "json": {},
        "uuid": uuid.UUID(int=0),
        "binary": b"",
    }
    if kind in neutral:
        return neutral[kind], 0
    if kind == "enum" and column.choices:
        return column.choices[0], 0
    raise MaskingProblem(
        f"{where}: the column ({column.type}) refuses NULL and Datavern knows no neutral "
        "value for its type; choose `fixed` with a value the column accepts, or delete_row "
        "for the collection"
    )


def convert_text(value: str, column: ColumnInfo, where: str, what: str = "the fixed value") -> Any:
    """``value`` (text from the register or the command line) as the column's type.

    Raises :class:`MaskingProblem` naming ``where`` and ``what`` when the column
    cannot hold it; the message never repeats the value.
    """
    kind = column.kind

    def refuse(why: str) -> MaskingProblem:
        return MaskingProblem(f"{where}: {what} cannot be written: {why}")

    if kind == "string":
        if column.max_length is not None and len(value) > column.max_length:
            raise refuse(
                f"it is {len(value)} characters and the column ({column.type}) holds "
                f"{column.max_length}"
            )
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return Decimal(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "datetime":
            return datetime.fromisoformat(value)
        if kind == "uuid":
            return uuid.UUID(value)
        if kind == "json":
            return json.loads(value)
    except (ValueError, InvalidOperation):
        raise refuse(f"it is not a valid value for the column's type ({column.type})") from None
    if kind == "boolean" and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if kind == "enum" and column.choices:
        if value in column.choices:
            return value
        raise refuse(f"the column only takes {', '.join(column.choices)}")
    raise refuse(f"Datavern cannot write text to a {column.type} column")


def resolve_mask(
    field: str,
    strategy: Strategy,
    column: ColumnInfo,
    *,
    explicit: bool,
    fixed_value: str,
    key: bytes,
    where: str,
) -> FieldMask:
    """Fit ``strategy`` to ``column``; raise :class:`MaskingProblem` when it cannot fit.

    ``explicit`` says the register names this strategy for this very field; a
    default that does not fit the type falls back to ``null`` instead of failing.
    ``where`` names the field in messages (``dataset.collection.field``).
    """
    if column.primary_key:
        raise MaskingProblem(
            f"{where} is part of the primary key and cannot be masked; erase the rows "
            "with delete_row for the collection"
        )
    if strategy in ("random", "hmac"):
        digits = None
        if column.kind in _TEXT_KINDS:
            digits = _hex_length(column, _HMAC_HEX if strategy == "hmac" else _RANDOM_HEX)
        if digits is not None:
            return FieldMask(field, strategy, strategy, None, digits, key)
        if explicit:
            why = (
                f"the column ({column.type}) holds at most {column.max_length} characters, "
                f"too few for {MARK}+{_MIN_HEX} hex digits"
                if column.kind in _TEXT_KINDS
                else f"{strategy} writes text and the column is {column.type}"
            )
            raise MaskingProblem(f"{where}: {strategy} cannot be used: {why}; use null or fixed")
        return _null(field, strategy, column, where)
    if strategy == "fixed":
        return FieldMask(field, "fixed", "fixed", convert_text(fixed_value, column, where))
    return _null(field, strategy, column, where)


def _null(field: str, strategy: Strategy, column: ColumnInfo, where: str) -> FieldMask:
    if column.null_allowed:
        return FieldMask(field, strategy, "null", None)
    constant, digits = _neutral(column, where)
    return FieldMask(field, strategy, "neutral", constant, digits)

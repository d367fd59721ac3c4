"""The connector contract (DESIGN: Connectors).

A connector reads and writes one external database on behalf of Datavern: the
data-subject request engine, retention sweeps, discovery. Every connector offers
the same calls, so the engine never needs to know which database it talks to:

- ``test_connection()`` -> :class:`ConnectionCheck` (ok or a message without secrets)
- ``describe()`` -> :class:`DatabaseDescription` (tables, columns with types, keys)
- ``collection(name)`` -> :class:`CollectionInfo` for one table
- ``retrieve(collection, filters, fields, batch_size)`` -> iterator of row dicts
- ``count(collection, filters)`` -> number of matching rows
- ``mask(collection, keys, values_by_field)`` -> rows changed
- ``update(collection, keys, values)`` -> rows changed
- ``delete(collection, keys)`` -> rows deleted

Names: a collection is ``table`` or ``schema.table``; fields are column names.
Unknown names are refused with :class:`UnknownName` before any query is built,
and values are always bound parameters, so neither a dataset nor a request can
inject SQL.

Filters: ``{field: [value, ...]}``; values of one field are OR-ed (an IN-list),
fields are AND-ed. An empty value list matches nothing; ``None`` values are
ignored. ``{}`` matches every row.

Keys: a list of dicts naming a row by its primary key, e.g. ``[{"id": 7}]``. A
table without a primary key is addressed by any columns (every matching row is
affected). Every write is one transaction per call: it is done completely or not
at all.

Errors are :class:`ConnectorError` and carry no values and no secrets, only
names of connections, collections and fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from datavern.connectors.rules import DEFAULT_BATCH_SIZE
from datavern.core.errors import DatavernError

Row = dict[str, Any]
Key = Mapping[str, Any]
Filters = Mapping[str, Sequence[Any]]

ColumnKind = Literal[
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "time",
    "interval",
    "binary",
    "json",
    "uuid",
    "enum",
    "other",
]


class ConnectorError(DatavernError):
    """A database could not be read or written; the message says what and where."""


class UnknownName(ConnectorError):
    """A collection or field that the database does not have (also: injection attempts)."""

    exit_code = 2


class Unreachable(ConnectorError):
    """The database server could not be reached or refused the login."""


class Locked(ConnectorError):
    """Another transaction held a lock longer than the connector's lock timeout."""


class WriteRejected(ConnectorError):
    """The database refused a write: a constraint, a type or a length."""


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the live database declares it."""

    name: str
    type: str  # as the database spells it, e.g. "VARCHAR(100)"
    kind: ColumnKind
    nullable: bool
    primary_key: bool = False
    max_length: int | None = None  # for strings and binaries, when declared
    choices: tuple[str, ...] | None = None  # for enums
    has_default: bool = False

    @property
    def null_allowed(self) -> bool:
        """Whether NULL may be written here (a masking value of "nothing")."""
        return self.nullable and not self.primary_key

    def fits_string(self, value: str) -> bool:
        """Whether a string of this length is accepted (for fixed or random masks)."""
        if self.kind not in ("string", "other"):
            return False
        return self.max_length is None or len(value) <= self.max_length


@dataclass(frozen=True)
class ForeignKeyInfo:
    """`columns` of this collection refer to `referred_columns` of `referred_collection`."""

    columns: tuple[str, ...]
    referred_collection: str
    referred_columns: tuple[str, ...]
    on_delete: str | None = None


@dataclass(frozen=True)
class CollectionInfo:
    name: str  # "table", or "schema.table" outside the default schema
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()

    def column(self, name: str) -> ColumnInfo:
        for column in self.columns:
            if column.name == name:
                return column
        raise UnknownName(f"collection {self.name!r} has no field {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class DatabaseDescription:
    backend: str  # "postgresql", "mysql" (also MariaDB), "sqlite"
    collections: tuple[CollectionInfo, ...] = field(default_factory=tuple)

    def collection(self, name: str) -> CollectionInfo:
        for collection in self.collections:
            if collection.name == name:
                return collection
        raise UnknownName(f"the database has no collection {name!r}")


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str


# A masking strategy computes the new value of one field from its current value
# and the column (so it can respect the type and length), e.g. an HMAC or a
# random string. Plain values are written as they are.
MaskStrategy = Callable[[Any, ColumnInfo], Any]


@runtime_checkable
class Connector(Protocol):
    """What the engine may ask of any connected system."""

    name: str

    def test_connection(self) -> ConnectionCheck: ...

    def describe(self) -> DatabaseDescription: ...

    def collection(self, name: str) -> CollectionInfo: ...

    def retrieve(
        self,
        collection: str,
        filters: Filters,
        fields: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[Row]: ...

    def count(self, collection: str, filters: Filters) -> int: ...

    def mask(
        self,
        collection: str,
        keys: Sequence[Key],
        values_by_field: Mapping[str, Any | MaskStrategy],
    ) -> int: ...

    def update(self, collection: str, keys: Sequence[Key], values: Mapping[str, Any]) -> int: ...

    def delete(self, collection: str, keys: Sequence[Key]) -> int: ...

    def close(self) -> None: ...

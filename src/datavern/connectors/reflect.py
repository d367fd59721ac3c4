"""Reflected SQLAlchemy tables turned into the contract's descriptions."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import Enum, LargeBinary, String, TypeEngine

from datavern.connectors.base import CollectionInfo, ColumnInfo, ColumnKind, ForeignKeyInfo

# Schemas that hold the server's own catalogue (and, in MySQL, its accounts): never
# a dataset, so never read or written through a connector.
SYSTEM_SCHEMAS = frozenset(
    {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
)

_KINDS: list[tuple[type, ColumnKind]] = [
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (Decimal, "number"),
    (str, "string"),
    (datetime, "datetime"),  # before date: datetime is a date
    (date, "date"),
    (time, "time"),
    (timedelta, "interval"),
    (bytes, "binary"),
    (dict, "json"),
    (uuid.UUID, "uuid"),
]


def is_system_schema(name: str) -> bool:
    return name.lower() in SYSTEM_SCHEMAS or name.lower().startswith("pg_temp")


def column_kind(type_: TypeEngine[Any]) -> ColumnKind:
    if isinstance(type_, Enum):
        return "enum"
    try:
        python_type = type_.python_type
    except (NotImplementedError, AttributeError):
        return "other"
    for candidate, kind in _KINDS:
        if python_type is candidate:
            return kind
    for candidate, kind in _KINDS:
        if isinstance(python_type, type) and issubclass(python_type, candidate):
            return kind
    return "other"


def _type_name(type_: TypeEngine[Any], dialect: Dialect) -> str:
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:  # a type SQLAlchemy reflects but cannot render, e.g. NullType
        return type(type_).__name__


def column_info(column: Column[Any], dialect: Dialect) -> ColumnInfo:
    type_ = column.type
    length = getattr(type_, "length", None) if isinstance(type_, String | LargeBinary) else None
    choices = tuple(type_.enums) if isinstance(type_, Enum) and type_.enums else None
    return ColumnInfo(
        name=column.name,
        type=_type_name(type_, dialect),
        kind=column_kind(type_),
        # SQLite reports its primary keys as nullable; no key column may be empty here.
        nullable=bool(column.nullable) and not column.primary_key,
        primary_key=bool(column.primary_key),
        max_length=length if isinstance(length, int) else None,
        choices=choices,
        has_default=column.server_default is not None,
    )


def collection_name(table: Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema else table.name


def collection_info(table: Table, dialect: Dialect) -> CollectionInfo:
    foreign_keys = tuple(
        ForeignKeyInfo(
            columns=tuple(c.name for c in fk.columns),
            referred_collection=collection_name(fk.referred_table),
            referred_columns=tuple(e.column.name for e in fk.elements),
            on_delete=fk.ondelete,
        )
        for fk in sorted(table.foreign_key_constraints, key=lambda fk: [c.name for c in fk.columns])
    )
    return CollectionInfo(
        name=collection_name(table),
        columns=tuple(column_info(c, dialect) for c in table.columns),
        primary_key=tuple(c.name for c in table.primary_key.columns),
        foreign_keys=foreign_keys,
    )

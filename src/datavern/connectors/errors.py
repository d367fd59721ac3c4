"""Database errors turned into messages a user can act on, without values or secrets.

A driver's own message can quote the offending value (MySQL: "Duplicate entry
'ola@example.no'") and SQLAlchemy's adds the statement and its parameters, so
neither is ever shown: the message is chosen from the error code and names
only the connection, the collection and, where the database reports it, the field.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from datavern.connectors.base import ConnectorError, Locked, Unreachable, WriteRejected
from datavern.connectors.secrets import scrub

if TYPE_CHECKING:
    from datavern.connectors.sql import SQLConnector

__all__ = ["Unreachable", "translate", "unreachable"]

# PostgreSQL SQLSTATEs, MySQL/MariaDB error numbers, SQLite extended result names.
_LOCKED = {"55P03", "40P01", 1205, 1213, "SQLITE_BUSY", "SQLITE_LOCKED"}
_NOT_NULL = {"23502", 1048, 1364, "SQLITE_CONSTRAINT_NOTNULL"}
_FOREIGN_KEY = {"23503", 1451, 1452, "SQLITE_CONSTRAINT_FOREIGNKEY"}
_UNIQUE = {"23505", 1062, 1586, "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
_CHECK = {"23514", 3819, 4025, "SQLITE_CONSTRAINT_CHECK"}
_TOO_LONG = {"22001", 1406}
_PERMISSION = {"42501", 1142, 1143, 1044, 1045, "SQLITE_READONLY", "SQLITE_AUTH"}
_GONE = {2006, 2013, "SQLITE_CANTOPEN"}


def _code(orig: Any) -> str | int | None:
    # MySQL's error number first: PyMySQL also sets a generic `sqlstate` ("23000").
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    for attribute in ("sqlstate", "pgcode", "sqlite_errorname"):
        value = getattr(orig, attribute, None)
        if value:
            return str(value)
    return None


# Messages that name only identifiers, never values, so the column can be taken from them.
_COLUMN_IN_MESSAGE = (
    re.compile(r"^NOT NULL constraint failed: [^.\s]+\.(\S+)$"),  # SQLite
    re.compile(r"^Column '([^']+)' cannot be null$"),  # MySQL 1048
    re.compile(r"^Data too long for column '([^']+)' at row \d+$"),  # MySQL 1406
)


def _column_name(orig: Any) -> str | None:
    diag = getattr(orig, "diag", None)  # psycopg: PostgreSQL reports the column
    if diag is not None and getattr(diag, "column_name", None):
        return str(diag.column_name)
    args = getattr(orig, "args", ())
    message = args[-1] if args and isinstance(args[-1], str) else ""
    for pattern in _COLUMN_IN_MESSAGE:
        found = pattern.match(message)
        if found:
            return found.group(1)
    return None


def unreachable(connector: SQLConnector, exc: SQLAlchemyError) -> Unreachable:
    orig = getattr(exc, "orig", None)
    raw = str(orig if orig is not None else exc).strip()
    reason = scrub(raw.splitlines()[0] if raw else type(exc).__name__, connector._url)
    return Unreachable(
        f"cannot connect to connection {connector.name!r} ({connector.backend} at "
        f"{connector.where()}): {reason[:300]}"
    )


def translate(connector: SQLConnector, exc: DBAPIError, collection: str | None) -> ConnectorError:
    orig = exc.orig
    code = _code(orig)
    table = f"table {collection!r}" if collection else "the database"
    where = f"in connection {connector.name!r}"
    if exc.connection_invalidated or code in _GONE or (isinstance(code, str) and code[:2] == "08"):
        return unreachable(connector, exc)
    if code in _LOCKED:
        return Locked(
            f"{table} {where} is locked by another transaction (waited "
            f"{connector.lock_timeout:g} s); nothing was changed, try again later"
        )
    column = _column_name(orig)
    field = f" (field {column!r})" if column else ""
    if code in _NOT_NULL:
        return WriteRejected(
            f"{table} {where} refused the write: a field that must have a value{field} would "
            "be empty (NOT NULL)"
        )
    if code in _FOREIGN_KEY:
        return WriteRejected(
            f"{table} {where} refused the write: other rows refer to these rows through a "
            "foreign key; erase or delete the referring rows first"
        )
    if code in _UNIQUE:
        return WriteRejected(
            f"{table} {where} refused the write: the new value of a unique field{field} is "
            "already held by another row"
        )
    if code in _CHECK:
        return WriteRejected(f"{table} {where} refused the write: a CHECK constraint failed")
    if code in _TOO_LONG:
        return WriteRejected(
            f"{table} {where} refused the write: a value is longer than its field{field} allows"
        )
    if code in _PERMISSION:
        return ConnectorError(
            f"the database user of connection {connector.name!r} may not do this on {table}"
        )
    if (isinstance(code, str) and code[:2] == "22") or code in (
        1366,
        1292,
        1264,
        "SQLITE_MISMATCH",
    ):
        return WriteRejected(f"{table} {where}: a value does not fit the type of its field{field}")
    return ConnectorError(
        f"{table} {where}: the database refused the operation ({type(orig).__name__}"
        f"{f', code {code}' if code is not None else ''})"
    )

"""Use cases for stored connections: add, test, list, describe, remove, open.

The URL is encrypted before it is stored and decrypted only to open a
connector; what is listed, described and written to the audit log is the URL
with its password masked.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavern.connectors import secrets
from datavern.connectors.base import ConnectionCheck, DatabaseDescription
from datavern.connectors.models import Connection
from datavern.connectors.rules import name_problem
from datavern.connectors.sql import SUPPORTED_BACKENDS, SQLConnector, supported, with_driver
from datavern.core import audit, clock
from datavern.core.errors import InvalidInput, NotFound, Problem


@dataclass(frozen=True)
class ConnectionInfo:
    name: str
    backend: str
    url: str  # password masked
    created_at: datetime
    created_by: str
    last_test_at: datetime | None
    last_test_ok: bool | None
    last_test_message: str | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "last_test_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _info(row: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        name=row.name,
        backend=row.backend,
        url=row.display_url,
        created_at=row.created_at,
        created_by=row.created_by,
        last_test_at=row.last_test_at,
        last_test_ok=row.last_test_ok,
        last_test_message=row.last_test_message,
    )


def _check_name(name: str) -> None:
    problem = name_problem(name)
    if problem:
        raise InvalidInput(Problem(problem, path="name"))


def _row(session: Session, name: str) -> Connection:
    _check_name(name)
    row = session.execute(select(Connection).where(Connection.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no connection named {name!r}; `datavern connection list` shows them")
    return row


def _normalized_url(url: str) -> tuple[str, str]:
    """(URL to store, backend); a relative SQLite path is made absolute.

    Workers and web processes may run in another folder than the command that
    added the connection, so a relative SQLite path would point elsewhere.
    """
    parsed = secrets.parse_url(url)
    if not supported(with_driver(parsed)):
        raise InvalidInput(
            Problem(
                f"database type {parsed.get_backend_name()!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_BACKENDS)}",
                path="url",
            )
        )
    backend = parsed.get_backend_name()
    database = parsed.database
    if backend == "sqlite" and database and database != ":memory:":
        absolute = str(Path(database).expanduser().resolve())
        if not database.startswith("file:") and absolute != database:
            return parsed.set(database=absolute).render_as_string(hide_password=False), backend
    return url.strip(), backend


def add_connection(
    session: Session, name: str, url: str, *, actor: str, replace: bool = False
) -> ConnectionInfo:
    """Store a connection; with `replace`, change the URL of an existing one (a new password)."""
    _check_name(name)
    plain, backend = _normalized_url(url)
    token = secrets.encrypt(plain)  # fails here, before anything is stored, without a key
    display = secrets.masked_url(plain)
    now = clock.now()
    row = session.execute(select(Connection).where(Connection.name == name)).scalar_one_or_none()
    if row is not None and not replace:
        raise InvalidInput(
            Problem(
                f"a connection named {name!r} already exists; add it with --replace to change "
                "its URL, or remove it first",
                path="name",
            )
        )
    action = "connection.replace" if row is not None else "connection.add"
    if row is None:
        row = Connection(name=name, created_at=now, created_by=actor)
        session.add(row)
    row.backend = backend
    row.encrypted_url = token
    row.display_url = display
    row.updated_at = now
    row.last_test_at = row.last_test_ok = row.last_test_message = None
    session.flush()
    audit.record(
        session, action, f"connection:{name}", {"backend": backend, "url": display}, actor=actor
    )
    _forget(name)
    return _info(row)


def list_connections(session: Session) -> list[ConnectionInfo]:
    rows = session.execute(select(Connection).order_by(Connection.name)).scalars()
    return [_info(row) for row in rows]


def get_connection(session: Session, name: str) -> ConnectionInfo:
    return _info(_row(session, name))


def remove_connection(session: Session, name: str, *, actor: str) -> None:
    row = _row(session, name)
    session.delete(row)
    session.flush()
    audit.record(
        session, "connection.remove", f"connection:{name}", {"url": row.display_url}, actor=actor
    )
    _forget(name)


def rekey_connections(session: Session, *, actor: str) -> int:
    """Encrypt every stored URL again with the first key of DATAVERN_CONNECTION_KEY.

    All or nothing: a URL that no given key decrypts stops the whole change.
    """
    rows = list(session.execute(select(Connection).order_by(Connection.name)).scalars())
    for row in rows:
        row.encrypted_url = secrets.reencrypt(row.encrypted_url, what=f"connection {row.name!r}")
    session.flush()
    audit.record(
        session, "connection.rekey", "connections", {"names": [r.name for r in rows]}, actor=actor
    )
    for row in rows:
        _forget(row.name)
    return len(rows)


def connection_url(session: Session, name: str) -> str:
    """The full URL, password included: for opening a connector, never for showing."""
    row = _row(session, name)
    return secrets.decrypt(row.encrypted_url, what=f"connection {name!r}")


# One connector (and so one connection pool) per stored connection and process.
_connectors: dict[str, tuple[str, SQLConnector]] = {}
_connectors_lock = threading.Lock()


def open_connector(session: Session, name: str) -> SQLConnector:
    """The connector of a stored connection, reused while its URL is unchanged."""
    row = _row(session, name)
    with _connectors_lock:
        cached = _connectors.get(name)
        if cached is not None and cached[0] == row.encrypted_url:
            return cached[1]
        url = secrets.decrypt(row.encrypted_url, what=f"connection {name!r}")
        connector = SQLConnector(url, name=name)
        if cached is not None:
            cached[1].close()
        _connectors[name] = (row.encrypted_url, connector)
        return connector


def _forget(name: str) -> None:
    with _connectors_lock:
        cached = _connectors.pop(name, None)
    if cached is not None:
        cached[1].close()


def close_connectors() -> None:
    """Close every pooled connection (tests, shutdown)."""
    with _connectors_lock:
        cached = list(_connectors.values())
        _connectors.clear()
    for _, connector in cached:
        connector.close()


def check_connection(session: Session, name: str, *, actor: str) -> ConnectionCheck:
    """Try the connection; the outcome is kept on the connection and in the audit log."""
    row = _row(session, name)
    result = open_connector(session, name).test_connection()
    row.last_test_at = clock.now()
    row.last_test_ok = result.ok
    row.last_test_message = result.message
    audit.record(
        session,
        "connection.test",
        f"connection:{name}",
        {"ok": result.ok, "message": result.message},
        actor=actor,
    )
    return result


def describe_connection(session: Session, name: str) -> DatabaseDescription:
    """Tables, columns and keys of the live database (no data is read)."""
    return open_connector(session, name).describe()

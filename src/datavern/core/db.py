"""Database engine, sessions and migrations (SQLAlchemy 2.0 + Alembic).

SQLite in a file is the embedded default; PostgreSQL is the production database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from datavern.core.config import get_settings
from datavern.core.errors import DatavernError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().effective_database_url
    engine = _engines.get(url)
    if engine is None:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"future": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _engines[url] = engine
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_own: dict[tuple[str, str], tuple[Engine, sessionmaker[Session]]] = {}


def sessions_for(url: str, use: str, **engine_options: Any) -> sessionmaker[Session]:
    """Sessions on an engine of its own for one ``use`` of the database at ``url`` (e.g.
    the consent API's autocommit reads), made once with ``engine_options``; disposed
    with every other engine by ``dispose_engines``."""
    found = _own.get((url, use))
    if found is None:
        engine = create_engine(url, **engine_options)
        found = _own[(url, use)] = (engine, sessionmaker(bind=engine, expire_on_commit=False))
    return found[1]


def dispose_engines() -> None:
    for engine in [*_engines.values(), *(e for e, _f in _own.values())]:
        engine.dispose()
    _engines.clear()
    _factories.clear()
    _own.clear()


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """Sessions on the shared engine of ``url`` (default: the configured database)."""
    url = url or get_settings().effective_database_url
    factory = _factories.get(url)
    if factory is None:
        # Building a sessionmaker costs more than a short request's query; keep one per URL.
        factory = _factories[url] = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    return factory


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back everything on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(Path(__file__).resolve().parent.parent / "migrations")
    )
    cfg.set_main_option(
        "sqlalchemy.url", (url or get_settings().effective_database_url).replace("%", "%%")
    )
    return cfg


class DatabaseUnreachable(DatavernError):
    """Datavern's own database cannot be opened (a server down, a wrong URL)."""


def _where(url: str) -> str:
    """The database a URL names, without user or password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite at {parsed.database or 'memory'}"
    host = f"{parsed.host}:{parsed.port}" if parsed.port else str(parsed.host)
    return f"{parsed.get_backend_name()} database {parsed.database!r} at {host}"


def migrate(url: str | None = None) -> None:
    """Bring the database schema to the newest migration."""
    from alembic import command

    target = url or get_settings().effective_database_url
    try:
        command.upgrade(alembic_config(target), "head")
    except (OperationalError, InterfaceError) as exc:
        if exc.statement is not None:
            raise  # failed inside a migration, not on connecting
        # The driver's first line says why (refused, no such database, authentication);
        # it names no password, and the URL is shown without one.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DatabaseUnreachable(
            f"cannot open Datavern's database ({_where(target)}; DATAVERN_DATABASE_URL or "
            f"DATAVERN_DATA_DIR): {reason}"
        ) from None

"""The SQL connector: PostgreSQL, MariaDB/MySQL and SQLite through SQLAlchemy Core.

Identifiers never reach SQL as text: a collection is looked up among the table
names the database itself reports, reflected with SQLAlchemy, and its columns are
taken from the reflected table; SQLAlchemy quotes them. Values are always bound
parameters. See :mod:`datavern.connectors.base` for the contract.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    MetaData,
    Select,
    Table,
    and_,
    any_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError, StatementError

from datavern.connectors import errors
from datavern.connectors.base import (
    CollectionInfo,
    ColumnInfo,
    ConnectionCheck,
    Connector,
    ConnectorError,
    DatabaseDescription,
    Filters,
    Key,
    MaskStrategy,
    Row,
    UnknownName,
    Unreachable,
    WriteRejected,
)
from datavern.connectors.reflect import collection_info, column_info, is_system_schema
from datavern.connectors.rules import (
    DEFAULT_BATCH_SIZE,
    NO_MATCH,
    chunks,
    coerce_filter_value,
    filter_batches,
    unique_values,
)
from datavern.connectors.secrets import masked_url, parse_url

# From this many values on, PostgreSQL gets `= ANY(array)` instead of `IN (...)`.
_ARRAY_THRESHOLD = 32
_ARRAY_KINDS = frozenset({"integer", "string", "number", "date", "datetime", "uuid"})

SUPPORTED_BACKENDS = ("postgresql", "mysql", "mariadb", "sqlite")
DEFAULT_LOCK_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 5

# A URL without a driver gets the driver Datavern ships with (SQLAlchemy's own
# default for PostgreSQL, psycopg2, is not installed).
_DEFAULT_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}


def writable_value(collection: str, column: ColumnInfo, value: Any) -> Any:
    """`value` in the column's Python type (text from a command line, e.g. a date).

    A value that cannot be converted exactly is refused here, naming the field but
    never the value.
    """
    if value is None:
        return None
    converted = coerce_filter_value(column.kind, value)
    if converted is NO_MATCH:
        raise WriteRejected(
            f"the new value for {collection!r}.{column.name!r} is not a valid {column.kind} "
            f"({column.type})"
        )
    return converted


_pins = threading.local()


@contextmanager
def one_connection_each() -> Iterator[None]:
    """Inside the block, every connector this thread uses keeps one connection.

    A data-subject request makes a few dozen short calls to the same database;
    without this each call takes a connection from the pool (checked with a ping)
    and hands it back (with a rollback): two round trips more per query. Reads
    inside the block share one transaction (READ COMMITTED: each statement sees
    what is committed when it starts); every write still runs in a transaction
    of its own. The connections go back to the pool when the block ends.
    Blocks nest (the outermost one holds the connections).
    """
    if getattr(_pins, "held", None) is not None:
        yield
        return
    held: dict[SQLConnector, Connection] = {}
    _pins.held = held
    try:
        yield
    finally:
        _pins.held = None
        for conn in held.values():
            _close_quietly(conn)


def _close_quietly(conn: Connection) -> None:
    try:
        conn.close()
    except SQLAlchemyError:
        with suppress(SQLAlchemyError):
            conn.invalidate()


def with_driver(url: URL) -> URL:
    backend = url.get_backend_name()
    if "+" not in url.drivername and backend in _DEFAULT_DRIVERS:
        return url.set(drivername=f"{backend}+{_DEFAULT_DRIVERS[backend]}")
    return url


def supported(url: URL) -> bool:
    return url.get_backend_name() in SUPPORTED_BACKENDS


class SQLConnector:
    """One external SQL database. Thread-safe; keeps a small connection pool."""

    def __init__(
        self,
        url: str | URL,
        *,
        name: str = "database",
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        parsed = with_driver(parse_url(url) if isinstance(url, str) else url)
        if not supported(parsed):
            raise ConnectorError(
                f"connection {name!r}: database type {parsed.get_backend_name()!r} is not "
                f"supported; use one of {', '.join(SUPPORTED_BACKENDS)}"
            )
        self.name = name
        self.lock_timeout = lock_timeout
        self._url = parsed
        self.backend = parsed.get_backend_name()
        self.display_url = masked_url(parsed)
        self._engine = self._create_engine(connect_timeout)
        self._metadata = MetaData()
        self._tables: dict[str, Table] = {}
        self._column_infos: dict[tuple[str, str], ColumnInfo] = {}
        self._reflect_lock = threading.Lock()
        self._statements: dict[tuple[Any, ...], Select[Any]] = {}
        self._local = threading.local()

    # -- engine and connections -------------------------------------------------

    def _create_engine(self, connect_timeout: int) -> Engine:
        backend = self.backend
        connect_args: dict[str, Any] = {}
        if backend == "sqlite":
            connect_args = {"timeout": self.lock_timeout, "check_same_thread": False}
        else:
            connect_args = {"connect_timeout": connect_timeout}
        try:
            engine = create_engine(
                self._url,
                connect_args=connect_args,
                pool_pre_ping=backend != "sqlite",
                pool_size=5,
                max_overflow=5,
            )
        except (NoSuchModuleError, ImportError):
            raise ConnectorError(
                f"connection {self.name!r}: the database driver {self._url.drivername!r} is "
                "not installed"
            ) from None
        event.listen(engine, "connect", self._on_connect)
        return engine

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        """Per-session settings: wait at most `lock_timeout` for another transaction's lock."""
        cursor = dbapi_connection.cursor()
        try:
            if self.backend == "postgresql":
                # set_config rather than SET so the value is a bound parameter; committed at
                # once because a rolled-back transaction would undo a session setting.
                millis = max(1, int(self.lock_timeout * 1000))
                cursor.execute("SELECT set_config('lock_timeout', %s, false)", (f"{millis}ms",))
                dbapi_connection.commit()
            elif self.backend in ("mysql", "mariadb"):
                seconds = max(1, round(self.lock_timeout))
                cursor.execute(
                    "SET SESSION innodb_lock_wait_timeout = %s, lock_wait_timeout = %s",
                    (seconds, seconds),
                )
            else:
                cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    def where(self) -> str:
        """Where the database is, for messages: host:port or the SQLite file."""
        if self.backend == "sqlite":
            return self._url.database or ":memory:"
        port = self._url.port or (5432 if self.backend == "postgresql" else 3306)
        return f"{self._url.host or 'localhost'}:{port}"

    def _checkout(self) -> Connection:
        if self.backend == "sqlite":
            self._check_sqlite_file()
        try:
            return self._engine.connect()
        except SQLAlchemyError as exc:
            raise errors.unreachable(self, exc) from None

    @contextmanager
    def _connect(self, collection: str | None = None, *, pin: bool = True) -> Iterator[Connection]:
        held: dict[SQLConnector, Connection] | None = getattr(_pins, "held", None)
        if not pin or held is None:
            conn = self._checkout()
        else:
            # Inside one_connection_each(): this thread's one connection to the database.
            conn = held.get(self) or held.setdefault(self, self._checkout())
        failed = False
        try:
            yield conn
        except DBAPIError as exc:
            failed = True
            raise errors.translate(self, exc, collection) from None
        except StatementError:
            failed = True
            # Raised before the database saw the statement, by a type's bind step; its
            # text quotes the parameters, so it is not passed on.
            where = f"table {collection!r}" if collection else "the database"
            raise WriteRejected(
                f"{where} in connection {self.name!r}: a value does not fit the type of its field"
            ) from None
        except Exception:
            failed = True
            raise
        finally:
            if held is None or not pin:
                conn.close()
            elif failed:
                # A failed statement leaves the transaction aborted (or the connection
                # broken): the next call starts on a fresh connection.
                held.pop(self, None)
                _close_quietly(conn)

    @contextmanager
    def _transaction(self, collection: str) -> Iterator[Connection]:
        with self._connect(collection) as conn:
            if conn.in_transaction():
                # A held connection may still be in the reads' transaction: end it, so
                # that the write is a transaction of its own (committed or not at all).
                conn.rollback()
            with conn.begin():
                if self.backend == "postgresql" and getattr(self._local, "unflushed", False):
                    conn.execute(text("SET LOCAL synchronous_commit = off"))
                yield conn

    @contextmanager
    def unflushed_writes(self) -> Iterator[None]:
        """Writes of this thread inside the block commit without waiting for the disk.

        PostgreSQL: ``synchronous_commit = off`` for these transactions only. They
        are committed, atomic and visible at once; a crash of the database server
        (not of Datavern) could lose the last of them, until :meth:`flush` makes
        them durable. The caller must call ``flush`` before it relies on them (the
        erasure does, before it reads every erased row back). Other databases
        write as always.
        """
        previous = getattr(self._local, "unflushed", False)
        self._local.unflushed = True
        try:
            yield
        finally:
            self._local.unflushed = previous

    def flush(self) -> None:
        """Make every write committed so far durable (waits for PostgreSQL's WAL flush).

        A transaction that writes a commit record (``txid_current()`` gives it a
        transaction id) commits synchronously, and PostgreSQL writes its WAL in
        order: when it returns, every earlier commit is on disk too.
        """
        if self.backend != "postgresql":
            return
        with self._connect() as conn:
            if conn.in_transaction():
                conn.rollback()
            with conn.begin():
                conn.execute(text("SET LOCAL synchronous_commit = on"))
                conn.execute(select(func.txid_current()))

    @contextmanager
    def _one_statement(self, collection: str) -> Iterator[Connection]:
        """A connection for a write of one statement, which is its own transaction.

        On PostgreSQL the statement runs in autocommit: one round trip instead of
        three (BEGIN, the statement, COMMIT), and just as atomic. Elsewhere, and for
        anything of more than one statement, ``_transaction``.
        """
        if self.backend != "postgresql" or getattr(self._local, "unflushed", False):
            with self._transaction(collection) as conn:
                yield conn
            return
        with self._connect(collection) as conn:
            if conn.in_transaction():
                conn.rollback()
            conn.execution_options(isolation_level="AUTOCOMMIT")
            # On an error _connect hands the connection back to the pool, which resets
            # its isolation level; on success it goes back to transactions here (free:
            # nothing is open on the server).
            yield conn
            conn.commit()
            conn.execution_options(isolation_level=conn.default_isolation_level)

    def _check_sqlite_file(self) -> None:
        # SQLite would silently create an empty database for a mistyped path.
        database = self._url.database
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        if on_disk and not Path(str(database)).is_file():
            raise Unreachable(
                f"cannot connect to connection {self.name!r} (sqlite): no database file "
                f"at {database}"
            )

    # -- bulk work (retention sweeps): SQLAlchemy Core on the checked table --------

    def table(self, collection: str) -> Table:
        """The reflected table of ``collection`` (looked up like every other call), for
        statements the contract does not cover, such as a sweep's range deletes."""
        return self._table(collection)

    @contextmanager
    def transaction(self, collection: str) -> Iterator[Connection]:
        """One transaction, with this connector's lock timeout and its error messages."""
        with self._connect(collection, pin=False) as conn, conn.begin():
            yield conn

    @contextmanager
    def connection(self, collection: str | None = None) -> Iterator[Connection]:
        """A connection for reads (no transaction is opened for you)."""
        with self._connect(collection, pin=False) as conn:
            yield conn

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> SQLConnector:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- names -----------------------------------------------------------------

    def _table(self, collection: str) -> Table:
        table = self._tables.get(collection)
        if table is not None:
            return table
        if not isinstance(collection, str) or not collection:
            raise UnknownName(f"connection {self.name!r}: a collection name is required")
        with self._reflect_lock, self._connect(collection) as conn:
            table = self._tables.get(collection)
            if table is None:
                schema, name = self._resolve(conn, collection)
                table = Table(name, self._metadata, schema=schema, autoload_with=conn)
                self._tables[collection] = table
        return table

    def _resolve(self, conn: Connection, collection: str) -> tuple[str | None, str]:
        """(schema, table) as the database names them; refuses anything it does not list."""
        inspector = inspect(conn)
        if collection in inspector.get_table_names():
            return None, collection
        schema, dot, name = collection.partition(".")
        if (
            dot
            and not is_system_schema(schema)
            and schema in inspector.get_schema_names()
            and name in inspector.get_table_names(schema=schema)
        ):
            default = inspector.default_schema_name
            return (None if schema == default else schema), name
        raise UnknownName(f"connection {self.name!r} has no collection {collection!r}")

    def _info(self, column: Column[Any]) -> ColumnInfo:
        """The column's description, computed once per connector."""
        key = (str(column.table.fullname), column.name)
        info = self._column_infos.get(key)
        if info is None:
            info = self._column_infos[key] = column_info(column, self._engine.dialect)
        return info

    def _in(self, column: Column[Any], values: list[Any]) -> ColumnElement[bool]:
        """`column IN (values)`; on PostgreSQL a long list is one array parameter.

        `= ANY(:array)` sends one parameter instead of hundreds and lets the server
        plan it once: several times faster for long IN-lists, same rows.
        """
        if (
            self.backend == "postgresql"
            and len(values) >= _ARRAY_THRESHOLD
            and self._info(column).kind in _ARRAY_KINDS
        ):
            return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
        return column.in_(values)

    def _column(self, table: Table, collection: str, name: str) -> Column[Any]:
        if not isinstance(name, str) or name not in table.c:
            raise UnknownName(f"collection {collection!r} has no field {name!r}")
        return table.c[name]

    def _writable(self, table: Table, collection: str, name: str, verb: str) -> Column[Any]:
        column = self._column(table, collection, name)
        if column.primary_key:
            raise ConnectorError(
                f"field {name!r} is part of the primary key of {collection!r} and cannot be "
                f"{verb}; delete the row instead"
            )
        return column

    # -- contract: metadata ----------------------------------------------------

    def test_connection(self) -> ConnectionCheck:
        try:
            with self._connect() as conn:
                conn.execute(select(literal(1))).scalar_one()
                version = ".".join(str(v) for v in (conn.dialect.server_version_info or ()))
        except ConnectorError as exc:
            return ConnectionCheck(False, str(exc))
        label = f"{self.backend} {version}".strip()
        return ConnectionCheck(True, f"connected to {label} at {self.where()}")

    def describe(self, schema: str | None = None) -> DatabaseDescription:
        """Every table of the default schema (or of `schema`), with columns and keys."""
        if schema is not None and is_system_schema(schema):
            raise UnknownName(f"connection {self.name!r}: schema {schema!r} is not described")
        metadata = MetaData()
        with self._connect() as conn:
            inspector = inspect(conn)
            if schema is not None and schema not in inspector.get_schema_names():
                raise UnknownName(f"connection {self.name!r} has no schema {schema!r}")
            if schema == inspector.default_schema_name:
                schema = None
            metadata.reflect(bind=conn, schema=schema, views=False)
            dialect = conn.dialect
        tables = sorted(
            (t for t in metadata.tables.values() if t.schema == schema), key=lambda t: t.name
        )
        return DatabaseDescription(
            backend=self.backend, collections=tuple(collection_info(t, dialect) for t in tables)
        )

    def collection(self, name: str) -> CollectionInfo:
        info = collection_info(self._table(name), self._engine.dialect)
        # Keep the caller's spelling ("public.users" stays "public.users").
        return CollectionInfo(name, info.columns, info.primary_key, info.foreign_keys)

    # -- contract: reads -------------------------------------------------------

    def _filters(
        self, table: Table, collection: str, filters: Filters
    ) -> dict[str, list[Any]] | None:
        """Validated, de-duplicated, type-coerced filters; None when nothing can match."""
        prepared: dict[str, list[Any]] = {}
        for field, values in filters.items():
            column = self._column(table, collection, field)
            if isinstance(values, str | bytes) or not isinstance(values, Sequence | set):
                raise ConnectorError(
                    f"filter on {collection!r}.{field!r}: values must be a list, not "
                    f"{type(values).__name__}"
                )
            kind = self._info(column).kind
            coerced = [coerce_filter_value(kind, v) for v in unique_values(values)]
            prepared[field] = unique_values(v for v in coerced if v is not NO_MATCH)
            if not prepared[field]:
                return None
        return prepared

    def retrieve(
        self,
        collection: str,
        filters: Filters,
        fields: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[Row]:
        """Rows matching `filters`, only `fields`; one query per IN-list batch."""
        table = self._table(collection)
        if isinstance(fields, str) or not fields:
            raise ConnectorError(f"retrieve from {collection!r}: name the fields to read")
        columns = [self._column(table, collection, f) for f in dict.fromkeys(fields)]
        if batch_size < 1:
            raise ConnectorError("batch size must be at least 1")
        prepared = self._filters(table, collection, filters)
        if prepared is None:
            return iter(())
        return self._rows(table, collection, columns, prepared, batch_size)

    def _rows(
        self,
        table: Table,
        collection: str,
        columns: list[Column[Any]],
        filters: dict[str, list[Any]],
        batch_size: int,
    ) -> Iterator[Row]:
        with self._connect(collection) as conn:
            for batch in filter_batches(filters, batch_size):
                statement, params = self._select(table, columns, batch)
                for row in conn.execute(statement, params).mappings():
                    yield dict(row)

    def _select(
        self, table: Table, columns: list[Column[Any]], batch: dict[str, list[Any]]
    ) -> tuple[Select[Any], dict[str, list[Any]]]:
        """``SELECT columns WHERE field IN (values) AND ...`` with the values as parameters.

        The statement depends only on the table, the columns, the filter fields and
        whether each list is long enough to go as one array (see ``_in``), so it is
        built once and reused: SQLAlchemy then finds it in its compiled cache without
        building and hashing it again.
        """
        shape = tuple(
            (
                field,
                self.backend == "postgresql"
                and len(values) >= _ARRAY_THRESHOLD
                and self._info(table.c[field]).kind in _ARRAY_KINDS,
            )
            for field, values in batch.items()
        )
        key = (table, tuple(c.name for c in columns), shape)
        statement = self._statements.get(key)
        if statement is None:
            clauses = [
                table.c[field]
                == any_(bindparam(f"f{i}", type_=postgresql.ARRAY(table.c[field].type)))
                if array
                else table.c[field].in_(bindparam(f"f{i}", expanding=True))
                for i, (field, array) in enumerate(shape)
            ]
            statement = select(*columns).where(*clauses)
            if len(self._statements) > 512:
                self._statements.clear()
            self._statements[key] = statement
        return statement, {f"f{i}": values for i, values in enumerate(batch.values())}

    def count(self, collection: str, filters: Filters) -> int:
        table = self._table(collection)
        prepared = self._filters(table, collection, filters)
        if prepared is None:
            return 0
        total = 0
        with self._connect(collection) as conn:
            for batch in filter_batches(prepared, DEFAULT_BATCH_SIZE):
                statement = (
                    select(func.count())
                    .select_from(table)
                    .where(*(self._in(table.c[field], values) for field, values in batch.items()))
                )
                total += int(conn.execute(statement).scalar_one())
        return total

    # -- contract: writes ------------------------------------------------------

    def _key_columns(self, table: Table, collection: str, keys: Sequence[Key]) -> list[str]:
        primary = [c.name for c in table.primary_key.columns]
        named = list(keys[0])
        if primary and sorted(named) != sorted(primary):
            raise ConnectorError(
                f"keys for {collection!r} must name exactly its primary key "
                f"({', '.join(primary)}), not {', '.join(sorted(map(str, named))) or 'nothing'}"
            )
        fields = primary or named
        if not fields:
            raise ConnectorError(f"keys for {collection!r} name no field")
        for field in fields:
            self._column(table, collection, field)
        for key in keys:
            if sorted(key) != sorted(fields):
                raise ConnectorError(f"every key for {collection!r} must name {', '.join(fields)}")
        return fields

    def _key_clauses(
        self, table: Table, collection: str, keys: Sequence[Key]
    ) -> Iterator[ColumnElement[bool]]:
        """WHERE clauses selecting the keyed rows, at most DEFAULT_BATCH_SIZE keys each."""
        if not keys:
            return
        fields = self._key_columns(table, collection, keys)
        kinds = [self._info(table.c[f]).kind for f in fields]
        tuples = []
        for key in keys:
            values = tuple(
                coerce_filter_value(k, key[f]) for k, f in zip(kinds, fields, strict=True)
            )
            if not any(v is None or v is NO_MATCH for v in values):
                tuples.append(values)
        for batch in chunks(unique_values(tuples), DEFAULT_BATCH_SIZE):
            if len(fields) == 1:
                yield self._in(table.c[fields[0]], [t[0] for t in batch])
            else:
                yield tuple_(*(table.c[f] for f in fields)).in_(batch)

    def update(self, collection: str, keys: Sequence[Key], values: Mapping[str, Any]) -> int:
        """Set `values` on every keyed row (rectification); returns rows changed."""
        return self._write_constants(collection, keys, values, "updated")

    def _write_constants(
        self, collection: str, keys: Sequence[Key], values: Mapping[str, Any], verb: str
    ) -> int:
        table = self._table(collection)
        if not values:
            raise ConnectorError(f"nothing to write to {collection!r}: no fields given")
        assignments = {}
        for field, value in values.items():
            column = self._writable(table, collection, field, verb)
            assignments[column] = writable_value(collection, self._info(column), value)
        clauses = list(self._key_clauses(table, collection, keys))
        total = 0
        if not clauses:
            return 0
        if len(clauses) == 1:
            with self._one_statement(collection) as conn:
                return conn.execute(update(table).where(clauses[0]).values(assignments)).rowcount
        with self._transaction(collection) as conn:
            for clause in clauses:
                total += conn.execute(update(table).where(clause).values(assignments)).rowcount
        return total

    def mask(
        self,
        collection: str,
        keys: Sequence[Key],
        values_by_field: Mapping[str, Any | MaskStrategy],
    ) -> int:
        """Overwrite fields of the keyed rows: a plain value as is, a strategy per row.

        A strategy is called with the current value and the column, so HMACs and
        random strings are computed row by row; the rows are read and written in
        one transaction (locked with FOR UPDATE where the database supports it).
        """
        strategies = {f: v for f, v in values_by_field.items() if callable(v)}
        if not strategies:
            return self._write_constants(collection, keys, values_by_field, "masked")
        table = self._table(collection)
        constants = {}
        for field, value in values_by_field.items():
            column = self._writable(table, collection, field, "masked")
            if field not in strategies:
                constants[field] = writable_value(collection, self._info(column), value)
        clauses = list(self._key_clauses(table, collection, keys))
        if not clauses:
            return 0
        infos = {f: self._info(table.c[f]) for f in strategies}
        # Rows are addressed by primary key; a table without one by every key column
        # plus the old values (IS NOT DISTINCT FROM, so NULLs match too).
        identity = [c.name for c in table.primary_key.columns] or self._key_columns(
            table, collection, keys
        )
        old = list(strategies) if not table.primary_key.columns else []
        read = [table.c[f] for f in dict.fromkeys([*identity, *strategies])]
        match = [table.c[f] == bindparam(f"k{i}") for i, f in enumerate(identity)]
        match += [table.c[f].is_not_distinct_from(bindparam(f"o{i}")) for i, f in enumerate(old)]
        new_values: dict[Column[Any], Any] = {
            table.c[f]: bindparam(f"s{i}") for i, f in enumerate(strategies)
        }
        new_values.update({table.c[f]: bindparam(f"c{i}") for i, f in enumerate(constants)})
        statement = update(table).where(and_(*match)).values(new_values)
        total = 0
        with self._transaction(collection) as conn:
            for clause in clauses:
                query = select(*read).where(clause)
                if self.backend != "sqlite":
                    query = query.with_for_update()
                rows = conn.execute(query).mappings().all()
                if not rows:
                    continue
                params = [
                    self._mask_params(collection, row, identity, old, strategies, infos, constants)
                    for row in rows
                ]
                total += conn.execute(statement, params).rowcount
        return total

    @staticmethod
    def _mask_params(
        collection: str,
        row: Mapping[Any, Any],
        identity: list[str],
        old: list[str],
        strategies: Mapping[str, MaskStrategy],
        infos: Mapping[str, Any],
        constants: Mapping[str, Any],
    ) -> dict[str, Any]:
        params = {f"k{i}": row[f] for i, f in enumerate(identity)}
        params.update({f"o{i}": row[f] for i, f in enumerate(old)})
        for i, (field, strategy) in enumerate(strategies.items()):
            try:
                new = strategy(row[field], infos[field])
            except Exception as exc:
                # The exception's text may quote the value: report only its type.
                raise ConnectorError(
                    f"the masking strategy for {collection!r}.{field!r} failed "
                    f"({type(exc).__name__})"
                ) from None
            params[f"s{i}"] = writable_value(collection, infos[field], new)
        params.update({f"c{i}": v for i, v in enumerate(constants.values())})
        return params

    def delete(self, collection: str, keys: Sequence[Key]) -> int:
        """Delete the keyed rows; returns rows deleted. Referring rows must go first."""
        table = self._table(collection)
        clauses = list(self._key_clauses(table, collection, keys))
        if not clauses:
            return 0
        if len(clauses) == 1:
            with self._one_statement(collection) as conn:
                return conn.execute(delete(table).where(clauses[0])).rowcount
        total = 0
        with self._transaction(collection) as conn:
            for clause in clauses:
                total += conn.execute(delete(table).where(clause)).rowcount
        return total


if TYPE_CHECKING:  # mypy proves that the SQL connector keeps the contract
    _contract: Connector = SQLConnector("sqlite://")

"""One retention rule against its live table: checks, predicates, counts, and the
statements of a batch (by primary key, or by slices of blocks on PostgreSQL)."""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Table,
    and_,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy import text as sql_text

from datavern.connectors.base import CollectionInfo, ColumnInfo, ConnectorError
from datavern.connectors.sql import SQLConnector
from datavern.register.schema import (
    DsrSettings,
    Register,
)
from datavern.retention import rules
from datavern.retention.common import RuleEntry, _connection_and_table
from datavern.retention.holds import ActiveHolds, subject_keys
from datavern.retention.rules import (
    HoldSpec,
)

# --------------------------------------------------------------------------- #
# Sweeping one rule
# --------------------------------------------------------------------------- #


def _kind_of(column: ColumnInfo, sql_column: Any) -> rules.ColumnKind | None:
    if column.kind == "date":
        return "date"
    if column.kind == "datetime":
        return "aware" if getattr(sql_column.type, "timezone", False) else "naive"
    return None


@dataclass
class Counts:
    due: int = 0
    held: int = 0
    oldest: Any = None


class RuleSweep:
    """One rule against its live table: predicates, counts, batches."""

    def __init__(
        self,
        entry: RuleEntry,
        register: Register,
        connector_for: Callable[[str], SQLConnector],
        cutoff_day: date,
    ) -> None:
        self.entry = entry
        self.spec = entry.spec
        self.register = register
        self.connector_for = connector_for
        self.cutoff = cutoff_day
        self.connection, self.table_name = _connection_and_table(
            register, self.spec.dataset, self.spec.collection
        )
        self.connector = connector_for(self.connection)
        self.problems: list[str] = []
        self.info: CollectionInfo | None = None
        self.table: Table | None = None
        self.pk: tuple[str, ...] = ()
        self.server_version: tuple[int, ...] = ()
        self._block_statement: Any = None
        self.trigger_kind: rules.ColumnKind | None = None
        self.masks: dict[str, Any] = {}
        self.constant_masks = True
        self.summary: Table | None = None
        self.summary_name: str | None = None
        self.holds: list[HoldSpec] = []
        self.hold_ids: tuple[int, ...] = ()
        self.whole_collection_held = False
        self.held_expr: ColumnElement[bool] | None = None
        self.subject_held: set[tuple[Any, ...]] = set()

    # -- checks against the live database ------------------------------------------

    def check(self) -> list[str]:
        """Every reason this rule cannot run; nothing is read but the table's definition."""
        spec = self.spec
        where = f"rule {spec.key!r}"
        try:
            self.info = self.connector.collection(self.table_name)
            self.table = self.connector.table(self.table_name)
        except ConnectorError as exc:
            return [f"{where}: {exc}"]
        info = self.info
        problems: list[str] = []
        self.pk = info.primary_key
        self.server_version = self._server_version()
        if not self.pk and not self.blocks_possible():
            problems.append(
                f"{where}: table {self.table_name!r} has no primary key; a sweep pages through "
                "a table by its primary key (add one, e.g. an identity column), or by its "
                "physical blocks on PostgreSQL 14 and later"
            )
        columns = set(info.column_names)
        if spec.trigger_field not in columns:
            problems.append(
                f"{where}: table {self.table_name!r} in connection {self.connection!r} has no "
                f"field {spec.trigger_field!r}"
            )
        else:
            self.trigger_kind = _kind_of(
                info.column(spec.trigger_field), self.table.c[spec.trigger_field]
            )
            if self.trigger_kind is None:
                problems.append(
                    f"{where}: field {spec.trigger_field!r} is "
                    f"{info.column(spec.trigger_field).type}, not a date or a timestamp"
                )
        if spec.action == "anonymise":
            problems.extend(self._check_masks(columns))
        if spec.action == "aggregate":
            problems.extend(self._check_summary(columns))
        self.problems = problems
        return problems

    def _check_masks(self, columns: set[str]) -> list[str]:
        from datavern.dsr.masking import MaskingProblem, masking_key, resolve_mask

        assert self.info is not None
        problems: list[str] = []
        settings = self.register.dsr or DsrSettings()
        key = masking_key()
        for name in self.spec.anonymise_fields:
            address = f"{self.spec.collection_key}.{name}"
            if name not in columns:
                problems.append(f"rule {self.spec.key!r}: table has no field {name!r}")
                continue
            override = settings.masking.fields.get(address)
            try:
                mask = resolve_mask(
                    name,
                    override.strategy if override else "null",
                    self.info.column(name),
                    explicit=override is not None,
                    fixed_value=(override.value if override and override.value else None)
                    or settings.masking.fixed_value,
                    key=key,
                    where=address,
                )
            except MaskingProblem as exc:
                problems.append(f"rule {self.spec.key!r}: {exc}")
                continue
            self.masks[name] = mask
            self.constant_masks = self.constant_masks and mask.is_constant
        return problems

    def _check_summary(self, columns: set[str]) -> list[str]:
        aggregate = self.entry.aggregate
        assert aggregate is not None
        where = f"rule {self.spec.key!r}"
        dataset, _, collection = aggregate.into.partition(".")
        connection, name = _connection_and_table(self.register, dataset, collection)
        if connection != self.connection:
            return [
                f"{where}: the summary collection {aggregate.into} is in connection "
                f"{connection!r}, the rows in {self.connection!r}; both must be in one database"
            ]
        try:
            info = self.connector.collection(name)
            self.summary = self.connector.table(name)
            self.summary_name = name
        except ConnectorError as exc:
            return [f"{where}: {exc}"]
        problems = []
        have = set(info.column_names)
        for group in aggregate.group_by:
            if group not in columns:
                problems.append(f"{where}: table {self.table_name!r} has no field {group!r}")
            if group not in have:
                problems.append(f"{where}: summary table {name!r} has no field {group!r}")
        if aggregate.count_field not in have:
            problems.append(
                f"{where}: summary table {name!r} has no field {aggregate.count_field!r}"
            )
        return problems

    # -- predicates ----------------------------------------------------------------

    def _pk_expr(self) -> Any:
        assert self.table is not None
        columns = [self.table.c[k] for k in self.pk]
        return columns[0] if len(columns) == 1 else tuple_(*columns)

    def _key_value(self, key: Sequence[Any]) -> Any:
        return key[0] if len(self.pk) == 1 else tuple_(*(literal(v) for v in key))

    def due_expr(self) -> ColumnElement[bool]:
        assert self.table is not None and self.trigger_kind is not None
        column = self.table.c[self.spec.trigger_field]
        bound = rules.bound_for_cutoff(self.cutoff, self.trigger_kind)
        return and_(column.is_not(None), column < bound)

    def work_expr(self) -> ColumnElement[bool]:
        """Rows the action still has to do: anonymised rows are not anonymised twice."""
        if self.spec.action != "anonymise":
            return true()
        assert self.table is not None
        parts = []
        for name, mask in self.masks.items():
            column = self.table.c[name]
            if mask.is_constant:
                parts.append(column.is_distinct_from(mask.constant))
            else:
                parts.append(and_(column.is_not(None), not_(column.like("dv:%"))))
        return or_(*parts)

    def set_holds(self, holds: ActiveHolds) -> None:
        """Compile the active holds on this collection into predicates and key sets."""
        collection = self.spec.collection_key
        self._block_statement = None
        relevant = holds.for_collection(collection)
        self.holds = relevant
        self.hold_ids = tuple(h.id for h in relevant)
        self.whole_collection_held = any(h.scope == "collection" for h in relevant)
        record_exprs = [self._conditions_expr(h) for h in relevant if h.scope == "records"]
        self.held_expr = or_(*record_exprs) if record_exprs else None
        self.subject_held = set()
        subjects = [h for h in relevant if h.scope == "subject"]
        for hold in subjects:
            identities = holds.identities.get(hold.id)
            if not identities or not self.pk:
                # A person's rows cannot be told apart here (no identity to walk from, or
                # no key to name them by): the hold keeps the whole collection.
                self.whole_collection_held = True
                continue
            found = subject_keys(self.register, identities, self.connector_for)
            self.subject_held |= found.get(collection, set())

    def _conditions_expr(self, hold: HoldSpec) -> ColumnElement[bool]:
        assert self.table is not None and self.info is not None
        parts: list[ColumnElement[bool]] = []
        for cond in hold.conditions:
            if cond.field not in self.table.c:
                # A field the table does not have cannot be checked: the hold covers every
                # row (when in doubt, keep).
                parts.append(cast(null(), Boolean))
                continue
            column = self.table.c[cond.field]
            info = self.info.column(cond.field)
            kind = _kind_of(info, column) or info.kind
            if cond.op == "is_null":
                parts.append(column.is_(None))
                continue
            if cond.op == "not_null":
                parts.append(column.is_not(None))
                continue
            try:
                values = [rules.coerce_for_kind(v, kind) for v in cond.values]
            except (ValueError, TypeError, ArithmeticError):
                parts.append(cast(null(), Boolean))
                continue
            left: Any = column
            if kind == "string":
                left = func.lower(column)
                values = [str(v).lower() for v in values]
            if cond.op == "in":
                parts.append(left.in_(values))
            else:
                parts.append(_compare_expr(cond.op, left, values[0]))
        return and_(*parts)

    def sweep_expr(self) -> ColumnElement[bool]:
        """Due, not held by a record-set hold, still to do."""
        parts = [self.due_expr(), self.work_expr()]
        if self.whole_collection_held:
            parts.append(false())
        if self.held_expr is not None:
            # NOT(unknown) is unknown, so a row a condition cannot judge stays (held).
            parts.append(not_(self.held_expr))
        return and_(*parts)

    # -- counts -------------------------------------------------------------------------

    def estimate_due(self) -> int:
        """The planner's estimate of the rows due (PostgreSQL), for progress only."""
        assert self.table is not None
        # The estimate of the rows a plain SELECT returns: the top node's "Plan Rows".
        query = select(literal(1)).select_from(self.table).where(self.sweep_expr())
        with self.connector.connection(self.table_name) as conn:
            compiled = query.compile(conn)
            plan = conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params
            ).scalar_one()
        try:
            node = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            return max(0, int(node.get("Plan Rows", 0)))
        except (KeyError, IndexError, TypeError, ValueError):
            return 0

    def counts(self) -> Counts:
        """Rows due (still to do) and, of them, the held; the oldest due trigger date."""
        assert self.table is not None
        table = self.table
        trigger = table.c[self.spec.trigger_field]
        due = and_(self.due_expr(), self.work_expr())
        with self.connector.connection(self.table_name) as conn:
            total, oldest = conn.execute(
                select(func.count(), func.min(trigger)).select_from(table).where(due)
            ).one()
            sweepable = total
            if self.whole_collection_held:
                sweepable = 0
            elif self.held_expr is not None:
                sweepable = conn.execute(
                    select(func.count()).select_from(table).where(self.sweep_expr())
                ).scalar_one()
            subject = 0
            if self.subject_held and sweepable:
                subject = sum(
                    conn.execute(
                        select(func.count())
                        .select_from(table)
                        .where(self.sweep_expr(), self._pk_expr().in_(chunk))
                    ).scalar_one()
                    for chunk in _chunks(self._pk_values(self.subject_held), 1000)
                )
        return Counts(due=int(total), held=int(total - sweepable + subject), oldest=oldest)

    def _pk_values(self, keys: Iterable[tuple[Any, ...]]) -> list[Any]:
        return [k[0] if len(self.pk) == 1 else k for k in keys]

    # -- batches ---------------------------------------------------------------------------

    def next_batch(self, after: tuple[Any, ...] | None, size: int) -> list[tuple[Any, ...]]:
        """Keys of the next ``size`` due, unheld rows after ``after`` (a plain read)."""
        assert self.table is not None
        pk = [self.table.c[k] for k in self.pk]
        query = select(*pk).where(self.sweep_expr())
        if after is not None:
            query = query.where(self._pk_expr() > self._key_value(after))
        query = query.order_by(*pk).limit(size)
        with self.connector.connection(self.table_name) as conn:
            return [tuple(row) for row in conn.execute(query)]

    # -- physical blocks (PostgreSQL 14+): the same scan as one DELETE, a slice at a time --

    def _server_version(self) -> tuple[int, ...]:
        if self.connector.backend != "postgresql":
            return ()
        with self.connector.connection(self.table_name) as conn:
            info = conn.dialect.server_version_info or ()
        return tuple(int(part) for part in info if isinstance(part, int))

    def blocks_possible(self) -> bool:
        """Whether batches can be slices of the table's blocks (TID range scans, PG 14+)."""
        return self.connector.backend == "postgresql" and self.server_version >= (14,)

    def block_mode(self) -> bool:
        """Blocks unless a batch must name its rows (a person's rows kept, pseudonyms)."""
        return (
            self.blocks_possible()
            and not self.subject_held
            and not (self.spec.action == "anonymise" and not self.constant_masks)
        )

    def block_layout(self) -> tuple[int, float]:
        """(blocks in the table now, rows per block as the statistics have it)."""
        assert self.table is not None
        with self.connector.connection(self.table_name) as conn:
            name = conn.dialect.identifier_preparer.format_table(self.table)
            blocks, rows, pages = conn.execute(
                sql_text(
                    "SELECT pg_relation_size(CAST(:rel AS regclass)) "
                    "/ current_setting('block_size')::bigint, c.reltuples, c.relpages "
                    "FROM pg_class c WHERE c.oid = CAST(:rel AS regclass)"
                ),
                {"rel": name},
            ).one()
        per_block = float(rows) / float(pages) if pages and rows and rows > 0 else 50.0
        return int(blocks), max(1.0, per_block)

    @staticmethod
    def block_expr(lo: int, hi: int) -> ColumnElement[bool]:
        clause = sql_text(_BLOCKS_SQL).bindparams(dv_block_lo=f"({lo},0)", dv_block_hi=f"({hi},0)")
        return clause  # type: ignore[return-value]

    def remaining_blocks(self, lo: int, hi: int) -> int:
        assert self.table is not None
        with self.connector.connection(self.table_name) as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(self.table)
                    .where(self.sweep_expr(), self.block_expr(lo, hi))
                ).scalar_one()
            )

    def apply_blocks(
        self, lo: int, hi: int, before_commit: Callable[[int], bool]
    ) -> tuple[int, float] | None:
        """The action on blocks [lo, hi) in one transaction. ``before_commit(rows)`` records
        the batch in Datavern's database while the rows are still locked; when it answers
        False (a hold changed meanwhile) the transaction is rolled back and None returned."""
        assert self.table is not None
        if self._block_statement is None:
            # Built once per set of holds and reused: only the block numbers change.
            where = and_(self.sweep_expr(), sql_text(_BLOCKS_SQL))
            if self.spec.action == "delete":
                self._block_statement = delete(self.table).where(where)
            elif self.spec.action == "anonymise":
                values = {self.table.c[f]: m.constant for f, m in self.masks.items()}
                self._block_statement = update(self.table).where(where).values(values)
            else:
                self._block_statement = where
        params = {"dv_block_lo": f"({lo},0)", "dv_block_hi": f"({hi},0)"}
        started = _time.perf_counter()
        try:
            with self.connector.transaction(self.table_name) as conn:
                if self.spec.action == "aggregate":
                    done = self._aggregate(conn, self._block_statement, lock=False, params=params)
                else:
                    done = int(conn.execute(self._block_statement, params).rowcount)
                if not before_commit(done):
                    raise _Rollback()
        except _Rollback:
            return None
        return done, _time.perf_counter() - started

    def next_range(
        self, after: tuple[Any, ...] | None, size: int
    ) -> tuple[tuple[Any, ...] | None, int, list[tuple[Any, ...]]]:
        """(last key, number of rows, keys) of the next batch; keys only when the batch needs
        them (subject holds, pseudonyms, composite keys): otherwise one aggregate row is read
        instead of ``size`` keys."""
        assert self.table is not None
        needs_keys = (
            bool(self.subject_held)
            or len(self.pk) > 1
            or (self.spec.action == "anonymise" and not self.constant_masks)
        )
        if needs_keys:
            keys = self.next_batch(after, size)
            return (keys[-1] if keys else None), len(keys), keys
        column = self.table.c[self.pk[0]]
        inner = select(column).where(self.sweep_expr())
        if after is not None:
            inner = inner.where(column > after[0])
        batch = inner.order_by(column).limit(size).subquery()
        first = next(iter(batch.c))
        with self.connector.connection(self.table_name) as conn:
            last, count = conn.execute(
                select(func.max(first), func.count()).select_from(batch)
            ).one()
        return ((last,) if count else None), int(count), []

    def range_expr(
        self, lo: tuple[Any, ...] | None, hi: tuple[Any, ...], skip: Sequence[tuple[Any, ...]]
    ) -> ColumnElement[bool]:
        parts = [self.sweep_expr(), self._pk_expr() <= self._key_value(hi)]
        if lo is not None:
            parts.append(self._pk_expr() > self._key_value(lo))
        if skip:
            parts.append(self._pk_expr().not_in(self._pk_values(skip)))
        return and_(*parts)

    def remaining(
        self, lo: tuple[Any, ...] | None, hi: tuple[Any, ...], skip: Sequence[tuple[Any, ...]]
    ) -> int:
        assert self.table is not None
        with self.connector.connection(self.table_name) as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(self.table)
                    .where(self.range_expr(lo, hi, skip))
                ).scalar_one()
            )

    def apply(
        self,
        lo: tuple[Any, ...] | None,
        hi: tuple[Any, ...],
        keys: Sequence[tuple[Any, ...]],
        skip: Sequence[tuple[Any, ...]],
    ) -> tuple[int, float]:
        """Do the rule's action on the batch in one transaction; (rows done, seconds locked)."""
        assert self.table is not None
        where = self.range_expr(lo, hi, skip)
        action = self.spec.action
        if action == "anonymise" and not self.constant_masks:
            # Pseudonyms and random texts are computed row by row: the connector reads and
            # writes the batch's rows in one transaction (SELECT ... FOR UPDATE).
            act = [k for k in keys if k not in set(skip)]
            started = _time.perf_counter()
            done = self.connector.mask(
                self.table_name,
                [dict(zip(self.pk, k, strict=True)) for k in act],
                {f: m.write_value() for f, m in self.masks.items()},
            )
            return done, _time.perf_counter() - started
        started = _time.perf_counter()
        with self.connector.transaction(self.table_name) as conn:
            if action == "delete":
                done = conn.execute(delete(self.table).where(where)).rowcount
            elif action == "anonymise":
                values = {self.table.c[f]: m.constant for f, m in self.masks.items()}
                done = conn.execute(update(self.table).where(where).values(values)).rowcount
            else:
                done = self._aggregate(conn, where)
        return int(done), _time.perf_counter() - started

    def _aggregate(
        self,
        conn: Any,
        where: ColumnElement[bool],
        lock: bool = True,
        params: Mapping[str, Any] | None = None,
    ) -> int:
        assert self.table is not None and self.summary is not None
        aggregate = self.entry.aggregate
        assert aggregate is not None
        # Lock the batch's rows first, so that the count and the delete see the same rows.
        if lock and self.connector.backend != "sqlite":
            conn.execute(select(*[self.table.c[k] for k in self.pk]).where(where).with_for_update())
        groups = [self.table.c[g] for g in aggregate.group_by]
        counted = select(*groups, func.count()).where(where)
        if groups:
            counted = counted.group_by(*groups)
        target = [self.summary.c[g] for g in aggregate.group_by]
        target.append(self.summary.c[aggregate.count_field])
        conn.execute(insert(self.summary).from_select(target, counted), dict(params or {}))
        return int(conn.execute(delete(self.table).where(where), dict(params or {})).rowcount)


_BLOCKS_SQL = "ctid >= CAST(:dv_block_lo AS tid) AND ctid < CAST(:dv_block_hi AS tid)"


class _Rollback(Exception):
    """Undo a batch's transaction (a hold changed while it ran)."""


def _compare_expr(op: str, left: Any, value: Any) -> ColumnElement[bool]:
    if op == "=":
        return left == value  # type: ignore[no-any-return]
    if op == "!=":
        return left != value  # type: ignore[no-any-return]
    if op == "<":
        return left < value  # type: ignore[no-any-return]
    if op == "<=":
        return left <= value  # type: ignore[no-any-return]
    if op == ">":
        return left > value  # type: ignore[no-any-return]
    return left >= value  # type: ignore[no-any-return]


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]

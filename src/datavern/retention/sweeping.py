"""Retention runs: starting or continuing one, sweeping rule by rule and batch by batch
(slices on several connections on PostgreSQL), and the per-batch progress record that
makes a run resumable after a kill."""

from __future__ import annotations

import json
import os
import threading
import time as _time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    Connection,
    case,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from datavern.connectors.base import ConnectorError, Locked
from datavern.core import audit, clock, lease
from datavern.core.config import get_settings
from datavern.core.db import get_engine, session_scope
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem
from datavern.dsr import crypto
from datavern.register.schema import (
    Register,
)
from datavern.retention import rules
from datavern.retention.common import (
    AUDIT_RUN,
    DEFAULT_BATCH_SIZE,
    DEFAULT_PARALLEL,
    LEASE,
    LOCK_RETRIES,
    MAX_BATCH_SIZE,
    MAX_PARALLEL,
    NO_RULES,
    PARALLEL_SETTING,
    RetentionError,
    RuleEntry,
    RunBusy,
    _Connectors,
    _register_version,
    applied_register,
    resolve_rules,
    today_oslo,
)
from datavern.retention.holds import ActiveHolds, active_holds
from datavern.retention.models import LegalHold, SweepRule, SweepRun
from datavern.retention.planning import _select
from datavern.retention.reports import RunView, _finish
from datavern.retention.tables import RuleSweep

FaultHook = Callable[[str, str, int], None]
_fault_hook: FaultHook | None = None


def set_fault_hook(hook: FaultHook | None) -> FaultHook | None:
    """Install a hook called with (point, rule, batch) around each batch (tests).

    Points: ``noted`` (batch noted, nothing written), ``written`` (the company's
    database committed, Datavern's record not yet).
    """
    global _fault_hook
    previous, _fault_hook = _fault_hook, hook
    return previous


# --------------------------------------------------------------------------- #
# Runs
# --------------------------------------------------------------------------- #


_owner = lease.owner


def _lease_free(run: SweepRun, now: datetime) -> bool:
    return lease.lease_free(run.lease_owner, run.lease_until, now)


def unfinished_run(session: Session) -> SweepRun | None:
    return session.execute(
        select(SweepRun)
        .where(SweepRun.state.in_(("running", "failed")))
        .order_by(SweepRun.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class StartResult:
    run_id: str
    resumed: bool


def start_run(
    session: Session,
    *,
    actor: str,
    only: Sequence[str] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    scheduled: bool = False,
    fresh: bool = False,
) -> StartResult:
    """A new run, or the unfinished one (killed or failed) to continue.

    ``fresh`` abandons an unfinished run first (its report says so) and starts anew.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidInput(Problem(f"the batch size is 1 to {MAX_BATCH_SIZE}", path="batch-size"))
    now = clock.now()
    previous = unfinished_run(session)
    if previous is not None and not _lease_free(previous, now):
        raise RunBusy(
            f"sweep {previous.id} is being run by {previous.lease_owner}; try again later"
        )
    if previous is not None and fresh:
        previous.state = "abandoned"
        previous.finished_at = now
        previous.lease_owner = None
        audit.record(
            session, "retention.run.abandoned", AUDIT_RUN.format(previous.id), {}, actor=actor
        )
        previous = None
    if previous is not None:
        if only and sorted(only) != sorted(previous.only_rules):
            raise InvalidInput(
                Problem(
                    f"sweep {previous.id} (rules: {', '.join(previous.only_rules) or 'all'}) is "
                    "unfinished: continue it with `datavern retention run` first, or start "
                    "anew with --fresh",
                    path="rule",
                )
            )
        previous.resumed += 1
        previous.state = "running"
        previous.error = None
        previous.lease_owner = _owner()
        previous.lease_until = now + LEASE
        return StartResult(previous.id, True)
    version, register = applied_register(session)
    entries = _select(resolve_rules(register), only)
    if not entries:
        raise InvalidInput(Problem(NO_RULES, path="retention_rules"))
    day = today_oslo(now)
    run = SweepRun(
        id=uuid.uuid4().hex,
        state="running",
        register_version=version,
        today=day,
        batch_size=batch_size,
        only_rules=list(only),
        created_by=actor,
        started_at=now,
        resumed=0,
        lease_owner=_owner(),
        lease_until=now + LEASE,
        scheduled=scheduled,
    )
    session.add(run)
    session.flush()  # the run's row first: its rules refer to it
    for position, entry in enumerate(entries):
        session.add(
            SweepRule(
                run_id=run.id,
                position=position,
                rule=entry.spec.key,
                collection=entry.spec.collection_key,
                action=entry.spec.action,
                description=entry.spec.describe(),
                legal_basis=entry.legal_basis,
                cutoff=rules.cutoff(entry.spec, day),
                state="pending",
                batches=0,
                due_at_start=0,
                deleted=0,
                anonymised=0,
                aggregated=0,
                held=0,
                holds=[],
                max_batch_seconds=0.0,
            )
        )
    audit.record(
        session,
        "retention.run.start",
        AUDIT_RUN.format(run.id),
        {
            "rules": [e.spec.key for e in entries],
            "today": day.isoformat(),
            "batch_size": batch_size,
        },
        actor=actor,
    )
    return StartResult(run.id, False)


Progress = Callable[[str, int, int], None]
"""Called with (rule, rows done, rows to do) as batches finish."""


def run_sweep(
    run_id: str, *, actor: str, progress: Progress | None = None, parallel: int | None = None
) -> RunView:
    """Execute (or continue) run ``run_id`` to its end; returns the finished run.

    ``parallel``: connections sweeping slices of a table at once on PostgreSQL (see
    parallel_degree); elsewhere batches run one at a time."""
    degree = parallel_degree(parallel)
    with session_scope() as session:
        run = session.get(SweepRun, run_id)
        if run is None:
            raise NotFound(f"no retention run {run_id!r}")
        register = _register_version(session, run.register_version)
        rule_rows = list(
            session.execute(
                select(SweepRule).where(SweepRule.run_id == run_id).order_by(SweepRule.position)
            ).scalars()
        )
        for row in rule_rows:
            session.expunge(row)
        batch_size = run.batch_size
    entries = {e.spec.key: e for e in resolve_rules(register)}
    connectors = _Connectors()
    failed: list[str] = []
    try:
        _sweep_rules(
            run_id, rule_rows, entries, register, connectors, batch_size, actor, progress, failed,
            degree,
        )  # fmt: skip
    finally:
        _close_bookkeeping()
    return _finish(run_id, actor, failed)


def _sweep_rules(
    run_id: str,
    rule_rows: list[SweepRule],
    entries: Mapping[str, RuleEntry],
    register: Register,
    connectors: _Connectors,
    batch_size: int,
    actor: str,
    progress: Progress | None,
    failed: list[str],
    degree: int = 1,
) -> None:
    for row in rule_rows:
        if row.state in ("done", "skipped"):
            continue
        entry = entries.get(row.rule)
        if entry is None:  # pragma: no cover - the register version is pinned
            _rule_failed(row.id, f"rule {row.rule!r} is not in register version")
            failed.append(row.rule)
            continue
        try:
            _sweep_rule(
                run_id, row, entry, register, connectors, batch_size, actor, progress, degree
            )
        except (DatavernError, ConnectorError) as exc:
            _rule_failed(row.id, str(exc))
            failed.append(f"{row.rule}: {exc}")


def _rule_failed(rule_id: int, error: str) -> None:
    with session_scope() as session:
        row = session.get(SweepRule, rule_id)
        assert row is not None
        row.state = "failed"
        row.error = error
        row.finished_at = clock.now()


def _sweep_rule(
    run_id: str,
    row: SweepRule,
    entry: RuleEntry,
    register: Register,
    connectors: _Connectors,
    batch_size: int,
    actor: str,
    progress: Progress | None,
    degree: int = 1,
) -> None:
    sweep = RuleSweep(entry, register, connectors, row.cutoff)
    problems = sweep.check()
    if problems:
        raise RetentionError("; ".join(problems) + "; nothing was changed for this rule")
    with session_scope() as session:
        holds = active_holds(session)
    sweep.set_holds(holds)
    first = row.state == "pending"
    with session_scope() as session:
        stored = session.get(SweepRule, row.id)
        assert stored is not None
        if first:
            if sweep.holds or not sweep.blocks_possible():
                counts = sweep.counts()
                stored.due_at_start = counts.due
                stored.held = counts.held
            else:
                # Nothing held: the rows due are the rows the sweep does (counted as it
                # goes); the planner's estimate is enough for the progress bar. Counting
                # ten million rows first would cost a scan of its own.
                stored.due_at_start = sweep.estimate_due()
                stored.held = 0
            stored.started_at = clock.now()
        stored.state = "running"
        stored.error = None
        stored.holds = list(sweep.hold_ids)
        last = _load(stored.last_key, "a sweep's last key")
        pending = _load(stored.pending, "a sweep's batch")
        total = stored.due_at_start - stored.held
        done = stored.deleted + stored.anonymised + stored.aggregated
        batches = stored.batches
    blocks = sweep.block_mode()
    last_key: tuple[Any, ...] | None = None
    position: tuple[int, int] | None = None  # block mode: (next block, blocks at the start)
    if last is not None and last and last[0] == BLOCKS:
        position = (int(last[1]), int(last[2])) if blocks else None
    elif last is not None and not blocks:
        last_key = tuple(last)
    # (Progress kept in the other mode is not used: the sweep starts over in this one, which
    # finds nothing twice, as done rows are no longer due.)
    if pending is not None:
        # A batch was under way when the run stopped: what of it is still to do was not done.
        if pending.get("mode") == "blocks":
            # Slices noted on one or more connections; the saved position is below each.
            slices = pending.get("slices") or [pending]
            left = 0
            finished_slices = 0
            for noted in slices:
                still = sweep.remaining_blocks(int(noted["lo"]), int(noted["hi"]))
                finished_slices += 1 if int(noted["expected"]) - still > 0 else 0
                left += still
            if blocks and position is None:
                position = (min(int(n["lo"]) for n in slices), int(pending["total"]))
            marker: tuple[Any, ...] | None = (
                (BLOCKS, *position) if position is not None else last_key
            )
            pending["expected"] = sum(int(n["expected"]) for n in slices)
        else:
            lo = tuple(pending["lo"]) if pending["lo"] is not None else None
            hi = tuple(pending["hi"])
            skip = [tuple(k) for k in pending["skip"]]
            left = sweep.remaining(lo, hi, skip)
            if not blocks:
                last_key = hi if left == 0 else lo
            marker = (
                last_key if not blocks else ((BLOCKS, *position) if position is not None else None)
            )
        finished = max(0, int(pending["expected"]) - left)
        done += finished
        if pending.get("mode") != "blocks":
            finished_slices = 1 if finished else 0
        batches += finished_slices
        _record(row.id, entry.spec.action, finished, marker, 0.0, batches_add=finished_slices)
    if blocks:
        switched = _sweep_blocks(
            run_id, row, sweep, holds, position, batch_size, done, batches, total, progress,
            degree,
        )  # fmt: skip
        if switched is None:
            _finish_rule(row.id, sweep)
            return
        holds, done, batches = switched
        last_key = None
    attempts = 0
    action = entry.spec.action
    recorded: tuple[int, tuple[Any, ...], float] | None = None
    while not sweep.whole_collection_held:
        upper, size, keys = sweep.next_range(last_key, batch_size)
        if upper is None:
            break
        hi = upper
        skip = [k for k in keys if k in sweep.subject_held]
        act = size - len(skip)
        note = {
            "lo": list(last_key) if last_key is not None else None,
            "hi": list(hi),
            "expected": act,
            "skip": [list(k) for k in skip],
        }
        # One commit per batch: the batch before is recorded, this one noted.
        current = _checkpoint(row.id, run_id, action, recorded, note)
        recorded = None
        if current != holds.ids():
            # A hold was added or ended since the batch was chosen: choose again under it.
            _checkpoint(row.id, run_id, action, None, None)
            with session_scope() as session:
                holds = active_holds(session)
            sweep.set_holds(holds)
            continue
        batch_number = batches + 1
        if _fault_hook is not None:
            _fault_hook("noted", row.rule, batch_number)
        try:
            count, seconds = sweep.apply(last_key, hi, keys, skip) if act else (0, 0.0)
        except Locked:
            attempts += 1
            _checkpoint(row.id, run_id, action, None, None)
            if attempts > LOCK_RETRIES:
                raise
            _time.sleep(0.5 * attempts)
            continue
        attempts = 0
        if _fault_hook is not None:
            _fault_hook("written", row.rule, batch_number)
        batches += 1
        done += count
        recorded = (count, hi, seconds)
        last_key = hi
        if progress is not None:
            progress(row.rule, done, max(total, done))
    _checkpoint(row.id, run_id, action, recorded, None)
    _finish_rule(row.id, sweep)


def _finish_rule(rule_id: int, sweep: RuleSweep) -> None:
    with session_scope() as session:
        stored = session.get(SweepRule, rule_id)
        assert stored is not None
        if sweep.whole_collection_held:
            stored.held = stored.due_at_start
        # What was due is what the sweep did and what holds kept (on PostgreSQL without
        # holds the count at the start is only the planner's estimate).
        done = stored.deleted + stored.anonymised + stored.aggregated
        stored.due_at_start = done + stored.held
        stored.state = "done"
        stored.finished_at = clock.now()
        stored.pending = None


BLOCKS = "__blocks__"
MAX_STEP_FACTOR = 64


def parallel_degree(value: int | None = None) -> int:
    """How many connections a block sweep uses: ``value``, else the setting
    DATAVERN_RETENTION_PARALLEL, else min(2, the machine's cores)."""
    source = "parallel"
    if value is None:
        text = os.environ.get(PARALLEL_SETTING, "").strip()
        if not text:
            return max(1, min(DEFAULT_PARALLEL, os.cpu_count() or 1))
        source = PARALLEL_SETTING
        try:
            value = int(text)
        except ValueError:
            value = 0
    if not 1 <= value <= MAX_PARALLEL:
        raise InvalidInput(
            Problem(f"the number of parallel connections is 1 to {MAX_PARALLEL}", path=source)
        )
    return value


class _Slices:
    """A block sweep's shared state: the slices handed out to its connections, what each
    has noted, and what is done but not yet recorded. Everything is read and changed under
    ``lock``, and each record written from it is consistent: every slice committed in the
    company's database is either counted in the record or noted in its ``pending`` (to be
    checked on resume), and the position saved (``frontier``) is below every slice not
    known to be done, so a resumed run starts there and finds nothing twice."""

    def __init__(
        self,
        run_id: str,
        row: SweepRule,
        sweep: RuleSweep,
        holds: ActiveHolds,
        start: int,
        blocks_total: int,
        step: int,
        batch_size: int,
        done: int,
        batches: int,
        total: int,
        progress: Progress | None,
    ) -> None:
        self.lock = threading.Lock()
        self.run_id = run_id
        self.row = row
        self.sweep = sweep
        self.holds = holds
        self.next_lo = start
        self.blocks_total = blocks_total
        self.step = step
        self.max_step = step * MAX_STEP_FACTOR
        self.batch_size = batch_size
        self.done = done
        self.batches = batches
        self.handed = batches
        self.total = total
        self.progress = progress
        self.open: dict[int, int] = {}  # slice number -> its first block
        self.noted: dict[int, dict[str, int]] = {}  # slice number -> {lo, hi, expected}
        self.unrecorded: list[tuple[int, float]] = []  # (rows, seconds) committed, not counted
        self.stop = False
        self.hold_changed = False
        self.error: BaseException | None = None

    def frontier(self) -> int:
        return min([self.next_lo, *self.open.values()])

    def take(self) -> tuple[int, int, int] | None:
        """(slice number, first block, end block) of the next slice, or None when done."""
        with self.lock:
            if self.stop or self.next_lo >= self.blocks_total:
                return None
            lo = self.next_lo
            hi = min(self.blocks_total, lo + self.step)
            self.next_lo = hi
            self.handed += 1
            self.open[self.handed] = lo
            return self.handed, lo, hi

    def write(self) -> tuple[int, ...]:
        """Record what is done and note what is under way, in one commit (under ``lock``);
        returns the ids of the holds active now."""
        rows = sum(count for count, _ in self.unrecorded)
        seconds = max((s for _, s in self.unrecorded), default=0.0)
        pending: dict[str, Any] | None = None
        if self.noted:
            pending = {
                "mode": "blocks",
                "total": self.blocks_total,
                "slices": [self.noted[k] for k in sorted(self.noted)],
            }
        ids = _write_progress(
            self.row.id,
            self.run_id,
            self.sweep.spec.action,
            rows=rows,
            batches=len(self.unrecorded),
            seconds=seconds,
            last_key=(BLOCKS, self.frontier(), self.blocks_total),
            pending=pending,
        )
        self.unrecorded = []
        return ids

    def before_commit(self, number: int, lo: int, hi: int, count: int) -> bool:
        """Note the slice (its rows still locked); False rolls it back."""
        with self.lock:
            if self.stop:
                return False
            self.noted[number] = {"lo": lo, "hi": hi, "expected": count}
            ids = self.write()
            if ids != self.holds.ids():
                # A hold was added or ended meanwhile: every connection stops, the sweep
                # continues under the new holds from the saved position.
                del self.noted[number]
                self.stop = True
                self.hold_changed = True
                return False
        if _fault_hook is not None:
            _fault_hook("noted", self.row.rule, number)
        return True

    def committed(self, number: int, lo: int, hi: int, count: int, seconds: float) -> None:
        with self.lock:
            del self.open[number]
            self.noted.pop(number, None)
            self.unrecorded.append((count, seconds))
            self.batches += 1
            self.done += count
            # Aim the next slice at about batch_size due rows: as dense as this one was.
            density = count / (hi - lo)
            wanted = int(self.batch_size / density) if density > 0 else self.step * 2
            self.step = max(1, min(self.max_step, wanted))
            if self.progress is not None:
                self.progress(self.row.rule, self.done, max(self.total, self.done))

    def failed(self, error: BaseException) -> None:
        with self.lock:
            self.stop = True
            if self.error is None:
                self.error = error

    def work(self) -> None:
        """One connection's loop: slices until none is left or the sweep stops."""
        try:
            while True:
                taken = self.take()
                if taken is None:
                    return
                number, lo, hi = taken
                attempts = 0
                while True:
                    try:
                        result = self.sweep.apply_blocks(
                            lo, hi, partial(self.before_commit, number, lo, hi)
                        )
                    except Locked:
                        attempts += 1
                        with self.lock:
                            self.noted.pop(number, None)
                        if attempts > LOCK_RETRIES:
                            raise
                        _time.sleep(0.5 * attempts)
                        continue
                    break
                if result is None:
                    return  # rolled back: the slice stays open, the position below it
                count, seconds = result
                if _fault_hook is not None:
                    _fault_hook("written", self.row.rule, number)
                self.committed(number, lo, hi, count, seconds)
        except BaseException as exc:  # handed to the sweep's thread, raised there
            self.failed(exc)

    def sweep_all(self, degree: int) -> None:
        """Run ``degree`` connections (this thread is one of them) until the end or a stop."""
        helpers = [
            threading.Thread(target=self.work, name=f"retention-slices-{n}", daemon=True)
            for n in range(1, degree)
        ]
        for thread in helpers:
            thread.start()
        self.work()
        for thread in helpers:
            thread.join()


def _sweep_blocks(
    run_id: str,
    row: SweepRule,
    sweep: RuleSweep,
    holds: ActiveHolds,
    position: tuple[int, int] | None,
    batch_size: int,
    done: int,
    batches: int,
    total: int,
    progress: Progress | None,
    degree: int = 1,
) -> tuple[ActiveHolds, int, int] | None:
    """Sweep slices of the table's blocks on PostgreSQL (TID range scans), each slice about
    ``batch_size`` due rows: the same scan as one DELETE, committed a slice at a time, on
    ``degree`` connections at once (each holding the locks of one slice at a time).

    A slice is noted in Datavern's database after its statement and before its commit,
    while its rows are still locked: a run stopped before the commit finds the rows still
    due (not done), one stopped after finds them gone (done), and counts them once.

    Returns None when done, or (holds, done, batches) when a new hold means the batch must
    name its rows: the caller continues by primary key.
    """
    layout_blocks, per_block = sweep.block_layout()
    start, blocks_total = position if position is not None else (0, layout_blocks)
    step = max(1, int(batch_size / per_block))
    while True:
        state = _Slices(
            run_id, row, sweep, holds, start, blocks_total, step, batch_size,
            done, batches, total, progress,
        )  # fmt: skip
        if not sweep.whole_collection_held:
            state.sweep_all(degree)
        if state.error is not None:
            # Nothing more is written: the last record is consistent (see _Slices).
            raise state.error
        with state.lock:
            state.write()
        done, batches, step = state.done, state.batches, state.step
        if not state.hold_changed:
            return None
        # A hold was added or ended meanwhile: nothing of the stopped slices was written.
        start = state.frontier()
        with session_scope() as session:
            holds = active_holds(session)
        sweep.set_holds(holds)
        if not sweep.block_mode():
            return holds, done, batches


@contextmanager
def _bookkeeping() -> Iterator[Connection]:
    """A transaction for a sweep's per-batch record, committed without waiting for the disk.

    A sweep writes one record per batch, and waiting for the disk each time would cost more
    than the batch. Without the wait a killed process loses nothing (the record is with the
    database server, or in SQLite's write-ahead log); only a power failure of the machine
    holding Datavern's own database can lose the last records, and then the batches they
    describe are done but missing from the counts (docs/retention.md). SQLite: a connection
    of its own with synchronous=NORMAL (write-ahead log); PostgreSQL: synchronous_commit off
    for this transaction only.
    """
    url = get_settings().effective_database_url
    if make_url(url).get_backend_name() != "sqlite":
        with get_engine(url).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield conn
        return
    engine = _relaxed_engines.get(url)
    if engine is None:
        # One connection, kept for the run and closed when it ends (_close_bookkeeping).
        engine = create_engine(
            url,
            pool_size=1,
            max_overflow=2,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _relaxed_sqlite)
        _relaxed_engines[url] = engine
    with engine.begin() as conn:
        yield conn


_relaxed_engines: dict[str, Any] = {}


def _close_bookkeeping() -> None:
    while _relaxed_engines:
        _url, engine = _relaxed_engines.popitem()
        engine.dispose()


def _relaxed_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_LEASE_EVERY = timedelta(seconds=30)
_lease_written: dict[str, datetime] = {}


def _store(value: Any) -> str | None:
    """A position or batch note for the database: block numbers as they are (they say
    nothing about anyone), primary keys sealed (a key can be an e-mail address)."""
    if value is None:
        return None
    if _is_blocks(value):
        return "json:" + json.dumps(list(value) if isinstance(value, tuple) else value)
    return crypto.seal(list(value) if isinstance(value, tuple) else value)


def _load(text: str | None, what: str) -> Any:
    if not text:
        return None
    if text.startswith("json:"):
        return json.loads(text[5:])
    return crypto.unseal(text, what)


def _is_blocks(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("mode") == "blocks"
    return isinstance(value, list | tuple) and bool(value) and value[0] == BLOCKS


def _checkpoint(
    rule_id: int,
    run_id: str,
    action: str,
    recorded: tuple[int, tuple[Any, ...], float] | None,
    note: dict[str, Any] | None,
) -> tuple[int, ...]:
    """Record the batch just done and note the next one, in one commit; returns the ids of
    the holds active now (so that the caller sees a hold added meanwhile)."""
    if recorded is None:
        return _write_progress(rule_id, run_id, action, pending=note)
    count, last_key, seconds = recorded
    return _write_progress(
        rule_id,
        run_id,
        action,
        rows=count,
        batches=1,
        seconds=seconds,
        last_key=last_key,
        pending=note,
    )


_KEEP = object()


def _write_progress(
    rule_id: int,
    run_id: str,
    action: str,
    *,
    rows: int = 0,
    batches: int = 0,
    seconds: float = 0.0,
    last_key: Any = _KEEP,
    pending: dict[str, Any] | None,
) -> tuple[int, ...]:
    """Add ``rows`` done in ``batches`` batches, save the position and the batches under
    way, in one commit; returns the ids of the holds active now.

    A few statements, once per batch: it is most of what a sweep costs beyond the work."""
    values: dict[str, Any] = {"pending": _store(pending)}
    if batches:
        column = {"delete": SweepRule.deleted, "anonymise": SweepRule.anonymised}.get(
            action, SweepRule.aggregated
        )
        values[column.key] = column + rows
        values["batches"] = SweepRule.batches + batches
        values["max_batch_seconds"] = case(
            (SweepRule.max_batch_seconds < seconds, seconds),
            else_=SweepRule.max_batch_seconds,
        )
    if last_key is not _KEEP:
        values["last_key"] = _store(last_key)
    now = clock.now()
    with _bookkeeping() as session:
        session.execute(update(SweepRule).where(SweepRule.id == rule_id).values(**values))
        if now - _lease_written.get(run_id, now - _LEASE_EVERY) >= _LEASE_EVERY:
            session.execute(
                update(SweepRun).where(SweepRun.id == run_id).values(lease_until=now + LEASE)
            )
            _lease_written[run_id] = now
        active = [
            hold_id
            for hold_id, starts, ends in session.execute(
                select(LegalHold.id, LegalHold.starts_at, LegalHold.ends_at)
            )
            if starts <= now and (ends is None or now < ends)
        ]
        return tuple(sorted(active))


def _add_count(stored: SweepRule, action: str, count: int) -> None:
    if action == "delete":
        stored.deleted += count
    elif action == "anonymise":
        stored.anonymised += count
    else:
        stored.aggregated += count


def _record(
    rule_id: int,
    action: str,
    count: int,
    last_key: tuple[Any, ...] | None,
    seconds: float,
    *,
    batches_add: int,
    run_id: str | None = None,
) -> None:
    with session_scope() as session:
        stored = session.get(SweepRule, rule_id)
        assert stored is not None
        _add_count(stored, action, count)
        stored.batches += batches_add
        stored.max_batch_seconds = max(stored.max_batch_seconds, seconds)
        stored.last_key = _store(last_key)
        stored.pending = None
        if run_id is not None:
            run = session.get(SweepRun, run_id)
            if run is not None:
                run.lease_until = clock.now() + LEASE

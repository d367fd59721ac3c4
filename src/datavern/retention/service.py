"""Retention use cases: rules from the register, legal holds, plans, sweeps, signed reports.

This module is the entry point (``run``) and names everything the CLI, the pages, the
tasks and the DSR engine use; the code is split by concern: ``common`` (limits, errors,
rules from the register), ``holds`` (legal holds), ``tables`` (a rule against its live
table), ``planning`` (dry runs), ``sweeping`` (runs, batches, the progress record) and
``reports`` (a run's view and signed report).

A sweep (``datavern retention run``) works rule by rule and, inside a rule,
batch by batch in primary-key order:

1. read the keys of the next ``batch_size`` due rows after the last key done
   (no lock is taken: a plain read);
2. note the batch (its key range and size) in Datavern's database;
3. in the company's database, in one short transaction: delete (or anonymise,
   or count into the summary table and delete) the due, unheld rows of that key
   range; the predicates are checked again inside the transaction, so a row
   that changed or was put on hold meanwhile is left alone;
4. record the batch as done: the last key, the counts.

No lock is held longer than step 3 of one batch. A run killed at any point
continues with ``datavern retention run``: a batch noted but not recorded is
checked (rows of its range still due and unheld were not done; the rest were)
and counted once; the cutoffs are those of the day the run started, so the end
state is the same as if it had never stopped.

Holds are read again before every batch: a hold added while a sweep runs
applies from the next batch on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput, NotFound
from datavern.retention.common import (
    AUDIT_HOLD,
    AUDIT_RUN,
    DEFAULT_BATCH_SIZE,
    DEFAULT_PARALLEL,
    LEASE,
    LOCK_RETRIES,
    MAX_BATCH_SIZE,
    MAX_PARALLEL,
    MAX_REASON,
    PARALLEL_SETTING,
    RetentionError,
    RuleEntry,
    RunBusy,
    SimulatedCrash,
    applied_register,
    builtin_rules,
    report_key,
    resolve_rules,
    today_oslo,
)
from datavern.retention.holds import (
    LEGAL_HOLD_PREFIX,
    ActiveHolds,
    ErasureHolds,
    HoldView,
    active_holds,
    add_hold,
    end_hold,
    erasure_holds,
    get_hold,
    list_holds,
    subject_keys,
)
from datavern.retention.planning import (
    PlanLine,
    plan,
)
from datavern.retention.reports import (
    RunView,
    get_run,
    list_runs,
    verify_run,
)
from datavern.retention.sweeping import (
    BLOCKS,
    MAX_STEP_FACTOR,
    FaultHook,
    Progress,
    StartResult,
    parallel_degree,
    run_sweep,
    set_fault_hook,
    start_run,
    unfinished_run,
)
from datavern.retention.tables import (
    Counts,
    RuleSweep,
)


def run(
    *,
    actor: str,
    only: Sequence[str] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    scheduled: bool = False,
    fresh: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[StartResult], None] | None = None,
    parallel: int | None = None,
) -> RunView:
    """Start (or continue) a sweep and run it to the end."""
    parallel_degree(parallel)  # a bad number is refused before anything starts
    with session_scope() as session:
        started = start_run(
            session,
            actor=actor,
            only=only,
            batch_size=batch_size,
            scheduled=scheduled,
            fresh=fresh,
        )
    if on_start is not None:
        on_start(started)
    return run_sweep(started.run_id, actor=actor, progress=progress, parallel=parallel)


__all__ = [
    "AUDIT_HOLD",
    "AUDIT_RUN",
    "BLOCKS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PARALLEL",
    "LEASE",
    "LEGAL_HOLD_PREFIX",
    "LOCK_RETRIES",
    "MAX_BATCH_SIZE",
    "MAX_PARALLEL",
    "MAX_REASON",
    "MAX_STEP_FACTOR",
    "PARALLEL_SETTING",
    "ActiveHolds",
    "Counts",
    "ErasureHolds",
    "FaultHook",
    "HoldView",
    "InvalidInput",
    "NotFound",
    "PlanLine",
    "Progress",
    "RetentionError",
    "RuleEntry",
    "RuleSweep",
    "RunBusy",
    "RunView",
    "SimulatedCrash",
    "StartResult",
    "active_holds",
    "add_hold",
    "applied_register",
    "builtin_rules",
    "end_hold",
    "erasure_holds",
    "get_hold",
    "get_run",
    "list_holds",
    "list_runs",
    "parallel_degree",
    "plan",
    "report_key",
    "resolve_rules",
    "run",
    "run_sweep",
    "set_fault_hook",
    "start_run",
    "subject_keys",
    "today_oslo",
    "unfinished_run",
    "verify_run",
]

"""Retention run reports: the view of a run, its signed report when it ends, listing and
verifying."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from datavern.core import audit, clock
from datavern.core.db import session_scope
from datavern.core.errors import NotFound
from datavern.retention import rules
from datavern.retention.common import AUDIT_RUN, report_key
from datavern.retention.models import SweepRule, SweepRun

# --------------------------------------------------------------------------- #
# Reports
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RunView:
    id: str
    state: str
    register_version: int
    today: date
    batch_size: int
    started_at: datetime
    finished_at: datetime | None
    resumed: int
    scheduled: bool
    error: str | None
    created_by: str
    report: dict[str, Any] | None
    signature: str | None
    rules: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "register_version": self.register_version,
            "today": self.today.isoformat(),
            "batch_size": self.batch_size,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "resumed": self.resumed,
            "scheduled": self.scheduled,
            "error": self.error,
            "created_by": self.created_by,
            "rules": self.rules,
            "report": self.report,
            "signature": self.signature,
        }


def _rule_json(row: SweepRule) -> dict[str, Any]:
    return {
        "rule": row.rule,
        "collection": row.collection,
        "action": row.action,
        "describe": row.description,
        "legal_basis": row.legal_basis,
        "cutoff": row.cutoff.isoformat(),
        "state": row.state,
        "due_at_start": row.due_at_start,
        "deleted": row.deleted,
        "anonymised": row.anonymised,
        "aggregated": row.aggregated,
        "held": row.held,
        "holds": list(row.holds or []),
        "batches": row.batches,
        "max_batch_seconds": round(row.max_batch_seconds, 6),
        "error": row.error,
    }


def _run_view(session: Session, run: SweepRun) -> RunView:
    rows = session.execute(
        select(SweepRule).where(SweepRule.run_id == run.id).order_by(SweepRule.position)
    ).scalars()
    return RunView(
        id=run.id,
        state=run.state,
        register_version=run.register_version,
        today=run.today,
        batch_size=run.batch_size,
        started_at=run.started_at,
        finished_at=run.finished_at,
        resumed=run.resumed,
        scheduled=run.scheduled,
        error=run.error,
        created_by=run.created_by,
        report=run.report,
        signature=run.signature,
        rules=[_rule_json(r) for r in rows],
    )


def _finish(run_id: str, actor: str, failed: list[str]) -> RunView:
    with session_scope() as session:
        run = session.get(SweepRun, run_id)
        assert run is not None
        now = clock.now()
        run.state = "failed" if failed else "done"
        run.error = "\n".join(failed) if failed else None
        run.finished_at = now
        run.lease_owner = None
        run.lease_until = None
        view = _run_view(session, run)
        totals = {
            k: sum(int(r[k]) for r in view.rules)
            for k in ("due_at_start", "deleted", "anonymised", "aggregated", "held", "batches")
        }
        report = {
            "run": run.id,
            "state": run.state,
            "register_version": run.register_version,
            "today": run.today.isoformat(),
            "started_at": run.started_at.isoformat(),
            "finished_at": now.isoformat(),
            "duration_seconds": round((now - run.started_at).total_seconds(), 3),
            "batch_size": run.batch_size,
            "resumed": run.resumed,
            "scheduled": run.scheduled,
            "created_by": run.created_by,
            "rules": view.rules,
            "totals": totals,
            "error": run.error,
        }
        # Canonical JSON round trip: the stored report is exactly what was signed.
        report = json.loads(rules.canonical_json(report))
        run.report = report
        run.signature = rules.sign_report(report, report_key())
        audit.record(
            session,
            f"retention.run.{run.state}",
            AUDIT_RUN.format(run.id),
            {"report": report, "signature": run.signature},
            actor=actor,
        )
        return _run_view(session, run)


def list_runs(session: Session, limit: int = 20) -> list[RunView]:
    runs = session.execute(
        select(SweepRun).order_by(SweepRun.started_at.desc()).limit(limit)
    ).scalars()
    return [_run_view(session, r) for r in runs]


def _find_run(session: Session, run_id: str) -> SweepRun:
    text = (run_id or "").strip().lower()
    if len(text) < 4 or not all(c in "0123456789abcdef" for c in text):
        raise NotFound(
            f"no retention run {run_id!r} (give the id or at least 4 of its first digits)"
        )
    matches = list(
        session.execute(select(SweepRun).where(SweepRun.id.startswith(text)).limit(2)).scalars()
    )
    if not matches:
        raise NotFound(f"no retention run {run_id!r}")
    if len(matches) > 1:
        raise NotFound(f"{run_id!r} names several runs; give more of the id")
    return matches[0]


def get_run(session: Session, run_id: str) -> RunView:
    return _run_view(session, _find_run(session, run_id))


def verify_run(session: Session, run_id: str) -> tuple[RunView, bool]:
    """The run and whether its stored report still matches its signature."""
    run = _find_run(session, run_id)
    view = _run_view(session, run)
    if run.report is None or run.signature is None:
        return view, False
    return view, rules.verify_report(run.report, run.signature, report_key())

"""The audit log detects an edited, reordered or deleted entry, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import delete, update

from datavern.core import audit
from datavern.core.db import session_scope


def _write(n: int) -> None:
    with session_scope() as session:
        for i in range(n):
            audit.record(session, "test.touch", f"row:{i}", {"fields": ["name"]}, actor="tester")


def _verify() -> audit.VerifyResult:
    with session_scope() as session:
        return audit.verify(session)


def test_intact_log_verifies(database_url: str) -> None:
    _write(5)
    result = _verify()
    assert result.ok and result.entries == 5


def test_edited_entry_is_named(database_url: str) -> None:
    _write(5)
    with session_scope() as session:
        session.execute(
            update(audit.AuditEntry).where(audit.AuditEntry.seq == 3).values(target="row:other")
        )
    result = _verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "changed" in result.reason


def test_deleted_entry_in_the_middle_is_found(database_url: str) -> None:
    _write(5)
    with session_scope() as session:
        session.execute(delete(audit.AuditEntry).where(audit.AuditEntry.seq == 2))
    result = _verify()
    assert not result.ok and result.first_bad_seq == 2


def test_deleted_last_entry_is_found(database_url: str) -> None:
    _write(4)
    with session_scope() as session:
        session.execute(delete(audit.AuditEntry).where(audit.AuditEntry.seq == 4))
    result = _verify()
    assert not result.ok and result.first_bad_seq == 4


def test_reordered_entries_are_found(database_url: str) -> None:
    _write(4)
    with session_scope() as session:
        rows = {
            e.seq: e
            for e in session.query(audit.AuditEntry).filter(audit.AuditEntry.seq.in_([2, 3]))
        }
        a, b = rows[2], rows[3]
        fields = ("at", "actor", "action", "target", "details", "prev_hash", "hash")
        va = {f: getattr(a, f) for f in fields}
        vb = {f: getattr(b, f) for f in fields}
        for f in fields:
            setattr(a, f, vb[f])
            setattr(b, f, va[f])
    result = _verify()
    assert not result.ok and result.first_bad_seq == 2


def test_rolled_back_work_leaves_no_entry(database_url: str) -> None:
    _write(2)
    try:
        with session_scope() as session:
            audit.record(session, "test.touch", "row:x", {}, actor="tester")
            raise RuntimeError("work failed")
    except RuntimeError:
        pass
    result = _verify()
    assert result.ok and result.entries == 2

"""The ledger's append on SQLite and PostgreSQL: appends from several threads at once
link into one intact chain (on PostgreSQL the chain lock is released before the disk
flush, and the flush is awaited after the commit), and an append whose transaction
rolls back leaves nothing behind and does not break the next one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from consent_fixtures import apply_register_text
from datavern.consent import service
from datavern.core.db import session_scope


def _append(i: int) -> None:
    with session_scope() as session:
        service.record(
            session,
            subject=f"account:{i}",
            purpose="nyhetsbrev",
            decision="grant" if i % 2 else "deny",
            recorded_by="test",
        )


def test_concurrent_appends_form_one_intact_chain(database_url: str, tmp_path: Path) -> None:
    apply_register_text(tmp_path / "register", url=database_url)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(15):
                _append(t * 100 + i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope() as session:
        check = service.verify_ledger(session)
        assert check.ok and check.records == 60
        assert service.state(session, "account:101", "nyhetsbrev").status == "granted"


def test_a_rolled_back_append_leaves_nothing(database_url: str, tmp_path: Path) -> None:
    apply_register_text(tmp_path / "register", url=database_url)
    _append(1)
    with pytest.raises(RuntimeError), session_scope() as session:
        service.record(
            session, subject="account:2", purpose="nyhetsbrev", decision="grant", recorded_by="t"
        )
        raise RuntimeError("the caller fails after appending")
    _append(3)
    with session_scope() as session:
        check = service.verify_ledger(session)
        assert check.ok and check.records == 2
        assert service.state(session, "account:2", "nyhetsbrev").decision is None

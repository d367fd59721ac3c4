"""The admin audit page's verify button checks the consent ledger too, like `datavern
audit verify`, and names the first bad record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from webhelpers import TestClient, csrf_of

from consent_fixtures import apply_register_text
from datavern.consent import service
from datavern.core.db import session_scope


@pytest.fixture
def applied(settings: Any, tmp_path: Path) -> None:
    apply_register_text(tmp_path / "register")


def _records() -> list[service.RecordView]:
    with session_scope() as session:
        return [
            service.record(
                session,
                subject=f"account:{i}",
                purpose="nyhetsbrev",
                decision="grant",
                recorded_by="test",
            )
            for i in (1, 2, 3)
        ]


def test_the_verify_button_checks_the_consent_ledger(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    records = _records()
    client = logged_in("privacy_officer")
    page = client.get("/admin/audit")
    result = client.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert result.status_code == 200
    assert "Samtykkeloggen er intakt: 3 beslutninger kontrollert" in result.text

    with session_scope() as session:
        session.execute(text("UPDATE consent_ledger SET decision = 'deny' WHERE seq = 2"))
    result = client.post("/admin/audit/verify?lang=en", data={"csrf_token": csrf_of(page.text)})
    assert "Loggen er intakt" not in result.text  # English now
    assert "The log is intact" in result.text  # the audit log itself is untouched
    assert f"The consent ledger was altered at record 2 (id {records[1].id})" in result.text
    assert 'id="ledger-result"' in result.text and 'role="alert"' in result.text

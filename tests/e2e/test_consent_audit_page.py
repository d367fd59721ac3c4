"""The admin audit page's verify button checks the consent ledger too, like `datavern
audit verify`, and names the first bad record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from webhelpers import TestClient, csrf_of

from consent_fixtures import apply_register_text, register_text
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


def _verify(client: TestClient, lang: str) -> str:
    page = client.get("/admin/audit")
    result = client.post(
        f"/admin/audit/verify?lang={lang}", data={"csrf_token": csrf_of(page.text)}
    )
    assert result.status_code == 200
    return result.text


def test_a_text_problem_no_record_names_is_named_by_its_version(
    logged_in: Callable[[str], TestClient], applied: None, tmp_path: Path
) -> None:
    # nyhetsbrev/nb/1 is replaced by nyhetsbrev/nb/2, and then deleted: a gap no record names.
    apply_register_text(tmp_path / "register", register_text(newsletter_nb="Ja, send meg brev."))
    with session_scope() as session:
        session.execute(text("DELETE FROM consent_texts WHERE id = 'nyhetsbrev/nb/1'"))
    client = logged_in("privacy_officer")
    nb = _verify(client, "nb")
    assert "beslutning None" not in nb and "None" not in nb
    assert "tekstversjon nyhetsbrev/nb/1 mangler eller er endret" in nb
    assert "text version nyhetsbrev/nb/1 is missing" in nb  # the reason, marked English
    en = _verify(client, "en")
    assert "record None" not in en and "None" not in en
    assert "text version nyhetsbrev/nb/1 is missing or was changed" in en


def test_a_text_a_record_names_is_named_with_the_record(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    records = _records()
    with session_scope() as session:
        session.execute(
            text("UPDATE consent_texts SET content_hash = 'x' WHERE id = 'nyhetsbrev/nb/1'")
        )
    en = _verify(logged_in("privacy_officer"), "en")
    assert (
        f"text version nyhetsbrev/nb/1, which record 1 (id {records[0].id}) is the first to name"
        in en
    )
    assert "The chain of 3 records holds" in en


def test_a_forged_state_row_is_named_without_a_record(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    _records()
    with session_scope() as session:
        session.execute(
            text("UPDATE consent_state SET subject = 'account:999' WHERE subject = 'account:2'")
        )
    client = logged_in("privacy_officer")
    nb = _verify(client, "nb")
    assert "None" not in nb
    assert "tabellen over gjeldende samtykker har en rad som ingen beslutning" in nb
    assert "account:999" in nb  # in the reason
    en = _verify(client, "en")
    assert "None" not in en and "the current-state table has a row that no record" in en


def test_the_history_warns_of_a_missing_or_changed_text(
    logged_in: Callable[[str], TestClient], applied: None
) -> None:
    _records()
    client = logged_in("privacy_officer")
    intact = client.get("/admin/consent/subject", params={"subject": "account:1"})
    assert intact.status_code == 200 and "proof-warning" not in intact.text
    with session_scope() as session:
        session.execute(
            text("UPDATE consent_texts SET content_hash = 'x' WHERE id = 'nyhetsbrev/nb/1'")
        )
    changed = client.get("/admin/consent/subject", params={"subject": "account:1"})
    assert 'class="error-text proof-warning" role="note"' in changed.text
    assert "Tekstversjon nyhetsbrev/nb/1 stemmer IKKE med hashen i beslutningen" in changed.text
    with session_scope() as session:
        session.execute(text("DELETE FROM consent_texts WHERE id = 'nyhetsbrev/nb/1'"))
    missing = client.get("/admin/consent/subject", params={"subject": "account:1", "lang": "en"})
    assert "Text version nyhetsbrev/nb/1 is MISSING" in missing.text
    assert "<code>nyhetsbrev/nb/1</code>" in missing.text
    nb = client.get("/admin/consent/subject", params={"subject": "account:1", "lang": "nb"})
    assert "Tekstversjon nyhetsbrev/nb/1 MANGLER" in nb.text

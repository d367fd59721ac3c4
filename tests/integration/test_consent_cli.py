"""`datavern consent ...` and `datavern audit verify` as a user runs them: exit codes,
messages, JSON, no tracebacks (SQLite)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from consent_fixtures import apply_register_text, register_text
from datavern.cli.audit import app as audit_app
from datavern.consent.cli import app
from datavern.core import clock
from datavern.core.config import get_settings
from datavern.core.db import migrate

runner = CliRunner()
OLA = "ola@example.no"


def consent(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def applied(datavern_home: Path, tmp_path: Path) -> Path:
    migrate()
    apply_register_text(tmp_path / "register")
    return tmp_path / "register"


def test_record_state_may_process_withdraw(applied: Path) -> None:
    assert consent("may-process", OLA, "nyhetsbrev")[0] == 1
    code, out = consent("record", OLA, "nyhetsbrev", "--method", "form_checkbox")
    assert code == 0 and "recorded grant for nyhetsbrev" in out and OLA not in out
    code, out = consent("may-process", OLA, "nyhetsbrev")
    assert code == 0 and out.startswith("yes")
    code, out = consent("state", OLA, "nyhetsbrev", "--json")
    assert code == 0 and json.loads(out)["status"] == "granted"
    assert consent("withdraw", OLA, "nyhetsbrev")[0] == 0
    code, out = consent("may-process", OLA, "nyhetsbrev", "--json")
    assert code == 1 and json.loads(out)["allowed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", OLA, "spam"], "unknown purpose 'spam'"),
        (["record", OLA, "kundeklubb"], "kundeklubb needs no consent"),
        (["record", OLA, "nyhetsbrev", "--text-version", "nyhetsbrev/nb/5"], "unknown text"),
        (["record", "nobody", "nyhetsbrev"], "subject"),
        (["may-process", OLA, "spam"], "unknown purpose"),
        (["state", OLA, "spam"], "unknown purpose"),
    ],
)
def test_bad_input_exits_2_with_the_field(applied: Path, args: list[str], message: str) -> None:
    code, out = consent(*args)
    assert code == 2 and message in out


def test_proof_prints_every_record_with_its_text(applied: Path) -> None:
    consent("record", OLA, "nyhetsbrev", "--collection-point", "https://example.no/skjema")
    consent("withdraw", OLA, "nyhetsbrev")
    code, out = consent("proof", OLA, "--json")
    assert code == 0
    proof = json.loads(out)
    assert proof["subject"].startswith("emailhash:")
    assert [r["decision"] for r in proof["records"]] == ["grant", "withdraw"]
    assert proof["records"][0]["text"]["text"].startswith("Ja takk")
    assert proof["records"][0]["collection_point"] == "https://example.no/skjema"
    code, out = consent("proof", OLA)
    assert code == 0 and "2 records" in out and "Ja takk" in out


def test_texts_and_reconsent(applied: Path) -> None:
    code, out = consent("texts", "nyhetsbrev", "--json")
    assert code == 0 and {t["id"] for t in json.loads(out)} == {
        "nyhetsbrev/nb/1",
        "nyhetsbrev/en/1",
    }
    consent("record", "account:1", "nyhetsbrev")
    apply_register_text(applied, register_text(newsletter_nb="Ja, send meg nyhetsbrevet."))
    day = (clock.now().astimezone(clock.OSLO).date() + timedelta(days=14)).isoformat()
    code, out = consent("reconsent", "nyhetsbrev", "--cutoff", day, "--json")
    assert code == 0, out
    campaign = json.loads(out)
    assert campaign["affected"] == 1 and campaign["superseded"] == ["nyhetsbrev/nb/1"]
    code, out = consent("state", "account:1", "nyhetsbrev")
    assert code == 0 and day in out
    assert consent("reconsent", "nyhetsbrev", "--cutoff", "2001-01-01")[0] == 2


def test_audit_verify_names_the_first_tampered_record(applied: Path) -> None:
    for n in range(3):
        consent("record", f"account:{n}", "statistikk")
    result = runner.invoke(audit_app, ["verify"])
    assert result.exit_code == 0 and "consent ledger intact: 3 records" in result.output
    engine = create_engine(get_settings().effective_database_url)
    with engine.begin() as conn:
        record_id = conn.execute(text("SELECT id FROM consent_ledger WHERE seq = 2")).scalar()
        conn.execute(text("UPDATE consent_ledger SET method = 'gpc' WHERE seq = 2"))
    engine.dispose()
    result = runner.invoke(audit_app, ["verify"])
    assert result.exit_code == 1
    assert f"consent ledger TAMPERED at record 2 (id {record_id})" in result.output
    result = runner.invoke(audit_app, ["verify", "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1 and report["ok"] is False
    assert report["consent_ledger"]["first_bad_record"] == 2


def test_unsubscribe_token_from_a_mailto_request(applied: Path) -> None:
    from urllib.parse import unquote

    from datavern.consent import service

    consent("record", OLA, "nyhetsbrev")
    headers = service.marketing_headers(OLA, "nyhetsbrev", mailto="post@example.no")
    mailto = headers["List-Unsubscribe"].split(", ")[1]
    token = unquote(mailto.split("subject=")[1].rstrip(">")).removeprefix("unsubscribe ")
    code, out = consent("unsubscribe", token)
    assert code == 0 and "recorded withdraw" in out
    assert consent("unsubscribe", token)[1].startswith("already withdrawn")
    assert consent("unsubscribe", "forged.token")[0] == 2


def _sql(statement: str) -> None:
    engine = create_engine(get_settings().effective_database_url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_audit_verify_names_a_text_or_state_row_no_record_made(applied: Path) -> None:
    # nyhetsbrev/nb/1 is replaced by nyhetsbrev/nb/2 and then deleted: no record names it.
    apply_register_text(applied, register_text(newsletter_nb="Ja, send meg brev."))
    _sql("DELETE FROM consent_texts WHERE id = 'nyhetsbrev/nb/1'")
    result = runner.invoke(audit_app, ["verify"])
    assert result.exit_code == 1 and "None" not in result.output
    assert (
        "consent ledger TAMPERED: text version nyhetsbrev/nb/1 is missing (deleted?) "
        "(the chain of 0 records holds)" in result.output
    )
    report = json.loads(runner.invoke(audit_app, ["verify", "--json"]).output)["consent_ledger"]
    assert report["first_bad_record"] is None
    assert report["first_bad_text_version"] == "nyhetsbrev/nb/1"


def test_audit_verify_names_a_forged_state_row(applied: Path) -> None:
    consent("record", "account:1", "statistikk")
    _sql("UPDATE consent_state SET subject = 'account:999' WHERE subject = 'account:1'")
    result = runner.invoke(audit_app, ["verify"])
    assert result.exit_code == 1 and "None" not in result.output
    assert "consent ledger TAMPERED: the current-state table has a row for account:999" in (
        " ".join(result.output.split())
    )


def test_proof_warns_beside_a_record_whose_text_is_changed_or_missing(applied: Path) -> None:
    consent("record", "account:1", "nyhetsbrev")
    code, out = consent("proof", "account:1")
    assert code == 0 and "WARNING" not in out
    _sql("UPDATE consent_texts SET content_hash = 'x' WHERE id = 'nyhetsbrev/nb/1'")
    code, out = consent("proof", "account:1")
    lines = out.splitlines()
    record = next(i for i, line in enumerate(lines) if line.startswith("#1 "))
    assert lines[record + 1] == (
        "  WARNING: text version nyhetsbrev/nb/1 does NOT match the hash in the record "
        "(run `datavern audit verify`)"
    )
    _sql("DELETE FROM consent_texts WHERE id = 'nyhetsbrev/nb/1'")
    code, out = consent("proof", "account:1")
    assert code == 0
    assert "  WARNING: text version nyhetsbrev/nb/1 is MISSING: the text shown cannot be " in out


def test_piped_output_keeps_ids_whole_and_labels_times_in_oslo(applied: Path) -> None:
    from datetime import UTC, datetime

    long_point = "https://example.no/" + "kampanjemaling/" * 8 + "skjema"
    previous = clock.use_clock(clock.FixedClock(datetime(2026, 11, 21, 16, 3, tzinfo=UTC)))
    try:
        code, out = consent(
            "record",
            "account:1",
            "nyhetsbrev",
            "--collection-point",
            long_point,
            "--expires",
            "2027-06-01 12:00:00",
            "--json",
        )
        rec = json.loads(out)
        code, out = consent("proof", "account:1")
    finally:
        clock.use_clock(previous)
    assert code == 0
    # One line holds the record with its whole id, its time in Oslo with the offset.
    [line] = [line for line in out.splitlines() if line.startswith("#1 ")]
    assert line.startswith("#1 2026-11-21 17:03 +01:00 grant nyhetsbrev")
    assert f"at {long_point} " in line and line.endswith(f"id {rec['id']})")
    # --expires is Oslo time: 12:00 in summer is 10:00 UTC.
    assert datetime.fromisoformat(rec["expires_at"]) == datetime(2027, 6, 1, 10, tzinfo=UTC)
    code, out = consent("state", "account:1", "nyhetsbrev")
    assert "since 2026-11-21 17:03 +01:00" in out and "expires 2027-06-01 12:00 +02:00" in out
    code, out = consent("withdraw", "account:1", "nyhetsbrev")
    assert code == 0 and " at 20" in out and "+0" in out.split(" at ")[1]
    # texts, piped: tab-separated, nothing cut, the whole hash.
    code, out = consent("texts")
    assert code == 0 and "…" not in out
    rows = [line.split("\t") for line in out.splitlines()]
    assert all(len(row) == 5 for row in rows)
    assert {row[0] for row in rows} >= {"nyhetsbrev/nb/1", "nyhetsbrev/en/1"}
    assert all(len(row[3]) == 64 for row in rows)
    assert all(row[2].endswith(("+01:00", "+02:00")) for row in rows)

"""`datavern breach ...` as a user runs it: exit codes, clear errors, nothing stored on bad
input, the countdown, drafts as text and PDF, notices with a dry run (real SQLite CRM)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from breach_fixtures import Crm, sqlite_crm
from pypdf import PdfReader
from sqlalchemy import func, select
from typer.testing import CliRunner

from datavern.breaches.cli import app
from datavern.breaches.models import Breach
from datavern.core.db import session_scope
from datavern.notify.models import OutboxMessage

__all__ = ["sqlite_crm"]
runner = CliRunner()

FLAGS = [
    "--title",
    "Kundeliste sendt til feil mottaker",
    "--description",
    "En kundeliste med navn og e-post ble sendt til en ekstern mottaker.",
    "--aware-at",
    "2026-11-19 14:30",
    "--discovered-by",
    "Kundeservice",
    "--category",
    "user.name",
    "--category",
    "user.contact.email",
    "--subject",
    "customer",
    "--people",
    "2-5",
]


def breach(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def stored() -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(Breach)).scalar_one())


def test_register_show_and_list_with_the_countdown(sqlite_crm: Crm) -> None:
    code, out = breach("new", *FLAGS)
    assert code == 0, out
    assert "registered breach 1" in out
    assert "52 t 30 min igjen" in out  # aware 19 Nov 14:30, now 20 Nov 10:00 (Oslo)
    sqlite_crm.fixed_clock.set(sqlite_crm.fixed_clock.now() + timedelta(hours=55))
    code, out = breach("show", "1", "--lang", "en")
    assert code == 0, out
    assert "overdue by 2 h 30 min" in out
    assert "give the reasons for the delay" in out
    code, out = breach("list")
    assert code == 0 and "fristen gikk ut for 2 t 30 min siden" in out
    code, out = breach("list", "--json")
    [row] = json.loads(out)
    assert row["clock"] == "overdue" and row["remaining_seconds"] == -9000


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--aware-at", "2026-11-21 09:00"], "aware_at: lies in the future"),
        (["--aware-at", "2026-03-29 02:30"], "does not exist in Norway"),
        (["--risk", "medium", "--reasoning", "x"], "unknown risk level 'medium'"),
        (["--risk", "high_risk"], "risk_reasoning: required"),
        (["--category", "user.contact.emial"], "did you mean 'user.contact.email'"),
        (["--people", "many"], "people_affected: expected a number"),
        (["--discovered-at", "2026-11-19 15:00"], "discovered_at: is after aware_at"),
    ],
)
def test_bad_input_exits_2_and_stores_nothing(sqlite_crm: Crm, args: list[str], words: str) -> None:
    code, out = breach("new", *FLAGS, *args)
    assert code == 2, out
    assert words in out
    assert stored() == 0


def test_missing_required_fields_are_all_named(sqlite_crm: Crm) -> None:
    code, out = breach("new", "--title", "Noe skjedde")
    assert code == 2
    for field in ("description", "discovered_by", "aware_at"):
        assert f"{field}: required" in out
    assert stored() == 0


def test_a_breach_from_a_yaml_file_and_errors_with_file_line_column(
    sqlite_crm: Crm, tmp_path: Path
) -> None:
    good = tmp_path / "avvik.yaml"
    good.write_text(
        "title: Tapt bærbar PC\n"
        "description: En bærbar PC med kundedata ble stjålet fra en bil.\n"
        "discovered_by: IT-drift\n"
        "aware_at: 2026-11-19 08:15\n"
        "breach_types: [confidentiality]\n"
        "data_categories: [user.name, user.contact.address]\n"
        "people_affected: {min: 300, max: 400}\n"
        "risk: none\n"
        "risk_reasoning: Disken var kryptert med BitLocker, og nøkkelen er ikke kompromittert.\n"
    )
    code, out = breach("new", "--file", str(good), "--json")
    assert code == 0, out
    created = json.loads(out)
    assert created["clock"] == "not_required"
    assert created["facts"]["people_affected"] == {"min": 300, "max": 400}
    bad = tmp_path / "feil.yaml"
    bad.write_text(
        "title: Tapt bærbar PC\n"
        "description: x\n"
        "discovered_by: IT\n"
        "aware_at: 2027-01-01 08:15\n"
        "severity: high\n"
    )
    code, out = breach("new", "--file", str(bad))
    assert code == 2
    assert f"{bad}:4:1: aware_at: lies in the future" in out
    assert f"{bad}:5:1: severity: unknown field" in out
    code, out = breach("new", "--file", str(tmp_path / "finnes-ikke.yaml"))
    assert code == 2 and "no such file" in out
    json_file = tmp_path / "avvik.json"
    json_file.write_text(json.dumps({"title": "x", "aware_at": "2026-11-19T08:15:00+01:00"}))
    code, out = breach("new", "--file", str(json_file))
    assert code == 2 and "description: required" in out
    assert stored() == 1


def test_update_assess_exception_and_submitted(sqlite_crm: Crm) -> None:
    assert breach("new", *FLAGS)[0] == 0
    code, out = breach("update", "1", "--people", "1240", "--note", "Bekreftet antall")
    assert code == 0 and "version 2 (people_affected)" in out
    code, out = breach("update", "1", "--clear", "title")
    assert code == 2 and "cannot be cleared" in out
    code, out = breach("update", "1")
    assert code == 2
    code, out = breach("assess", "1", "--risk", "hgh", "--reasoning", "x")
    assert code == 2 and "unknown risk level 'hgh'" in out
    code, out = breach("assess", "1", "--risk", "high_risk", "--reasoning", "Mange kunder.")
    assert code == 0, out
    code, out = breach("exception", "1", "--art34-3", "c", "--reasoning", "Mangler adresser.")
    assert code == 2 and "public communication" in out
    code, out = breach(
        "exception",
        "1",
        "--art34-3",
        "c",
        "--reasoning",
        "Mangler adresser.",
        "--public-communication",
        "Kunngjøring på nettsiden.",
    )
    assert code == 0, out
    sqlite_crm.fixed_clock.set(sqlite_crm.fixed_clock.now() + timedelta(hours=60))
    code, out = breach("submitted", "1", "--reference", "AR-1")
    assert code == 2 and "reasons for the delay" in out
    code, out = breach("submitted", "1", "--delay-reasons", "Helg og sykdom.")
    assert code == 0 and "(after the deadline)" in out
    code, out = breach("show", "1", "--json")
    shown = json.loads(out)
    assert shown["clock"] == "notified_late"
    assert [v["kind"] for v in shown["versions"]] == [
        "registered",
        "update",
        "risk",
        "exception",
        "update",
    ]
    assert breach("show", "9")[0] == 2


def test_draft_as_text_and_pdf(sqlite_crm: Crm, tmp_path: Path) -> None:
    assert breach("new", *FLAGS)[0] == 0
    code, out = breach("draft", "1")
    assert code == 0
    assert "MELDING OM BRUDD PÅ PERSONOPPLYSNINGSSIKKERHETEN" in out
    assert "Nettbutikken AS" in out and "923609016" in out
    assert "Kari Hansen" in out  # the DPO from the register
    assert "not known yet" in out  # the warning lists what is missing
    pdf = tmp_path / "avvik.pdf"
    code, out = breach("draft", "1", "--format", "pdf", "--lang", "en", "-o", str(pdf))
    assert code == 0, out
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Notification of a personal data breach" in text
    assert breach("draft", "1", "--format", "pdf")[0] == 2
    assert breach("draft", "1", "--format", "docx")[0] == 2
    assert breach("draft", "1", "--version", "7")[0] == 2


def test_notify_subjects_dry_run_then_send(sqlite_crm: Crm, tmp_path: Path) -> None:
    assert breach("new", *FLAGS, "--risk", "high_risk", "--reasoning", "Phishing.")[0] == 0
    select_ = "crm.customers where created_at < 2024-01-01"
    code, out = breach("notify-subjects", "1", "--select", select_, "--dry-run")
    assert code == 0, out
    assert "dry run: nothing sent" in out and "people to tell: 2" in out
    assert "ola@example.no" not in out
    code, out = breach("notify-subjects", "1", "--select", "crm.customers where x ~ 1")
    assert code == 2 and "select: column" in out
    message = tmp_path / "melding.txt"
    message.write_text("Subject: Om avviket\n\nHei,\nvi har hatt et avvik.\n")
    code, out = breach(
        "notify-subjects", "1", "--select", select_, "--message-file", str(message), "--json"
    )
    assert code == 0, out
    result = json.loads(out)
    assert (result["sent"], result["subject"]) == (2, "Om avviket")
    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 2
    code, out = breach("notify-subjects", "1", "--select", select_, "--channel", "fax")
    assert code == 2 and "unknown channel 'fax'" in out


def test_remind_sends_each_reminder_once(sqlite_crm: Crm) -> None:
    assert breach("new", *FLAGS)[0] == 0
    code, out = breach("remind")
    assert code == 0 and "no reminders due" in out
    sqlite_crm.fixed_clock.set(sqlite_crm.fixed_clock.now() + timedelta(hours=30))
    code, out = breach("remind", "--json")
    assert code == 0
    assert json.loads(out)["reminders"][0]["threshold"] == "24h"
    code, out = breach("remind")
    assert code == 0 and "no reminders due" in out


def test_notices_show_each_sending_and_resume_an_unfinished_one(sqlite_crm: Crm) -> None:
    from datavern.breaches import subjects

    assert breach("new", *FLAGS, "--risk", "high_risk", "--reasoning", "Phishing.")[0] == 0
    code, out = breach("notices", "1")
    assert code == 0 and "nothing has been sent" in out
    select_ = "crm.customers where created_at < 2024-01-01"
    # Queued from the console, its job never ran (e.g. the worker was stopped).
    queued = subjects.queue_notice(1, select_, "email", "nb", actor="test")
    code, out = breach("notices", "1")
    assert code == 0 and "queued" in out
    assert f"datavern breach notices 1 --resume {queued.run_id}" in out
    code, out = breach("notices", "1", "--resume", str(queued.run_id), "--json")
    assert code == 0, out
    (run,) = json.loads(out)
    assert (run["run"], run["state"], run["sent"], run["failed"]) == (queued.run_id, "done", 2, 0)
    assert "job" not in run
    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 2
    # A finished sending is not continued again; nothing more is queued.
    code, out = breach("notices", "1", "--resume", str(queued.run_id))
    assert code == 2 and f"no unfinished sending {queued.run_id}" in out
    code, out = breach("notices", "9", "--resume", "1")
    assert code != 0 and "no breach 9" in out

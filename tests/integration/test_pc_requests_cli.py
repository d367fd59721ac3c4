"""`datavern requests ...`: the agent's queue from a terminal, against a real database.

The same services as the admin pages: list with filters and counts, show, approve,
deny, extend, assign. Bad input and refused actions exit 2 and write nothing.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from datavern.accounts import service as accounts
from datavern.cli.main import app
from datavern.core import clock
from datavern.core.audit import AuditEntry
from datavern.core.config import reset_settings
from datavern.core.db import session_scope
from datavern.dsr import intake
from datavern.dsr.case_models import CaseEvent, PrivacyCase
from datavern.notify.models import OutboxMessage
from datavern.register.loader import load_register
from datavern.register.service import apply_register

RECEIVED = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)  # due Monday 2 March 2026 (28 Feb: Saturday)
PASSWORD = "et langt og trygt testpassord"
REGISTER = """
organisation:
  name: Testfirma AS
  email: personvern@testfirma.example
  role: both
dsr:
  processor_for:
    - key: kunde
      controller: Kunde AS
      email: personvern@kunde.example
"""
runner = CliRunner()


@pytest.fixture
def home(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[clock.FixedClock]:
    monkeypatch.delenv("DATAVERN_SMTP_HOST", raising=False)
    monkeypatch.delenv("DATAVERN_ACTOR", raising=False)
    reset_settings()
    folder = tmp_path / "register"
    folder.mkdir()
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER))
    with session_scope() as session:
        apply_register(session, load_register(folder), "test")
        for name, role in (("kari", "agent"), ("vera", "viewer")):
            accounts.create_user(session, name, PASSWORD, role, actor="t")
    fixed = clock.FixedClock(RECEIVED)
    previous = clock.use_clock(fixed)
    try:
        yield fixed
    finally:
        clock.use_clock(previous)
        reset_settings()


def act_as(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("DATAVERN_ACTOR", name)
    reset_settings()


def file(*, verified: bool = True, **fields: Any) -> str:
    values: dict[str, Any] = {"kind": "access", "email": "ola@example.no", **fields}
    with session_scope() as session:
        done = intake.submit(session, intake.Submission(**values))
        case = session.get(PrivacyCase, done.case_id)
        assert case is not None and done.code
        if verified:
            assert intake.check_code(session, case, done.code, actor="t").outcome == "ok"
        return done.case_id


def invoke(*args: str) -> Any:
    return runner.invoke(app, ["requests", *args])


def case_of(case_id: str) -> PrivacyCase:
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        session.expunge(case)
        return case


def written() -> tuple[int, int, int]:
    """Events, audit entries and e-mails so far: an action refused must add none."""
    with session_scope() as session:
        return (
            session.execute(select(func.count()).select_from(CaseEvent)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
            session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one(),
        )


def listed(*args: str) -> dict[str, Any]:
    result = invoke("list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_list_filters_counts_and_formats(home: clock.FixedClock) -> None:
    access = file()
    erasure = file(kind="erasure")
    waiting = file(verified=False)
    assert invoke("assign", erasure, "kari").exit_code == 0

    everything = listed()
    assert everything["total"] == 3
    assert next(r["id"] for r in everything["requests"]) in {access, erasure, waiting}
    assert everything["counts"]["open"] == 3 and everything["counts"]["unassigned"] == 2
    assert "email" not in everything["requests"][0]  # identities only with show --reveal
    assert {r["id"] for r in listed("--type", "erasure")["requests"]} == {erasure}
    assert {r["id"] for r in listed("--status", "unverified")["requests"]} == {waiting}
    assert {r["id"] for r in listed("--assignee", "kari")["requests"]} == {erasure}
    assert {r["id"] for r in listed("--assignee", "-")["requests"]} == {access, waiting}
    assert listed("--overdue")["total"] == 0
    home.set(datetime(2026, 2, 24, 9, 0, tzinfo=UTC))  # six days before the deadline
    assert listed("--due-soon")["total"] == 3
    home.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    overdue = listed("--overdue", "--type", "access")
    assert {r["id"] for r in overdue["requests"]} == {access, waiting}
    assert overdue["counts"]["overdue"] == 3

    table = invoke("list", "--overdue")
    assert table.exit_code == 0, table.output
    assert intake.reference(access) in table.stdout and "OVERDUE" in table.stdout
    assert "3 request(s) match" in table.stdout
    assert "ola@example.no" not in table.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--type", "bogus"), "--type"),
        (("--status", "half-done"), "--status"),
        (("--format", "xml"), "--format"),
        (("--due-soon", "--overdue"), "--due-soon"),
        (("--limit", "0"), "--limit"),
    ],
)
def test_list_refuses_bad_filters_with_exit_2(
    home: clock.FixedClock, args: tuple[str, ...], named: str
) -> None:
    result = invoke("list", *args)
    assert result.exit_code == 2
    assert named in result.output and "Traceback" not in result.output


def test_show_by_reference_and_reveal(home: clock.FixedClock) -> None:
    case_id = file(phone="+4791234567")
    shown = invoke("show", intake.reference(case_id))
    assert shown.exit_code == 0, shown.output
    assert case_id in shown.stdout and "verified" in shown.stdout
    assert "ola@example.no" not in shown.stdout and "91234567" not in shown.stdout
    data = json.loads(invoke("show", case_id, "--reveal", "--json").stdout)
    assert data["email"] == "ola@example.no"
    assert [e["event"] for e in data["history"]] == ["received", "code_sent", "verified"]

    missing = invoke("show", "0" * 32)
    assert missing.exit_code == 2 and "no request" in missing.output


def test_deny_needs_a_reason_and_tells_the_person(
    home: clock.FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = file()
    before = written()
    no_reason = invoke("deny", case_id)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    too_short = invoke("deny", case_id, "--reason", "nei")
    assert too_short.exit_code == 2 and "reason" in too_short.output
    unknown = invoke("deny", "deadbeef", "--reason", "Vi har ingen opplysninger om deg.")
    assert unknown.exit_code == 2 and "no request" in unknown.output
    assert written() == before and case_of(case_id).status == "verified"

    act_as(monkeypatch, "kari")
    done = invoke("deny", intake.reference(case_id), "--reason", "Vi har ingen opplysninger.")
    assert done.exit_code == 0, done.output
    assert "denied" in done.stdout
    case = case_of(case_id)
    assert case.status == "denied" and case.decided_by == "kari"
    with session_scope() as session:
        mail = session.execute(
            select(OutboxMessage).where(OutboxMessage.template == "dsr_denied")
        ).scalar_one()
        assert "Vi har ingen opplysninger." in mail.text_body
        assert mail.html_body and "Datatilsynet" in mail.html_body
    again = invoke("deny", case_id, "--reason", "Vi har ingen opplysninger.")
    assert again.exit_code == 2 and "closed" in again.output


def test_extend_only_within_the_first_month(home: clock.FixedClock) -> None:
    late = file()
    early = file(kind="erasure")
    home.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))  # the first month has ended
    before = written()
    refused = invoke("extend", late, "--reason", "Mange forespørsler på en gang.")
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert written() == before and case_of(late).due_on.isoformat() == "2026-03-02"
    bad_months = invoke(
        "extend", late, "--reason", "Mange forespørsler på en gang.", "--months", "3"
    )
    assert bad_months.exit_code == 2 and "--months" in bad_months.output

    home.set(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
    done = invoke("extend", early, "--reason", "Mange forespørsler på en gang.", "--months", "1")
    assert done.exit_code == 0, done.output
    extended = case_of(early)
    assert extended.due_on.isoformat() > "2026-03-30" and extended.deadline_months == 2
    with session_scope() as session:
        assert (
            session.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.template == "dsr_extended")
            ).scalar_one()
            == 1
        )


def test_assign_to_a_handler_or_nobody(home: clock.FixedClock) -> None:
    case_id = file()
    assert invoke("assign", case_id, "kari").exit_code == 0
    assert case_of(case_id).assignee == "kari"
    before = written()
    for who in ("vera", "nobody-here"):  # a viewer does not handle requests; no such user
        refused = invoke("assign", case_id, who)
        assert refused.exit_code == 2 and "handles requests" in refused.output
    assert written() == before and case_of(case_id).assignee == "kari"
    assert invoke("assign", case_id, "-").exit_code == 0
    assert case_of(case_id).assignee is None


def test_approve_carries_out_or_forwards(home: clock.FixedClock) -> None:
    objection = file(kind="objection", purposes=[intake.DIRECT_MARKETING])
    done = invoke("approve", objection)
    assert done.exit_code == 0, done.output
    assert case_of(objection).status == "done"

    forwarded = file(kind="erasure", controller="kunde")
    assert invoke("approve", forwarded).exit_code == 0
    assert case_of(forwarded).status == "forwarded"

    waiting = file(verified=False)
    before = written()
    refused = invoke("approve", waiting)
    assert refused.exit_code == 2 and case_of(waiting).status == "unverified"
    assert written() == before


def test_show_says_why_the_engine_could_not_carry_out_a_request(
    home: clock.FixedClock, tmp_path: Path
) -> None:
    # A dataset whose database was never connected: approving runs the engine, which fails.
    folder = tmp_path / "with-dataset"
    folder.mkdir()
    dataset = """
    dataset:
      - fides_key: kundedb
        collections:
          - name: customers
            fields:
              - name: id
                data_categories: [system.operations]
                fides_meta: {primary_key: true, data_type: integer}
              - name: email
                data_categories: [user.contact.email]
                fides_meta: {identity: email, data_type: string}
    """
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER) + textwrap.dedent(dataset))
    with session_scope() as session:
        apply_register(session, load_register(folder), "test")
    access = file(kind="access")
    failed = invoke("approve", access)
    assert failed.exit_code == 1, failed.output
    assert "says why" in failed.output
    shown = invoke("show", access[:8])
    assert shown.exit_code == 0, shown.output
    assert "engine status: failed" in shown.output
    assert "engine error:" in shown.output and "kundedb" in shown.output
    assert "ola@example.no" not in shown.output
    as_json = json.loads(invoke("show", access, "--json").output)
    assert as_json["engine"]["status"] == "failed" and "kundedb" in as_json["engine"]["error"]


def test_the_actor_and_its_role(home: clock.FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = file()
    # Without DATAVERN_ACTOR the operator acts as cli:<OS user>, as in `datavern dsr`.
    assert invoke("assign", case_id, "kari").exit_code == 0
    with session_scope() as session:
        actors = session.execute(
            select(CaseEvent.actor).where(CaseEvent.event == "assigned")
        ).scalars()
        assert all(a.startswith("cli:") for a in actors)
    # A Datavern user named by DATAVERN_ACTOR keeps their role: a viewer reads only.
    act_as(monkeypatch, "vera")
    assert invoke("list").exit_code == 0
    assert invoke("show", case_id).exit_code == 0
    before = written()
    for args in (
        ("approve", case_id),
        ("deny", case_id, "--reason", "Vi har ingen opplysninger."),
        ("extend", case_id, "--reason", "Mange forespørsler på en gang."),
        ("assign", case_id, "-"),
        ("show", case_id, "--reveal"),
    ):
        refused = invoke(*args)
        assert refused.exit_code == 2, args
        assert "vera (viewer) may not" in refused.output
    assert written() == before and case_of(case_id).status == "verified"

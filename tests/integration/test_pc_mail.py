"""The privacy centre's e-mail through a real SMTP server (aiosmtpd): the code, the
forwarding to a controller, and the reminders task (7 and 2 days before the due date,
each once; unassigned requests go to the privacy officers)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from smtp_fixtures import SmtpBox, smtp_server  # noqa: F401

from datavern.accounts import service as accounts
from datavern.core import clock
from datavern.core.db import session_scope
from datavern.dsr import cases, intake, reminders
from datavern.dsr.case_models import PrivacyCase
from datavern.register.loader import load_register
from datavern.register.service import apply_register

RECEIVED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # due Thursday 4 June 2026

REGISTER = """
organisation:
  name: Driftsfirma AS
  email: personvern@driftsfirma.example
  role: both
dsr:
  processor_for:
    - key: kunde
      controller: Kunde AS
      email: personvern@kunde.example
"""


@pytest.fixture
def mail(
    smtp_server: SmtpBox,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[tuple[SmtpBox, clock.FixedClock]]:
    from datavern.core.db import migrate

    migrate()
    for key, value in {
        "HOST": smtp_server.host,
        "PORT": str(smtp_server.port),
        "SECURITY": "none",
        "FROM": "Driftsfirma <personvern@driftsfirma.example>",
    }.items():
        monkeypatch.setenv(f"DATAVERN_SMTP_{key}", value)
    folder = tmp_path / "register"
    folder.mkdir()
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER))
    with session_scope() as session:
        apply_register(session, load_register(folder), "test")
        accounts.create_user(
            session,
            "po",
            "et langt og trygt testpassord",
            "privacy_officer",
            actor="t",
            email="po@driftsfirma.example",
        )
        accounts.create_user(
            session,
            "agent",
            "et langt og trygt testpassord",
            "agent",
            actor="t",
            email="agent@driftsfirma.example",
        )
    fixed = clock.FixedClock(RECEIVED)
    previous = clock.use_clock(fixed)
    try:
        yield smtp_server, fixed
    finally:
        clock.use_clock(previous)


def file(**fields: object) -> str:
    with session_scope() as session:
        done = intake.submit(
            session,
            intake.Submission(**{"kind": "access", "email": "ola@example.no", **fields}),  # type: ignore[arg-type]
        )
    cases.deliver(done.messages)
    with session_scope() as session:
        case = session.get(PrivacyCase, done.case_id)
        assert case is not None and done.code
        check = intake.check_code(session, case, done.code, actor="t")
    cases.deliver(check.messages)
    return done.case_id


def test_the_code_and_the_receipt_arrive_by_smtp(
    mail: tuple[SmtpBox, clock.FixedClock],
) -> None:
    box, _ = mail
    file()
    subjects = [m["Subject"] for m in box.messages]
    assert subjects[0].startswith("Koden din: ")
    assert subjects[1].startswith("Vi har mottatt forespørselen din")
    assert [m["To"] for m in box.messages] == ["ola@example.no", "ola@example.no"]
    assert "4. juni 2026" in box.messages[1].get_content()


def test_forwarding_mails_the_controller_and_the_subject(
    mail: tuple[SmtpBox, clock.FixedClock],
) -> None:
    box, _ = mail
    case_id = file(kind="erasure", controller="kunde")
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        result = cases.approve(session, case, actor="agent")
    cases.deliver(result.messages)
    to = {m["To"]: m for m in box.messages[2:]}
    assert set(to) == {"personvern@kunde.example", "ola@example.no"}
    controller = to["personvern@kunde.example"].get_content()
    assert "ola@example.no" in controller and "sletting" in controller
    assert "Kunde AS" in to["ola@example.no"].get_content()


def test_reminders_seven_and_two_days_before_each_once(
    mail: tuple[SmtpBox, clock.FixedClock],
) -> None:
    box, fixed = mail
    assigned = file()
    unassigned = file(kind="erasure")
    with session_scope() as session:
        case = session.get(PrivacyCase, assigned)
        assert case is not None
        cases.assign(session, case, "agent", actor="t")
    before = len(box.messages)

    def run_at(when: datetime) -> list[tuple[str, str]]:
        fixed.set(when)
        start = len(box.messages)
        reminders.case_reminders()
        return [(m["To"], m["Subject"]) for m in box.messages[start:]]

    assert run_at(datetime(2026, 5, 27, 3, 0, tzinfo=UTC)) == []  # 8 days before
    week = run_at(datetime(2026, 5, 28, 3, 0, tzinfo=UTC))  # 7 days before 4 June
    assert sorted(to for to, _ in week) == ["agent@driftsfirma.example", "po@driftsfirma.example"]
    assert all("7 dager" in subject for _, subject in week)
    assert run_at(datetime(2026, 5, 28, 15, 0, tzinfo=UTC)) == []  # the same day again: nothing
    two = run_at(datetime(2026, 6, 2, 3, 0, tzinfo=UTC))
    assert len(two) == 2 and all("2 dager" in s for _, s in two)
    fixed.set(datetime(2026, 6, 5, 3, 0, tzinfo=UTC))
    assert reminders.case_reminders()["overdue"] == 2
    assert len(box.messages) == before + 4
    del unassigned

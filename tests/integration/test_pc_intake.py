"""Privacy-centre cases on SQLite and PostgreSQL: filing (no enumeration), the one-time
code (hashed, 15 minutes, five tries, then locked), deadlines, extension, denial,
objection and withdrawal into the consent ledger, the queue's filters and counts."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from datavern.core import clock
from datavern.core.audit import verify as audit_verify
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput
from datavern.dsr import cases, intake, queue, verification
from datavern.dsr.case_models import CaseEvent, PrivacyCase
from datavern.notify.models import OutboxMessage
from datavern.register.loader import load_register
from datavern.register.service import apply_register

RECEIVED = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)  # a Saturday; 28 Feb 2026 is a Saturday too

REGISTER = """
organisation:
  name: Testfirma AS
  org_nr: "923609016"
  email: personvern@testfirma.example
systems:
  - key: crm
    name: Kunderegister
    processing:
      - key: nyhetsbrev
        purpose: {nb: Nyhetsbrev, en: Newsletter}
        data_use: marketing.communications.email
        data_categories: [user.contact.email]
        data_subjects: [customer]
        legal_basis: consent
        consent_purpose: newsletter
        retention: {period: P2Y, trigger: last_contact}
consent_purposes:
  - key: newsletter
    name: {nb: Nyhetsbrev, en: Newsletter}
    text: {nb: "Ja takk, send meg nyhetsbrev.", en: "Yes, send me the newsletter."}
dsr:
  processor_for:
    - key: nettbutikken
      controller: Nettbutikken AS
      email: personvern@nettbutikken.example
      service: {nb: Nettbutikken vi drifter, en: The web shop we run}
"""


@pytest.fixture
def home(database_url: str, tmp_path: Path) -> Iterator[clock.FixedClock]:
    folder = tmp_path / "register"
    folder.mkdir()
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER))
    with session_scope() as session:
        apply_register(session, load_register(folder), "test")
    fixed = clock.FixedClock(RECEIVED)
    previous = clock.use_clock(fixed)
    try:
        yield fixed
    finally:
        clock.use_clock(previous)


def submit(**fields: object) -> intake.Submitted:
    values: dict[str, object] = {"kind": "access", "email": "ola@example.no", **fields}
    with session_scope() as session:
        return intake.submit(session, intake.Submission(**values))  # type: ignore[arg-type]


def case_of(case_id: str) -> PrivacyCase:
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        session.expunge(case)
        return case


def outbox(template: str) -> list[OutboxMessage]:
    with session_scope() as session:
        return list(
            session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.template == template)
                .order_by(OutboxMessage.created_at)
            ).scalars()
        )


def test_a_submission_stores_the_case_sealed_and_mails_a_code(home: clock.FixedClock) -> None:
    done = submit(phone="912 34 567", details="Gjelder kundeforholdet mitt")
    assert done.status == "unverified"
    case = case_of(done.case_id)
    assert case.identity_types == ["email", "phone"]
    # One calendar month from receipt (31 Jan -> 28 Feb, a Saturday): due Monday 2 March.
    assert case.due_on == date(2026, 3, 2)
    assert case.sealed and "ola@example.no" not in case.sealed
    assert case.code_hash and done.code and done.code not in case.code_hash
    assert case.code_hash == verification.code_hash(case.id, done.code)
    mails = outbox("dsr_code")
    assert [m.to_addr for m in mails] == ["ola@example.no"]
    assert done.code in mails[0].text_body
    assert case.id in mails[0].text_body  # the verify link
    with session_scope() as session:
        assert audit_verify(session).ok


def test_the_answer_does_not_depend_on_whether_the_address_is_known(
    home: clock.FixedClock,
) -> None:
    known = submit(email="ola@example.no")
    unknown = submit(email="finnes.ikke@example.no")
    assert (known.status, len(known.messages)) == (unknown.status, len(unknown.messages))
    assert [m.to_addr for m in outbox("dsr_code")] == ["ola@example.no", "finnes.ikke@example.no"]


def test_invalid_fields_are_reported_each_on_its_field_without_the_value(
    home: clock.FixedClock,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        submit(
            kind="rectification",
            email="ikke-en-adresse",
            fnr="01010112345",
            correction_field="",
            correction_value="",
        )
    paths = sorted({p.path for p in caught.value.problems})
    assert paths == ["correction_field", "correction_value", "email", "fnr"]
    assert "01010112345" not in str(caught.value)
    assert "ikke-en-adresse" not in str(caught.value)
    with session_scope() as session:
        assert session.execute(select(PrivacyCase)).first() is None
    assert outbox("dsr_code") == []


def test_objection_purposes_must_be_offered_ones(home: clock.FixedClock) -> None:
    with pytest.raises(InvalidInput) as caught:
        submit(kind="objection", purposes=["ukjent_formaal"])
    assert [p.path for p in caught.value.problems] == ["purposes"]
    assert submit(kind="objection", purposes=["direct_marketing"]).status == "unverified"


def check(case_id: str, code: str) -> intake.CodeCheck:
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        return intake.check_code(session, case, code, actor="test")


def test_the_right_code_verifies_and_starts_a_subject_session(home: clock.FixedClock) -> None:
    done = submit()
    assert done.code
    result = check(done.case_id, done.code[:3] + " " + done.code[3:])
    assert result.outcome == "ok" and result.session_token
    case = case_of(done.case_id)
    assert (case.status, case.verification_method, case.code_hash) == (
        "verified",
        "email_code",
        None,
    )
    with session_scope() as session:
        assert verification.session_identity(session, result.session_token) == case.email_hash
        assert verification.session_identity(session, "made-up") is None
    assert [m.to_addr for m in outbox("dsr_received")] == ["ola@example.no"]
    # The code is used up: the same code again is no code at all.
    assert check(done.case_id, done.code).outcome == "no_code"


def test_five_wrong_codes_lock_the_case_and_the_agent_sees_why(home: clock.FixedClock) -> None:
    done = submit()
    assert done.code
    wrong = f"{(int(done.code) + 1) % 1_000_000:06d}"
    lefts = [check(done.case_id, wrong).attempts_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    assert check(done.case_id, wrong).outcome == "locked"
    # Locked: even the right code is refused, and no new code is sent.
    assert check(done.case_id, done.code).outcome == "locked"
    with session_scope() as session:
        case = session.get(PrivacyCase, done.case_id)
        assert case is not None
        assert intake.send_code(session, case, actor="test") == (None, [])
    case = case_of(done.case_id)
    assert case.status == "locked"
    assert case.locked_reason and "5 wrong codes" in case.locked_reason
    page = queue_counts()
    assert page["status"]["locked"] == 1
    # The agent lifts the lock: a new code, a fresh set of tries.
    with session_scope() as session:
        case = session.get(PrivacyCase, done.case_id)
        assert case is not None
        cases.unlock(session, case, actor="agent")
    code = outbox("dsr_code")[-1].text_body.split("Koden din er: ")[1][:6]
    assert check(done.case_id, code).outcome == "ok"


def queue_counts() -> dict[str, object]:
    with session_scope() as session:
        return queue.counts(session)


def test_a_code_lasts_fifteen_minutes_and_a_new_one_keeps_the_count(
    home: clock.FixedClock,
) -> None:
    done = submit()
    assert done.code
    home.set(RECEIVED + timedelta(minutes=15, seconds=1))
    assert check(done.case_id, done.code).outcome == "expired"
    assert check(done.case_id, "000000").outcome == "expired"
    with session_scope() as session:
        case = session.get(PrivacyCase, done.case_id)
        assert case is not None
        assert check_wrong_then_resend(session, case) == 1
    code = outbox("dsr_code")[-1].text_body.split("Koden din er: ")[1][:6]
    # A new code does not reset the wrong tries: asking again buys no extra guesses.
    assert case_of(done.case_id).code_attempts == 1
    assert check(done.case_id, code).outcome == "ok"


def check_wrong_then_resend(session: object, case: PrivacyCase) -> int:
    code, _ = intake.send_code(session, case, actor="test")  # type: ignore[arg-type]
    assert code is not None
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert intake.check_code(session, case, wrong, actor="test").outcome == "wrong"  # type: ignore[arg-type]
    intake.send_code(session, case, actor="test")  # type: ignore[arg-type]
    return case.code_attempts


def verified_case(**fields: object) -> str:
    done = submit(**fields)
    assert done.code
    assert check(done.case_id, done.code).outcome == "ok"
    return done.case_id


def test_deny_needs_reasons_and_tells_the_subject_where_to_complain(
    home: clock.FixedClock,
) -> None:
    case_id = verified_case()
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        with pytest.raises(InvalidInput):
            cases.deny(session, case, "kort", actor="agent")
        cases.deny(
            session, case, "Forespørselen er åpenbart grunnløs (art. 12 nr. 5).", actor="agent"
        )
    assert case_of(case_id).status == "denied"
    mail = outbox("dsr_denied")[0]
    assert "åpenbart grunnløs" in mail.text_body
    assert "Datatilsynet" in mail.text_body
    assert "domstolene" in mail.text_body


def test_extension_only_within_the_first_month_and_with_a_reason(
    home: clock.FixedClock,
) -> None:
    case_id = verified_case()
    late_id = verified_case()
    home.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        cases.extend(session, case, "Sammensatt forespørsel om mange systemer.", actor="a")
        # 31 Jan + 3 months = 30 April 2026 (a Thursday).
        assert case.due_on == date(2026, 4, 30)
    assert "30. april 2026" in outbox("dsr_extended")[0].text_body
    home.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))  # after the first due date (2 March)
    with session_scope() as session:
        case = session.get(PrivacyCase, late_id)
        assert case is not None
        with pytest.raises(cases.CaseRefused) as caught:
            cases.extend(session, case, "For sent ute med forlengelsen.", actor="a")
    assert caught.value.key == "extension_too_late"
    assert case_of(late_id).due_on == date(2026, 3, 2)


def test_objection_and_withdrawal_are_written_to_the_consent_ledger(
    home: clock.FixedClock,
) -> None:
    from datavern.consent import service as consent

    with session_scope() as session:
        consent.record(
            session,
            subject="email:ola@example.no",
            purpose="newsletter",
            decision="grant",
            recorded_by="test",
        )
    withdraw_id = verified_case(kind="withdraw_consent", purposes=["newsletter"])
    object_id = verified_case(kind="objection", purposes=["direct_marketing"])
    for case_id in (withdraw_id, object_id):
        with session_scope() as session:
            case = session.get(PrivacyCase, case_id)
            assert case is not None
            result = cases.approve(session, case, actor="agent")
            assert result.status == "done" and result.run_engine is None
    with session_scope() as session:
        answer = consent.may_process(session, "email:ola@example.no", "newsletter")
        assert answer.allowed is False
    assert len(outbox("dsr_completed")) == 2


def test_approval_needs_a_verified_identity(home: clock.FixedClock) -> None:
    done = submit()
    with session_scope() as session:
        case = session.get(PrivacyCase, done.case_id)
        assert case is not None
        with pytest.raises(cases.CaseRefused) as caught:
            cases.approve(session, case, actor="agent")
    assert caught.value.key == "not_verified"


def test_a_request_about_a_customers_service_is_forwarded_not_carried_out(
    home: clock.FixedClock,
) -> None:
    case_id = verified_case(kind="erasure", controller="nettbutikken", details="Slett kontoen min")
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        result = cases.approve(session, case, actor="agent")
    assert result.status == "forwarded" and result.run_engine is None
    case = case_of(case_id)
    assert case.dsr_request_id is None and case.forwarded_at is not None
    to_controller = outbox("dsr_forward_controller")
    assert [m.to_addr for m in to_controller] == ["personvern@nettbutikken.example"]
    assert "ola@example.no" in to_controller[0].text_body
    assert "Slett kontoen min" in to_controller[0].text_body
    told = outbox("dsr_forwarded")
    assert [m.to_addr for m in told] == ["ola@example.no"]
    assert "Nettbutikken AS" in told[0].text_body
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        cases.controller_answered(session, case, "Kunden har slettet kontoen", actor="agent")
    assert case_of(case_id).status == "done"


def test_the_queue_filters_and_counts(home: clock.FixedClock) -> None:
    a = verified_case(kind="access")
    b = verified_case(kind="erasure")
    submit(kind="access")  # unverified
    with session_scope() as session:
        case = session.get(PrivacyCase, b)
        assert case is not None
        from datavern.accounts import service as accounts

        accounts.create_user(
            session, "agent-x", "et langt og trygt testpassord", "agent", actor="t"
        )
    with session_scope() as session:
        case = session.get(PrivacyCase, b)
        assert case is not None
        cases.assign(session, case, "agent-x", actor="t")
        with pytest.raises(InvalidInput):
            cases.assign(session, case, "finnes-ikke", actor="t")

    def ids(**filters: object) -> set[str]:
        with session_scope() as session:
            return {c.id for c in queue.search(session, queue.Filters(**filters)).cases}  # type: ignore[arg-type]

    assert ids(kind="erasure") == {b}
    assert a in ids(status="verified") and b in ids(status="verified")
    assert ids(assignee="agent-x") == {b}
    assert b not in ids(assignee="-")
    assert ids(due="overdue") == set()
    home.set(datetime(2026, 2, 24, 9, 0, tzinfo=UTC))  # due 2 March: within seven days
    assert len(ids(due="soon")) == 3
    home.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert len(ids(due="overdue")) == 3
    counts = queue_counts()
    assert counts["overdue"] == 3 and counts["open"] == 3 and counts["unassigned"] == 2
    assert counts["status"]["verified"] == 2 and counts["status"]["unverified"] == 1
    assert counts["kind"]["access"] == 2 and counts["kind"]["erasure"] == 1
    # The figures of the one grouped query agree with the filtered lists, and the
    # filtered total with its rows.
    with session_scope() as session:
        for filters, figure in (
            (queue.Filters(due="overdue"), counts["overdue"]),
            (queue.Filters(due="soon"), counts["due_soon"]),
            (queue.Filters(status="open", assignee="-"), counts["unassigned"]),
            (queue.Filters(kind="access", status="open"), counts["kind"]["access"]),
        ):
            found = queue.search(session, filters)
            assert found.total == len(found.cases) == figure
            assert found.counts == counts
        assert queue.search(session, queue.Filters(kind="access", assignee="-")).total == 2
        assert queue.search(session, queue.Filters(limit=1)).total == 3
        assignee = queue.search(session, queue.Filters(assignee="agent-x", status="open"))
        assert assignee.total == len(assignee.cases) == 1
    with pytest.raises(InvalidInput):
        ids(kind="bogus")


def test_events_name_what_happened_without_values(home: clock.FixedClock) -> None:
    case_id = verified_case(fnr="", phone="+4791234567")
    with session_scope() as session:
        events = session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).scalars()
        rows = [(e.event, e.details) for e in events]
    assert [r[0] for r in rows] == ["received", "code_sent", "verified"]
    assert "ola@example.no" not in repr(rows) and "91234567" not in repr(rows)


def test_the_grouped_counts_agree_with_the_filtered_rows_for_every_filter(
    home: clock.FixedClock,
) -> None:
    """The queue's totals come from one GROUP BY summed in Python; the rows from SQL
    conditions. For cases spread over statuses, types, assignees and due dates, every
    combination of filters must give the same number both ways."""
    import itertools
    import random

    from datavern.accounts import service as accounts
    from datavern.dsr.case_models import CASE_KINDS, CASE_STATUSES

    with session_scope() as session:
        for name in ("kari", "ola"):
            accounts.create_user(session, name, "et langt og trygt testpassord", "agent", actor="t")
    chosen = random.Random(4)
    ids = [submit().case_id for _ in range(24)]
    with session_scope() as session:
        for case_id in ids:
            case = session.get(PrivacyCase, case_id)
            assert case is not None
            case.status = chosen.choice(CASE_STATUSES)
            case.kind = chosen.choice(CASE_KINDS)
            case.assignee = chosen.choice([None, "kari", "ola"])
            case.due_on = date(2026, 3, 2) + timedelta(days=chosen.randint(-12, 12))
    home.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    combos = itertools.product(
        [None, "access", "erasure"],
        [None, "open", "verified", "done"],
        [None, "-", "kari"],
        [None, "soon", "overdue"],
    )
    with session_scope() as session:
        everything = queue.search(session, queue.Filters(limit=500))
        assert everything.total == len(everything.cases) == 24
        for kind, status, assignee, due in combos:
            filters = queue.Filters(kind=kind, status=status, assignee=assignee, due=due, limit=500)
            found = queue.search(session, filters)
            assert found.total == len(found.cases), filters
        figures = everything.counts
        for name, filters in (
            ("overdue", queue.Filters(due="overdue", limit=500)),
            ("due_soon", queue.Filters(due="soon", limit=500)),
            ("unassigned", queue.Filters(status="open", assignee="-", limit=500)),
            ("open", queue.Filters(status="open", limit=500)),
        ):
            assert figures[name] == len(queue.search(session, filters).cases), name

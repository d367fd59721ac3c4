"""Telling the people affected (art. 34): selection over a real SQLite and PostgreSQL
database through the connector, e-mail through a real SMTP server (aiosmtpd), SMS
through the outbox and through a webhook; who was told is recorded by hash only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from breach_fixtures import BREACH, OLD_VALID, Crm, crm, crm_pg_url, sqlite_crm
from smtp_fixtures import SmtpBox, smtp_server
from sqlalchemy import select

from datavern.breaches import service, subjects
from datavern.breaches.models import BreachMessage, BreachNotice, BreachNoticeRun
from datavern.core.audit import AuditEntry
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput
from datavern.notify.models import OutboxMessage
from datavern.notify.sms import SmsSettings, WebhookSmsSender

__all__ = ["crm", "crm_pg_url", "smtp_server", "sqlite_crm"]

OLD = "crm.customers where created_at < 2024-01-01"


def create(**changes: Any) -> int:
    data = {**BREACH, "risk": "high_risk", "risk_reasoning": "Navn og e-post, phishing.", **changes}
    with session_scope() as session:
        return service.create_breach(session, data, actor="test").breach_id


@pytest.fixture
def smtp(smtp_server: SmtpBox, monkeypatch: pytest.MonkeyPatch) -> SmtpBox:
    monkeypatch.setenv("DATAVERN_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("DATAVERN_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("DATAVERN_SMTP_SECURITY", "none")
    monkeypatch.setenv("DATAVERN_SMTP_FROM", "Nettbutikken <personvern@nettbutikken.example>")
    return smtp_server


def everything_logged() -> str:
    with session_scope() as session:
        rows = session.execute(select(AuditEntry)).scalars()
        audit_text = json.dumps([[e.action, e.target, e.details] for e in rows], default=str)
        notices = session.execute(select(BreachNotice)).scalars()
        notice_text = json.dumps(
            [[n.recipient_hash, n.source, n.delivery_ref, n.error] for n in notices]
        )
        runs = session.execute(select(BreachNoticeRun)).scalars()
        run_text = json.dumps([[r.selection, r.counts, r.error] for r in runs], default=str)
    return audit_text + notice_text + run_text


def test_selection_reads_the_right_people(crm: Crm) -> None:
    with session_scope() as session:
        selected = subjects.select_recipients(session, OLD, "email")
    # Rows 1-5 are older than 2024; 6 was created at midnight on 1 January 2024.
    assert selected.rows == 5
    assert sorted(r.address for r in selected.recipients) == sorted(OLD_VALID)
    assert selected.missing == 1  # Per has no e-mail address
    assert selected.invalid == 1
    assert selected.contact_fields == ["email"]
    with session_scope() as session:
        active = subjects.select_recipients(
            session, OLD + " and status = 'active' and name != 'Kari Nordmann'", "email"
        )
        phones = subjects.select_recipients(session, "crm.customers where id in (1, 4, 6)", "sms")
    assert [r.address for r in active.recipients] == ["ola@example.no"]
    assert sorted(r.address for r in phones.recipients) == [
        "+4748123456",
        "+4791234567",
        "+4799887766",
    ]


@pytest.mark.parametrize(
    ("selection", "words"),
    [
        ("crm.orders", "no collection 'orders'"),
        ("shop.customers", "no dataset 'shop'"),
        ("crm.customers where born < 2000-01-01", "declares no field 'born'"),
        ("crm.suppliers", "no field with the data category user.contact.email"),
        ("crm.customers where created_at < 'yesterday'", "cannot be compared"),
        ("crm.customers where created_at < 2024-01-01; DROP TABLE customers", "column 44"),
    ],
)
def test_bad_selections_are_refused_clearly(sqlite_crm: Crm, selection: str, words: str) -> None:
    breach_id = create()
    with pytest.raises(InvalidInput) as caught:
        subjects.notify_subjects(breach_id, selection, "email", "nb", actor="test")
    assert words in str(caught.value)
    with session_scope() as session:
        assert session.execute(select(BreachNoticeRun)).first() is None


def test_dry_run_counts_and_previews_without_sending(sqlite_crm: Crm, smtp: SmtpBox) -> None:
    breach_id = create()
    result = subjects.notify_subjects(breach_id, OLD, "email", "nb", actor="test", dry_run=True)
    assert (result.selected, result.sent, result.missing, result.invalid) == (2, 0, 1, 1)
    assert result.message.subject and "Nettbutikken AS" in result.message.subject
    assert "phishing" in result.message.body
    assert smtp.messages == []
    with session_scope() as session:
        assert session.execute(select(BreachNotice)).first() is None
        assert session.execute(select(BreachMessage)).first() is None
        [entry] = session.execute(
            select(AuditEntry).where(AuditEntry.action == "breach.notify_subjects.dry_run")
        ).scalars()
    assert entry.details["recipients"] == 2


def test_email_to_everyone_selected_once_through_smtp(crm: Crm, smtp: SmtpBox) -> None:
    breach_id = create()
    result = subjects.notify_subjects(breach_id, OLD, "email", "nb", actor="test")
    assert (result.sent, result.failed, result.already) == (2, 0, 0)
    assert result.delivery == {"sent": 2, "failed": 0, "kept": 0}
    received = sorted(smtp.messages, key=lambda m: str(m["To"]))
    assert [str(m["To"]) for m in received] == sorted(OLD_VALID)
    for message in received:
        assert str(message["Subject"]).startswith("Viktig melding fra Nettbutikken AS")
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Hva har skjedd" in text and "dpo@nettbutikken.example" in text
        assert message["Content-Language"] == "nb"
    # Running it again tells nobody twice; new people in the selection are told.
    crm.add_customers([(8, "sen@example.no", None, "Sen Kunde", crm_date(2020), "active")])
    again = subjects.notify_subjects(breach_id, OLD, "email", "nb", actor="test")
    assert (again.sent, again.already) == (1, 2)
    assert len(smtp.messages) == 3
    with session_scope() as session:
        view = service.get_breach(session, breach_id)
        told = subjects.was_told(session, breach_id, "email", "OLA@example.no")
        not_told = subjects.was_told(session, breach_id, "email", "ny@example.no")
        notices = list(session.execute(select(BreachNotice)).scalars())
    assert view.summary.people_told == 3
    assert view.next_steps == ["notify_datatilsynet"]
    assert told and not not_told
    assert {n.message_id for n in notices} == {notices[0].message_id}  # one message version
    assert all(len(n.recipient_hash) == 64 for n in notices)
    logged = everything_logged()
    for address in (*OLD_VALID, "sen@example.no"):
        assert address not in logged


def crm_date(year: int) -> Any:
    from datetime import datetime

    return datetime(year, 1, 1, 12)


def test_the_draft_says_how_people_were_told(sqlite_crm: Crm, smtp: SmtpBox) -> None:
    breach_id = create()
    subjects.notify_subjects(breach_id, OLD, "email", "en", actor="test")
    with session_scope() as session:
        draft = service.draft_for(session, breach_id, lang="nb")
    told = next(f.value for s in draft.sections for f in s.fields if f.key == "told")
    assert told is not None and told.startswith("Ja: 2 personer er varslet på e-post")
    english = [m for m in smtp.messages if m["Content-Language"] == "en"]
    assert len(english) == 2


def test_a_custom_message_is_stored_as_a_version(sqlite_crm: Crm, smtp: SmtpBox) -> None:
    breach_id = create()
    custom = "Subject: Om sikkerhetsbruddet\n\nHei! Vi har hatt et brudd.\n"
    subjects.notify_subjects(
        breach_id, "crm.customers where id = 1", "email", "nb", actor="test", custom_message=custom
    )
    subjects.notify_subjects(breach_id, "crm.customers where id = 2", "email", "nb", actor="test")
    with session_scope() as session:
        messages = list(
            session.execute(select(BreachMessage).order_by(BreachMessage.number)).scalars()
        )
    assert [(m.number, m.subject) for m in messages] == [
        (1, "Om sikkerhetsbruddet"),
        (2, messages[1].subject),
    ]
    assert messages[1].subject and messages[1].subject.startswith("Viktig melding")
    assert str(smtp.messages[0]["Subject"]) == "Om sikkerhetsbruddet"


def test_without_smtp_the_mail_is_kept_in_the_outbox(sqlite_crm: Crm) -> None:
    breach_id = create()
    result = subjects.notify_subjects(breach_id, OLD, "email", "nb", actor="test")
    assert result.sent == 2
    with session_scope() as session:
        kept = list(session.execute(select(OutboxMessage)).scalars())
    assert sorted(m.to_addr for m in kept) == sorted(OLD_VALID)
    assert {m.status for m in kept} == {"kept"}


def test_sms_by_the_default_sender_is_kept_in_the_outbox(sqlite_crm: Crm) -> None:
    breach_id = create()
    result = subjects.notify_subjects(
        breach_id, "crm.customers where created_at < 2024-01-01", "sms", "nb", actor="test"
    )
    assert (result.sent, result.missing) == (2, 3)
    with session_scope() as session:
        kept = list(session.execute(select(OutboxMessage)).scalars())
    assert sorted(m.to_addr for m in kept) == ["+4748123456", "+4791234567"]
    assert {(m.template, m.status) for m in kept} == {("sms", "kept")}
    assert all(len(m.text_body) <= 480 for m in kept)


class _Gateway(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, Any], dict[str, str]]] = []  # noqa: RUF012
    fail_for: set[str] = set()  # noqa: RUF012

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Gateway.received.append((body, dict(self.headers)))
        if body["to"] in _Gateway.fail_for:
            self.send_response(503)
            self.end_headers()
            return
        answer = json.dumps({"id": f"gw-{len(_Gateway.received)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    _Gateway.received = []
    _Gateway.fail_for = set()
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_sms_through_a_webhook_failures_are_retried(sqlite_crm: Crm, gateway: str) -> None:
    breach_id = create()
    _Gateway.fail_for = {"+4748123456"}
    sender = WebhookSmsSender(SmsSettings(webhook_url=gateway, webhook_secret="s3cret"))
    result = subjects.notify_subjects(breach_id, OLD, "sms", "en", actor="test", sms_sender=sender)
    assert (result.sent, result.failed) == (1, 1)
    body, headers = _Gateway.received[0]
    assert body["lang"] == "en" and body["text"].startswith("Important message from")
    assert headers["X-Datavern-Signature"].startswith("sha256=")
    with session_scope() as session:
        notices = {n.status: n for n in session.execute(select(BreachNotice)).scalars()}
    assert notices["sent"].delivery_ref == "gw-1" or notices["sent"].delivery_ref == "gw-2"
    assert notices["failed"].error == "the SMS webhook answered HTTP 503"
    # The gateway is back: only the one that failed is sent again.
    _Gateway.fail_for = set()
    again = subjects.notify_subjects(breach_id, OLD, "sms", "en", actor="test", sms_sender=sender)
    assert (again.sent, again.already) == (1, 1)
    assert len(_Gateway.received) == 3
    assert "+4748123456" not in everything_logged()


def test_unreachable_smtp_leaves_messages_to_retry(
    sqlite_crm: Crm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAVERN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DATAVERN_SMTP_PORT", "9")  # discard: nothing listens
    monkeypatch.setenv("DATAVERN_SMTP_SECURITY", "none")
    monkeypatch.setenv("DATAVERN_SMTP_TIMEOUT", "2")
    breach_id = create()
    result = subjects.notify_subjects(breach_id, OLD, "email", "nb", actor="test")
    # Recorded as told once queued: the outbox keeps trying (notify.deliver).
    assert result.sent == 2
    assert result.delivery == {"sent": 0, "failed": 2, "kept": 0}
    with session_scope() as session:
        pending = list(session.execute(select(OutboxMessage)).scalars())
    assert {m.status for m in pending} == {"pending"}
    assert all("ola@" not in (m.error or "") for m in pending)


def test_people_are_told_while_the_clock_runs(sqlite_crm: Crm, smtp: SmtpBox) -> None:
    breach_id = create()
    sqlite_crm.fixed_clock.set(sqlite_crm.fixed_clock.now() + timedelta(hours=1))
    subjects.notify_subjects(breach_id, OLD, "email", "nb", actor="test")
    with session_scope() as session:
        view = service.get_breach(session, breach_id)
    assert view.summary.clock.state == "running"
    assert view.runs[0].counts["sent"] == 2


class Killed(BaseException):
    """The process dies here (nothing after it runs, not even error handling)."""


def test_a_sending_killed_midway_continues_as_a_job_and_tells_nobody_twice(
    crm: Crm, smtp: SmtpBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datavern.breaches import mail
    from datavern.jobs.runner import get_runner

    more = [
        (20 + n, f"kunde{n}@example.no", None, f"Kunde {n}", crm_date(2021), "active")
        for n in range(3)
    ]
    crm.add_customers(more)
    everyone = sorted({*OLD_VALID, *(row[1] for row in more)})
    breach_id = create()
    queued = subjects.queue_notice(breach_id, OLD, "email", "nb", actor="test")
    with session_scope() as session:
        run = session.get(BreachNoticeRun, queued.run_id)
        assert run is not None and run.state == "queued"
    assert smtp.messages == []

    real = mail.queue_text
    calls = {"n": 0}

    def dies_on_the_third(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Killed()
        return real(*args, **kwargs)

    monkeypatch.setattr(mail, "queue_text", dies_on_the_third)
    with pytest.raises(Killed):
        subjects.send_notice(queued.run_id, batch_size=2)
    monkeypatch.setattr(mail, "queue_text", real)
    with session_scope() as session:
        run = session.get(BreachNoticeRun, queued.run_id)
        assert run is not None and run.state == "running" and run.counts["sent"] == 2
        unfinished = [r.id for r in subjects.unfinished_runs(session, breach_id)]
    assert unfinished == [queued.run_id]
    assert len(smtp.messages) == 2  # the first batch was committed and delivered

    # The job continues the same run: the rest are told, nobody twice.
    result = get_runner().enqueue("breach.notify_subjects", run_id=queued.run_id)
    assert (result["sent"], result["failed"], result["already_told"]) == (5, 0, 0)
    assert sorted(str(m["To"]) for m in smtp.messages) == everyone
    # Delivered twice (a queue may do that), it does nothing.
    again = get_runner().enqueue("breach.notify_subjects", run_id=queued.run_id)
    assert again["sent"] == 5 and len(smtp.messages) == 5
    with session_scope() as session:
        run = session.get(BreachNoticeRun, queued.run_id)
        assert run is not None and run.state == "done" and run.finished_at is not None
        assert subjects.JOB_KEY not in run.counts  # the sealed selection is gone
        view = service.get_breach(session, breach_id)
    assert view.summary.people_told == 5
    assert [(r.state, r.counts["sent"]) for r in view.runs] == [("done", 5)]
    logged = everything_logged()
    for address in everyone:
        assert address not in logged


def test_a_queued_notice_with_a_bad_selection_stores_nothing(sqlite_crm: Crm) -> None:
    breach_id = create()
    with pytest.raises(InvalidInput, match="no field 'x'"):
        subjects.queue_notice(
            breach_id, "crm.customers where x = 'Oslo'", "email", "nb", actor="test"
        )
    with session_scope() as session:
        assert session.execute(select(BreachNoticeRun)).first() is None
        assert session.execute(select(BreachMessage)).first() is None


class _SlowCountingSms:
    """An SMS gateway that takes a moment per message and counts what it was given."""

    name = "counting"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, session: Any, message: Any) -> str:
        import time

        time.sleep(0.05)  # long enough for the other sending to reach the same person
        with self.lock:
            self.sent.append(message.to)
            return f"gw-{len(self.sent)}"


def test_two_continuations_at_once_tell_each_person_once(crm: Crm) -> None:
    more = [
        (30 + n, f"kunde{n}@example.no", f"+479000000{n}", f"Kunde {n}", crm_date(2021), "active")
        for n in range(4)
    ]
    crm.add_customers(more)
    breach_id = create()
    queued = subjects.queue_notice(breach_id, OLD, "sms", "nb", actor="test")
    gateway = _SlowCountingSms()
    errors: list[BaseException] = []

    def continue_it() -> None:
        try:
            subjects.send_notice(queued.run_id, sms_sender=gateway, batch_size=1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    both = [threading.Thread(target=continue_it) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert errors == []
    assert len(gateway.sent) == len(set(gateway.sent)) == 6  # 2 old numbers + 4 new
    with session_scope() as session:
        run = session.get(BreachNoticeRun, queued.run_id)
        assert run is not None and run.state == "done"
        told = session.execute(
            select(BreachNotice.recipient_hash).where(BreachNotice.status == "sent")
        ).scalars()
        assert len(list(told)) == 6

"""The group appender behind ``POST /api/v1/consent/records`` and ``/withdraw``
(consent/appender.py), on SQLite and PostgreSQL: requests that arrive together are
appended in one transaction, in order, into one intact chain; every request gets
its own answer (its record, or its own error with nothing appended); a record the
database refuses fails alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from consent_fixtures import apply_register_text
from datavern.accounts import tokens
from datavern.consent import appender, service
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput


@pytest.fixture
def group(database_url: str, tmp_path: Path) -> Iterator[appender.GroupAppender]:
    apply_register_text(tmp_path / "register", url=database_url)
    made = appender.GroupAppender(database_url)
    yield made
    made.close()


def _token(*scopes: str, name: str) -> str:
    with session_scope() as session:
        return tokens.hash_token(tokens.create_token(session, name, list(scopes), actor="t"))


def _values(subject: str, decision: str = "grant", purpose: str = "nyhetsbrev") -> dict[str, Any]:
    return {"subject": subject, "purpose": purpose, "decision": decision, "method": "api"}


def test_concurrent_requests_share_transactions_and_form_one_chain(
    group: appender.GroupAppender,
) -> None:
    writer = _token("consent:write", name="crm")
    seqs: list[int] = []
    errors: list[BaseException] = []

    def caller(t: int) -> None:
        try:
            for i in range(25):
                decision = "grant" if i % 2 == 0 else "withdraw"
                view = group.submit(_values(f"account:{t}", decision), token_hash=writer)
                seqs.append(view.result(timeout=60).seq)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(seqs) == list(range(1, 201))  # each answer its own place in the chain
    assert group.stats.records == 200
    assert group.stats.largest > 1 and group.stats.batches < 200  # requests were grouped
    with session_scope() as session:
        check = service.verify_ledger(session)
        assert check.ok and check.records == 200
        # Each caller granted, withdrew, ..., granted: the state is the newest decision.
        assert service.state(session, "account:3", "nyhetsbrev").decision == "grant"
        assert service.ledger_size(session) == 200


def test_each_request_of_a_batch_gets_its_own_answer(group: appender.GroupAppender) -> None:
    writer = _token("consent:write", name="crm")
    reader = _token("consent:read", name="mailer")
    jobs = [
        appender._Job(_values("account:1"), writer, None),
        appender._Job(_values("account:2"), tokens.hash_token("dv_unknown"), None),
        appender._Job(_values("account:3"), reader, None),
        appender._Job(_values("account:4", purpose="no-such-purpose"), writer, None),
        appender._Job(_values("account:5"), None, "user:7"),
        # The same subject and purpose again in the same batch: the withdrawal must see
        # the grant before it (its text version), as if they came one after another.
        appender._Job(_values("account:1", "withdraw"), writer, None),
    ]
    group._write(jobs)
    answers: list[Any] = []
    for job in jobs:
        exc = job.future.exception(timeout=0)
        answers.append(exc if exc is not None else job.future.result(timeout=0))
    first, unknown, scope, bad, logged_in, withdrawn = answers
    assert (first.seq, logged_in.seq, withdrawn.seq) == (1, 2, 3)
    assert first.recorded_by == "token:crm" and logged_in.recorded_by == "user:7"
    assert isinstance(unknown, appender.Refused) and unknown.status == 401
    assert isinstance(scope, appender.Refused) and scope.status == 403
    assert isinstance(bad, InvalidInput) and bad.problems[0].path == "purpose"
    assert withdrawn.decision == "withdraw"
    assert withdrawn.text_version_id == first.text_version_id is not None
    assert group.stats.batches == 1 and group.stats.largest == 3
    with session_scope() as session:
        check = service.verify_ledger(session)
        assert check.ok and check.records == 3
        assert service.state(session, "account:1", "nyhetsbrev").decision == "withdraw"


def test_a_record_the_database_refuses_fails_alone(
    group: appender.GroupAppender, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _token("consent:write", name="crm")
    real = service.append_many

    def refusing(session: Any, items: Any, **kwargs: Any) -> Any:
        if any(f.subject == "account:13" for f in items):
            raise IntegrityError("INSERT", {}, Exception("refused by the database"))
        return real(session, items, **kwargs)

    monkeypatch.setattr(service, "append_many", refusing)
    jobs = [appender._Job(_values(f"account:{i}"), writer, None) for i in (11, 12, 13, 14)]
    group._write(jobs)
    futures: list[Future[Any]] = [j.future for j in jobs]
    assert isinstance(futures[2].exception(timeout=0), IntegrityError)
    assert [f.result(timeout=0).subject for f in futures if f is not futures[2]] == [
        "account:11",
        "account:12",
        "account:14",
    ]
    with session_scope() as session:
        check = service.verify_ledger(session)
        assert check.ok and check.records == 3  # the failed batch left nothing behind


def test_a_closed_appender_answers_what_it_held_and_starts_again(
    group: appender.GroupAppender,
) -> None:
    writer = _token("consent:write", name="crm")
    held = [group.submit(_values(f"account:{i}"), token_hash=writer) for i in range(5)]
    group.close()
    assert [f.result(timeout=0).seq for f in held] == [1, 2, 3, 4, 5]
    # The next request starts the thread again.
    again = group.submit(_values("account:9"), token_hash=writer).result(timeout=60)
    assert again.seq == 6

"""The breach register on SQLite and PostgreSQL: versions, risk, exceptions, the
notification to Datatilsynet, bad input (nothing stored), reminders, the audit log."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from breach_fixtures import BREACH, NOW, REGISTER
from sqlalchemy import func, select

from datavern.breaches import service
from datavern.breaches.draft import draft_text
from datavern.breaches.models import Breach, BreachReminder, BreachSubmission, BreachVersion
from datavern.core import audit, clock
from datavern.core.audit import AuditEntry
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput, NotFound
from datavern.notify.models import OutboxMessage
from datavern.register.loader import load_register
from datavern.register.service import apply_register


@pytest.fixture
def fixed(database_url: str, tmp_path: Path) -> Iterator[clock.FixedClock]:
    """Datavern's database (SQLite, PostgreSQL), the register applied, the clock at NOW."""
    fixed = clock.FixedClock(NOW)
    previous = clock.use_clock(fixed)
    folder = tmp_path / "register"
    folder.mkdir()
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER))
    with session_scope() as session:
        apply_register(session, load_register(folder), "test")
    try:
        yield fixed
    finally:
        clock.use_clock(previous)


def create(**changes: Any) -> int:
    with session_scope() as session:
        return service.create_breach(session, {**BREACH, **changes}, actor="test").breach_id


def count(model: Any) -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def audit_entries(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars()
        )


def test_register_and_read_back(fixed: clock.FixedClock) -> None:
    breach_id = create(risk="high_risk", risk_reasoning="Navn og e-post, phishing sannsynlig.")
    with session_scope() as session:
        view = service.get_breach(session, breach_id)
    assert view.summary.title == BREACH["title"]
    assert view.summary.clock.state == "running"
    assert view.summary.clock.deadline == view.summary.aware_at + timedelta(hours=72)
    assert view.risk is not None and view.risk["level"] == "high_risk"
    assert view.facts.people_affected is not None and str(view.facts.people_affected) == "2-5"
    assert view.next_steps == ["notify_datatilsynet", "notify_subjects"]
    [entry] = audit_entries("breach.register")
    assert entry.target == f"breach:{breach_id}"
    # The audit log names the breach and the moments, never its texts.
    assert BREACH["description"] not in json.dumps(entry.details, ensure_ascii=False)


@pytest.mark.parametrize(
    ("changes", "paths"),
    [
        ({"aware_at": "2026-11-21 09:00"}, ["aware_at"]),
        ({"title": None, "description": ""}, ["title", "description"]),
        ({"risk": "medium", "risk_reasoning": "x"}, ["risk"]),
        ({"risk": "high_risk"}, ["risk_reasoning"]),
        ({"data_categories": ["user.contact.emial"]}, ["data_categories"]),
        ({"systems": ["crm"]}, ["systems"]),
        ({"discovered_at": "2026-11-19 15:00"}, ["discovered_at"]),
    ],
)
def test_bad_input_stores_nothing(
    fixed: clock.FixedClock, changes: dict[str, Any], paths: list[str]
) -> None:
    data = {**BREACH, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(InvalidInput) as caught, session_scope() as session:
        service.create_breach(session, data, actor="test")
    assert sorted({p.path.split(".")[0] for p in caught.value.problems}) == sorted(paths)
    assert count(Breach) == 0
    assert count(BreachVersion) == 0
    assert audit_entries("breach.register") == []


def test_unknown_names_get_a_suggestion(fixed: clock.FixedClock) -> None:
    with pytest.raises(InvalidInput) as caught, session_scope() as session:
        service.create_breach(
            session, {**BREACH, "data_categories": ["user.contact.emial"]}, actor="test"
        )
    assert "did you mean 'user.contact.email'" in str(caught.value)


def test_staged_updates_are_versions(fixed: clock.FixedClock) -> None:
    breach_id = create()
    fixed.set(NOW + timedelta(hours=2))
    with session_scope() as session:
        saved = service.update_breach(
            session,
            breach_id,
            {"people_affected": 1240, "data_location": "Slettet hos mottakeren.", "cause": None},
            actor="test",
            note="Antallet er bekreftet",
        )
    assert saved.version == 2
    assert saved.changed == ["cause", "people_affected", "data_location"]
    with session_scope() as session:
        view = service.get_breach(session, breach_id)
        first = service.draft_for(session, breach_id, lang="nb", version=1)
        second = service.draft_for(session, breach_id, lang="nb")
    assert [v.number for v in view.versions] == [1, 2]
    assert view.versions[0].facts["cause"] == BREACH["cause"]
    assert view.versions[1].facts["cause"] is None
    assert view.versions[1].note == "Antallet er bekreftet"
    assert "Slettet hos mottakeren." not in draft_text(first)
    assert "Slettet hos mottakeren." in draft_text(second)
    with pytest.raises(InvalidInput), session_scope() as session:
        service.update_breach(session, breach_id, {"people_affected": 1240}, actor="test")
    with pytest.raises(InvalidInput), session_scope() as session:
        service.update_breach(session, breach_id, {"title": ""}, actor="test")
    assert count(BreachVersion) == 2
    [entry] = audit_entries("breach.update")
    assert entry.details == {"version": 2, "changed": saved.changed}


def test_risk_assessment_and_art_34_3_exception(fixed: clock.FixedClock) -> None:
    breach_id = create()
    with pytest.raises(InvalidInput) as caught, session_scope() as session:
        service.record_exception(session, breach_id, "a", "Kryptert disk.", actor="test")
    assert "high_risk first" in str(caught.value)
    with session_scope() as session:
        service.assess_risk(session, breach_id, "high_risk", "Mange kunder.", actor="test")
    with pytest.raises(InvalidInput) as caught, session_scope() as session:
        service.record_exception(session, breach_id, "c", "For mange.", actor="test")
    assert [p.path for p in caught.value.problems] == ["public_communication"]
    with session_scope() as session:
        service.record_exception(
            session,
            breach_id,
            "C",
            "Adressene mangler for de fleste.",
            public_communication="Kunngjøring på nettsiden og i Aftenposten 21.11.",
            actor="test",
        )
        view = service.get_breach(session, breach_id)
        text = draft_text(service.draft_for(session, breach_id, lang="en"))
    assert view.exception is not None and view.exception["letter"] == "c"
    assert view.next_steps == ["notify_datatilsynet"]
    assert "art. 34(3)(c)" in text and "Aftenposten" in text
    # Assessing the risk down again lets the exception lapse.
    with session_scope() as session:
        service.assess_risk(session, breach_id, "risk", "Adressene var kryptert.", actor="test")
        assert service.get_breach(session, breach_id).exception is None


def test_notification_to_datatilsynet_stops_the_clock(fixed: clock.FixedClock) -> None:
    breach_id = create(risk="risk", risk_reasoning="Begrenset.")
    fixed.set(NOW + timedelta(hours=3))
    with session_scope() as session:
        info = service.record_submission(session, breach_id, actor="test", reference="AR123")
    assert (info.stage, info.late, info.version) == ("initial", False, 1)
    fixed.set(NOW + timedelta(hours=100))
    with session_scope() as session:
        view = service.get_breach(session, breach_id)
        service.update_breach(session, breach_id, {"people_affected": 3}, actor="test")
        update = service.record_submission(session, breach_id, actor="test")
    assert view.summary.clock.state == "notified"
    assert (update.stage, update.version) == ("update", 2)
    with session_scope() as session:
        draft = service.draft_for(session, breach_id, lang="nb", version=2)
    stage = next(f.value for f in draft.header if f.key == "stage")
    assert stage == "Oppdatering nr. 1 (artikkel 33 nr. 4)"
    [first, _second] = audit_entries("breach.notified_authority")
    assert first.details["reference"] == "AR123"


def test_a_late_notification_needs_reasons(fixed: clock.FixedClock) -> None:
    breach_id = create()
    fixed.set(NOW + timedelta(hours=60))  # 79.5 hours after awareness
    with pytest.raises(InvalidInput) as caught, session_scope() as session:
        service.record_submission(session, breach_id, actor="test")
    assert [p.path for p in caught.value.problems] == ["delay_reasons"]
    assert count(BreachSubmission) == 0
    with session_scope() as session:
        info = service.record_submission(
            session,
            breach_id,
            actor="test",
            delay_reasons="Leverandøren bekreftet omfanget først etter tre døgn.",
        )
        view = service.get_breach(session, breach_id)
    assert info.late
    assert view.facts.delay_reasons is not None  # kept in the record, a new version
    assert view.summary.clock.state == "notified_late"
    assert [v.kind for v in view.versions] == ["registered", "update"]


def test_submission_moments_are_checked(fixed: clock.FixedClock) -> None:
    breach_id = create()
    for moment in ("2026-11-21 12:00", "2026-11-18 08:00", "2026-03-29 02:30"):
        with pytest.raises(InvalidInput) as caught, session_scope() as session:
            service.record_submission(session, breach_id, actor="test", submitted_at=moment)
        assert [p.path for p in caught.value.problems] == ["submitted_at"]


def test_unknown_breach(fixed: clock.FixedClock) -> None:
    with pytest.raises(NotFound), session_scope() as session:
        service.get_breach(session, 99)


def test_reminders_go_to_the_organisation_and_dpo_once_per_threshold(
    fixed: clock.FixedClock,
) -> None:
    breach_id = create()  # aware 2026-11-19 13:30 UTC; deadline 2026-11-22 13:30 UTC
    with session_scope() as session:
        assert service.send_reminders(session, actor="test") == []  # 52.5 hours left
    fixed.set(NOW + timedelta(hours=5))  # 47.5 hours left
    with session_scope() as session:
        [sent] = service.send_reminders(session, actor="test")
        assert service.send_reminders(session, actor="test") == []
    assert (sent.breach_id, sent.threshold, sent.recipients) == (breach_id, "48h", 2)
    with session_scope() as session:
        mails = list(session.execute(select(OutboxMessage)).scalars())
    assert sorted(m.to_addr for m in mails) == [
        "dpo@nettbutikken.example",
        "personvern@nettbutikken.example",
    ]
    assert all(m.status == "kept" for m in mails)  # no SMTP host configured
    assert "47 t 30 min igjen" in mails[0].subject
    assert f"datavern breach draft {breach_id}" in mails[0].text_body
    fixed.set(NOW + timedelta(hours=60))
    with session_scope() as session:
        [late] = service.send_reminders(session, actor="test")
    assert late.threshold == "overdue"
    assert count(BreachReminder) == 2
    # Assessed as no risk: the clock stops, and so do the reminders.
    with session_scope() as session:
        service.assess_risk(session, breach_id, "none", "Kun interne testdata.", actor="test")
    fixed.set(NOW + timedelta(hours=200))
    with session_scope() as session:
        assert service.send_reminders(session, actor="test") == []


def test_the_audit_chain_holds(fixed: clock.FixedClock) -> None:
    breach_id = create()
    with session_scope() as session:
        service.assess_risk(session, breach_id, "high_risk", "Mange.", actor="test")
        service.record_submission(session, breach_id, actor="test")
        assert audit.verify(session).ok


def test_the_periodic_task_reminds(fixed: clock.FixedClock) -> None:
    from datavern.jobs.runner import registered

    breach_id = create()
    task = registered()["breach.remind"]
    assert task.every == timedelta(minutes=15)
    fixed.set(NOW + timedelta(hours=5))
    assert task.function() == {"sent": [{"breach": breach_id, "threshold": "48h"}], "problems": []}
    assert task.function() == {"sent": [], "problems": []}

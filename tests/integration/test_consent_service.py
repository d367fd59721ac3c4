"""The consent service on SQLite and PostgreSQL: texts, the ledger, state, may-process,
the banner's nonces, double opt-in, one-click unsubscribe, re-consent, verification."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from consent_fixtures import apply_register_text, register_text
from datavern.consent import service
from datavern.consent.models import ConsentRecord
from datavern.core import audit, clock
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput
from datavern.notify.models import OutboxMessage

OLA = "ola@example.no"


@pytest.fixture
def applied(database_url: str, tmp_path: Path) -> Path:
    apply_register_text(tmp_path / "register")
    return tmp_path / "register"


def _size() -> int:
    with session_scope() as session:
        return service.ledger_size(session)


def _record(**kwargs: Any) -> service.RecordView:
    values: dict[str, Any] = {"recorded_by": "test"}
    values.update(kwargs)
    with session_scope() as session:
        return service.record(session, **values)


def _may(subject: str, purpose: str) -> service.MayProcess:
    with session_scope() as session:
        return service.may_process(session, subject, purpose)


# --- texts ---------------------------------------------------------------------------


def test_apply_versions_texts_and_keeps_old_ones(applied: Path) -> None:
    with session_scope() as session:
        first = {t.id: t.content_hash for t in service.list_texts(session)}
    assert "nyhetsbrev/nb/1" in first and "statistikk/en/1" in first
    apply_register_text(applied)  # unchanged: nothing new
    apply_register_text(applied, register_text(newsletter_nb="Ja, send meg nyhetsbrevet."))
    with session_scope() as session:
        after = {t.id: t for t in service.list_texts(session)}
        assert set(after) - set(first) == {"nyhetsbrev/nb/2"}
        assert after["nyhetsbrev/nb/1"].content["text"].startswith("Ja takk")
        assert after["nyhetsbrev/nb/2"].content["text"] == "Ja, send meg nyhetsbrevet."
        ctx = service.context(session)
        assert ctx.current_for("nyhetsbrev", "nb").id == "nyhetsbrev/nb/2"  # type: ignore[union-attr]
        assert ctx.current_for("nyhetsbrev", "en").id == "nyhetsbrev/en/1"  # type: ignore[union-attr]


# --- record, state, may-process ------------------------------------------------------


def test_grant_then_withdraw_decides_may_process(applied: Path) -> None:
    assert not _may(OLA, "nyhetsbrev").allowed
    rec = _record(subject=OLA, purpose="nyhetsbrev", decision="grant", method="form_checkbox")
    assert rec.subject.startswith("emailhash:") and OLA not in rec.subject
    assert rec.text_version_id == "nyhetsbrev/nb/1"
    answer = _may(OLA, "nyhetsbrev")
    assert answer.allowed and answer.consent == {"nyhetsbrev": "granted"}
    # The same subject by its stored hash, and the activity that rests on the purpose.
    assert _may(rec.subject, "nyhetsbrev-utsending").allowed
    _record(subject=OLA, purpose="nyhetsbrev", decision="withdraw")
    answer = _may(OLA, "nyhetsbrev")
    assert not answer.allowed and "withdrew" in answer.reasons[0]
    with session_scope() as session:
        state = service.state(session, OLA, "nyhetsbrev")
    assert state.status == "withdrawn" and state.text_version == "nyhetsbrev/nb/1"
    # Processing that needs no consent is allowed without any record.
    assert _may("account:77", "kundeforhold").allowed


def test_objection_to_direct_marketing_overrides_a_grant(applied: Path) -> None:
    _record(subject="account:5", purpose="nyhetsbrev", decision="grant")
    _record(subject="account:5", purpose="direct_marketing", decision="object")
    news = _may("account:5", "nyhetsbrev")
    assert not news.allowed and news.objected
    assert not _may("account:5", "oppfolging").allowed
    assert _may("account:5", "kundeforhold").allowed


def test_dsr_restriction_is_part_of_the_answer(applied: Path) -> None:
    from datavern.dsr import crypto
    from datavern.dsr.models import Restriction

    _record(subject=OLA, purpose="nyhetsbrev", decision="grant")
    with session_scope() as session:
        session.add(
            Restriction(
                identity_type="email",
                identity_hash=crypto.identity_hash("email", OLA),
                created_by="test",
                created_at=clock.now(),
            )
        )
    answer = _may(OLA, "nyhetsbrev")
    assert not answer.allowed and answer.restricted
    assert _may(OLA, "storage").allowed
    # By the stored reference alone (no address known) the restriction is found too.
    assert _may(service.subject_of(OLA).ref, "nyhetsbrev").restricted


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"purpose": "spam"}, "purpose"),
        ({"purpose": "kundeklubb"}, "purpose"),
        ({"purpose": "kundeforhold"}, "purpose"),
        ({"text_version": "nyhetsbrev/nb/99"}, "text_version"),
        ({"text_version": "statistikk/nb/1"}, "text_version"),
        ({"subject": "not-a-subject"}, "subject"),
        ({"decision": "maybe"}, "decision"),
        ({"method": "telepathy"}, "method"),
        ({"language": "de"}, "language"),
        ({"purpose": "kundeforhold", "decision": "object"}, "purpose"),
    ],
)
def test_bad_records_name_the_field_and_append_nothing(
    applied: Path, kwargs: dict[str, Any], field: str
) -> None:
    values = {"subject": OLA, "purpose": "nyhetsbrev", "decision": "grant"}
    values.update(kwargs)
    with pytest.raises(InvalidInput) as err:
        _record(**values)
    assert field in [p.path for p in err.value.problems]
    assert OLA not in str(err.value)
    assert _size() == 0


def test_every_problem_is_reported_at_once(applied: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        _record(subject="x", purpose="spam", decision="maybe", method="nope")
    assert {"subject", "purpose", "decision", "method"} <= {p.path for p in err.value.problems}


# --- the banner ----------------------------------------------------------------------


def _config(lang: str = "nb") -> dict[str, Any]:
    with session_scope() as session:
        return service.banner_config(session, lang)


def _post(body: dict[str, Any], **kwargs: Any) -> service.BannerResult:
    with session_scope() as session:
        return service.banner_post(
            session,
            body,
            ip=kwargs.get("ip", "192.0.2.10"),
            user_agent="UA",
            **{k: v for k, v in kwargs.items() if k != "ip"},
        )


def _body(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "nonce": config["nonce"],
        "visitor_id": "3f1c2e9a-7b44-4c1e-9d2a-0a1b2c3d4e5f",
        "method": "custom",
        "lang": "nb",
        "categories": {"analytics": True, "marketing": False},
        "services": {"statistikk": True, "kampanje": False},
        "text_versions": config["text_versions"],
        "url": "https://samtykketest.example/",
    }
    body.update(changes)
    return body


def test_banner_config_lists_categories_services_and_versions(applied: Path) -> None:
    config = _config("en")
    assert [c["key"] for c in config["categories"]] == ["necessary", "analytics", "marketing"]
    analytics = config["categories"][1]
    assert analytics["services"][0]["key"] == "statistikk"
    assert analytics["services"][0]["cookies"][0]["name"] == "_pk_id"
    assert config["text_versions"] == {"statistikk": "statistikk/en/1", "kampanje": "kampanje/en/1"}
    assert "nyhetsbrev" not in config["text_versions"]  # no cookie names it
    assert config["nonce"]


def test_banner_post_records_each_purpose_with_its_text(applied: Path) -> None:
    result = _post(_body(_config()))
    decisions = {r.purpose: r.decision for r in result.records}
    assert decisions == {"statistikk": "grant", "kampanje": "deny"}
    with session_scope() as session:
        rows = session.execute(select(ConsentRecord)).scalars().all()
        assert {r.ip for r in rows} == {"192.0.2.0/24"}
        assert {r.method for r in rows} == {"banner_custom"}
        assert {r.collection_point for r in rows} == {"https://samtykketest.example/"}
    # Unticking later is a withdrawal of what was granted.
    second = _post(
        _body(
            {"nonce": result.nonce, "text_versions": _config()["text_versions"]},
            method="reject_all",
            services={"statistikk": False, "kampanje": False},
        )
    )
    assert {r.purpose: r.decision for r in second.records} == {
        "statistikk": "withdraw",
        "kampanje": "deny",
    }


def test_gpc_is_recorded_as_a_refusal_of_everything(applied: Path) -> None:
    body = _body(_config(), method="gpc", services={"statistikk": False, "kampanje": False})
    result = _post(body)
    assert {r.decision for r in result.records} == {"deny"}
    with session_scope() as session:
        methods = set(session.execute(select(ConsentRecord.method)).scalars())
    assert methods == {"gpc"}
    # A reject-all sent with the Sec-GPC header is recorded as GPC, too.
    again = _post(
        _body(
            {"nonce": result.nonce, "text_versions": _config()["text_versions"]},
            method="reject_all",
            services={"statistikk": False, "kampanje": False},
        ),
        gpc_header=True,
    )
    with session_scope() as session:
        rows = session.execute(
            select(ConsentRecord.method).where(ConsentRecord.id.in_([r.id for r in again.records]))
        ).scalars()
        assert set(rows) == {"gpc"}


def test_forged_nonce_is_refused_and_nothing_appended(applied: Path) -> None:
    config = _config()
    body_part, mac = config["nonce"].split(".")
    forged = body_part + "." + ("A" if mac[0] != "A" else "B") + mac[1:]
    with pytest.raises(service.ConsentRefused) as err:
        _post(_body(config, nonce=forged))
    assert err.value.status == 403
    with pytest.raises(service.ConsentRefused) as err:
        _post(_body(config, nonce="made-up"))
    assert err.value.status == 403
    assert _size() == 0


def test_replayed_nonce_is_refused_and_nothing_appended(applied: Path) -> None:
    config = _config()
    _post(_body(config))
    size = _size()
    with pytest.raises(service.ConsentRefused) as err:
        _post(_body(config))
    assert err.value.status == 409 and err.value.code == "nonce_used"
    assert _size() == size


def test_expired_nonce_is_refused(applied: Path, fixed_clock: clock.FixedClock) -> None:
    config = _config()
    fixed_clock.set(fixed_clock.now() + service.BANNER_NONCE_LIFETIME + timedelta(seconds=1))
    with pytest.raises(service.ConsentRefused) as err:
        _post(_body(config))
    assert err.value.status == 400 and err.value.code == "nonce_expired"
    assert _size() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"services": {"statistikk": True, "kampanje": False, "spam": True}}, "services.spam"),
        (
            {"services": {"statistikk": True, "kampanje": False, "nyhetsbrev": True}},
            "services.nyhetsbrev",
        ),
        ({"services": {"statistikk": True}, "categories": {}}, "services.kampanje"),
        (
            {"text_versions": {"statistikk": "statistikk/nb/9", "kampanje": "kampanje/nb/1"}},
            "text_versions.statistikk",
        ),
        (
            {"text_versions": {"statistikk": "kampanje/nb/1", "kampanje": "kampanje/nb/1"}},
            "text_versions.statistikk",
        ),
        ({"method": "accept_all"}, "method"),
        ({"method": "sometimes"}, "method"),
        ({"visitor_id": "x"}, "visitor_id"),
        ({"services": {"statistikk": "yes", "kampanje": False}}, "services.statistikk"),
    ],
)
def test_bad_banner_posts_name_the_field_and_append_nothing(
    applied: Path, changes: dict[str, Any], field: str
) -> None:
    config = _config()
    with pytest.raises(InvalidInput) as err:
        _post(_body(config, **changes))
    assert field in [p.path for p in err.value.problems]
    assert _size() == 0
    # The nonce was not spent by a refused post: the corrected post goes through.
    assert len(_post(_body(config)).records) == 2


# --- double opt-in, unsubscribe ------------------------------------------------------


def _outbox(category: str) -> list[OutboxMessage]:
    with session_scope() as session:
        return list(
            session.execute(
                select(OutboxMessage).where(OutboxMessage.category == category)
            ).scalars()
        )


def _token(message: OutboxMessage) -> str:
    match = re.search(r"token=([A-Za-z0-9_%-]+)", message.text_body)
    assert match, "no link in the message"
    from urllib.parse import unquote

    return unquote(match.group(1))


def test_double_opt_in(applied: Path) -> None:
    with session_scope() as session:
        service.subscribe(session, email=OLA, purpose="nyhetsbrev", lang="nb", ip="192.0.2.5")
    assert _size() == 0  # nothing is recorded before the link is followed
    assert not _may(OLA, "nyhetsbrev").allowed
    [mail] = _outbox("consent.confirm")
    assert mail.to_addr == OLA and mail.status == "kept"
    token = _token(mail)
    with session_scope() as session:
        rec = service.confirm(session, token, ip="198.51.100.7")
    assert rec is not None and rec.method == "double_opt_in" and rec.ip == "198.51.100.0/24"
    assert _may(OLA, "nyhetsbrev").allowed
    with session_scope() as session:
        assert service.confirm(session, token) is None  # the link works once
    assert _size() == 1
    # Subscribing again while subscribed sends nothing (and answers the same).
    with session_scope() as session:
        assert service.subscribe(session, email=OLA, purpose="nyhetsbrev") is None


def test_opt_in_links_expire(applied: Path, fixed_clock: clock.FixedClock) -> None:
    with session_scope() as session:
        service.subscribe(session, email=OLA, purpose="nyhetsbrev")
    token = _token(_outbox("consent.confirm")[0])
    fixed_clock.set(fixed_clock.now() + service.OPT_IN_LIFETIME + timedelta(minutes=1))
    with pytest.raises(InvalidInput), session_scope() as session:
        service.confirm(session, token)
    assert _size() == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"purpose": "statistikk"}, "purpose"),
        ({"purpose": "spam"}, "purpose"),
        ({"email": "account:1"}, "email"),
        ({"email": "not an address"}, "email"),
    ],
)
def test_bad_subscriptions(applied: Path, kwargs: dict[str, Any], field: str) -> None:
    values = {"email": OLA, "purpose": "nyhetsbrev"}
    values.update(kwargs)
    with pytest.raises(InvalidInput) as err, session_scope() as session:
        service.subscribe(session, **values)
    assert field in [p.path for p in err.value.problems]
    assert _outbox("consent.confirm") == []


def test_one_click_unsubscribe_records_a_withdrawal_once(applied: Path) -> None:
    _record(subject=OLA, purpose="nyhetsbrev", decision="grant")
    headers = service.marketing_headers(OLA, "nyhetsbrev", "nb", mailto="post@example.no")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert OLA not in headers["List-Unsubscribe"]
    token = re.search(r"token=([^>]+)>", headers["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    from urllib.parse import unquote

    with session_scope() as session:
        rec = service.unsubscribe(session, unquote(token))
    assert rec is not None and rec.decision == "withdraw" and rec.method == "unsubscribe"
    assert not _may(OLA, "nyhetsbrev").allowed
    with session_scope() as session:
        assert service.unsubscribe(session, unquote(token)) is None
    with pytest.raises(InvalidInput), session_scope() as session:
        service.unsubscribe(session, unquote(token)[:-3] + "abc")


# --- re-consent ----------------------------------------------------------------------


def test_reconsent_mails_old_subscribers_and_cuts_old_consent_off(
    applied: Path, fixed_clock: clock.FixedClock
) -> None:
    with session_scope() as session:
        service.subscribe(session, email=OLA, purpose="nyhetsbrev", lang="en")
    with session_scope() as session:
        service.confirm(session, _token(_outbox("consent.confirm")[0]))
    _record(subject="account:9", purpose="nyhetsbrev", decision="grant")  # no address known
    changed = register_text(
        newsletter_nb="Ja, send meg det ukentlige nyhetsbrevet.",
        newsletter_en="Yes, send me the weekly newsletter.",
    )
    apply_register_text(applied, changed)
    today = clock.now().astimezone(clock.OSLO).date()
    with session_scope() as session:
        campaign = service.start_reconsent(
            session, "nyhetsbrev", today + timedelta(days=10), actor="test"
        )
    assert campaign.affected == 2 and campaign.mailed == 1
    assert set(campaign.superseded) == {"nyhetsbrev/en/1", "nyhetsbrev/nb/1"}
    [mail] = _outbox("consent.reconsent")
    assert mail.to_addr == OLA and "weekly newsletter" in mail.text_body
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with session_scope() as session:
        state = service.state(session, OLA, "nyhetsbrev")
    assert state.status == "granted" and state.reconsent_cutoff == today + timedelta(days=10)
    # Until the cut-off the old consent counts; from it, it does not.
    assert _may(OLA, "nyhetsbrev").allowed
    fixed_clock.set(service._cutoff_moment(today + timedelta(days=10)))
    answer = _may("account:9", "nyhetsbrev")
    assert not answer.allowed and answer.consent == {"nyhetsbrev": "superseded"}
    # Following the re-consent link grants the new text.
    with session_scope() as session:
        rec = service.confirm(session, _token(mail))
    assert rec is not None and rec.text_version_id == "nyhetsbrev/en/2"
    assert _may(OLA, "nyhetsbrev").allowed


def test_reconsent_refuses_past_dates_and_unchanged_texts(applied: Path) -> None:
    today = clock.now().astimezone(clock.OSLO).date()
    with pytest.raises(InvalidInput, match="nothing to ask again"), session_scope() as session:
        service.start_reconsent(session, "nyhetsbrev", today, actor="test")
    with pytest.raises(InvalidInput) as err, session_scope() as session:
        service.start_reconsent(session, "kundeklubb", today - timedelta(days=1), actor="test")
    assert {p.path for p in err.value.problems} == {"purpose", "cutoff"}


# --- proof and verification ----------------------------------------------------------


def test_proof_has_the_exact_text_and_is_audited(applied: Path) -> None:
    _record(subject=OLA, purpose="nyhetsbrev", decision="grant", collection_point="skjema")
    with session_scope() as session:
        items = service.proof(session, OLA, actor="user:1")
        entries = session.execute(select(audit.AuditEntry)).scalars().all()
    assert items[0].text is not None and items[0].text.content["text"].startswith("Ja takk")
    assert items[0].text_intact
    last = entries[-1]
    assert last.action == "consent.proof" and OLA not in last.target
    assert service.verify_ledger(session_scope().__enter__()).ok


def _tamper(sql: str, **params: Any) -> None:
    engine = create_engine(str(session_scope().__enter__().get_bind().engine.url))
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()


def _check() -> service.LedgerCheck:
    with session_scope() as session:
        return service.verify_ledger(session)


def _three_records() -> list[service.RecordView]:
    return [
        _record(subject=f"account:{i}", purpose="nyhetsbrev", decision="grant") for i in (1, 2, 3)
    ]


def test_an_edited_record_is_named(applied: Path) -> None:
    records = _three_records()
    _tamper("UPDATE consent_ledger SET decision = 'deny' WHERE seq = 2")
    check = _check()
    assert not check.ok and check.first_bad_seq == 2 and check.first_bad_id == records[1].id


def test_a_deleted_record_and_a_cut_tail_are_detected(applied: Path) -> None:
    _three_records()
    _tamper("DELETE FROM consent_ledger WHERE seq = 3")
    check = _check()
    assert not check.ok and check.first_bad_seq == 3
    _tamper("DELETE FROM consent_ledger WHERE seq = 2")
    assert _check().first_bad_seq == 2


def test_an_edited_state_table_is_detected(applied: Path) -> None:
    _three_records()
    _tamper("UPDATE consent_state SET decision = 'deny' WHERE subject = 'account:1'")
    check = _check()
    assert not check.ok and check.first_bad_seq == 1 and "state" in check.reason


def test_appends_from_many_threads_keep_the_chain(applied: Path) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                _record(subject=f"account:{n}-{i}", purpose="statistikk", decision="grant")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check = _check()
    assert check.ok and check.records == 60


# --- the consent texts under verification --------------------------------------------


def test_an_edited_text_is_named(applied: Path) -> None:
    records = _three_records()
    assert _check().ok
    _tamper(
        "UPDATE consent_texts SET content = :content WHERE id = 'nyhetsbrev/nb/1'",
        content='{"purpose": "nyhetsbrev", "language": "nb", "name": "Nyhetsbrev", '
        '"text": "Noe annet", "withdraw": null, "services": []}',
    )
    check = _check()
    assert not check.ok and check.first_bad_text == "nyhetsbrev/nb/1"
    assert "nyhetsbrev/nb/1 was changed" in check.reason
    # The first record whose proof rests on it is named, too.
    assert check.first_bad_seq == 1 and check.first_bad_id == records[0].id
    assert check.as_json()["first_bad_text_version"] == "nyhetsbrev/nb/1"


def test_a_deleted_text_is_named_with_the_record_that_names_it(applied: Path) -> None:
    apply_register_text(applied, register_text(newsletter_nb="Ja, send meg det nye brevet."))
    rec = _record(subject="account:1", purpose="nyhetsbrev", decision="grant")
    assert rec.text_version_id == "nyhetsbrev/nb/2" and _check().ok
    _tamper("DELETE FROM consent_texts WHERE id = 'nyhetsbrev/nb/2'")
    check = _check()
    assert not check.ok and check.first_bad_text == "nyhetsbrev/nb/2"
    assert check.first_bad_seq == rec.seq and check.first_bad_id == rec.id
    assert "nyhetsbrev/nb/2, which is missing" in check.reason
    # Proof says so, instead of printing the record without a text.
    with session_scope() as session:
        [item] = service.proof(session, "account:1", actor="test")
    assert item.text is None and item.text_missing and not item.text_intact
    assert item.warning is not None and "nyhetsbrev/nb/2 is MISSING" in item.warning
    assert item.as_json()["text_missing"] is True


def test_a_gap_in_the_text_versions_is_named(applied: Path) -> None:
    apply_register_text(applied, register_text(newsletter_nb="Ja, send meg det nye brevet."))
    _tamper("DELETE FROM consent_texts WHERE id = 'nyhetsbrev/nb/1'")  # named by no record
    check = _check()
    assert not check.ok and check.first_bad_text == "nyhetsbrev/nb/1"
    assert "nyhetsbrev/nb/1 is missing" in check.reason and check.first_bad_seq is None


def test_a_text_whose_hash_was_rewritten_no_longer_matches_its_records(applied: Path) -> None:
    from datavern.consent import rules

    _three_records()
    content = rules.text_content("nyhetsbrev", "nb", "Nyhetsbrev", "Noe annet", None)
    _tamper(
        "UPDATE consent_texts SET content = :content, content_hash = :digest "
        "WHERE id = 'nyhetsbrev/nb/1'",
        content=rules.canonical_json(content),
        digest=rules.content_hash(content),
    )
    check = _check()
    assert not check.ok and check.first_bad_seq == 1 and check.first_bad_text == "nyhetsbrev/nb/1"
    assert "no longer has the hash the record holds" in check.reason


def test_a_forged_state_row_is_named_by_its_subject_and_purpose(applied: Path) -> None:
    _three_records()
    _tamper(
        "INSERT INTO consent_state (subject, purpose, seq, decision, text_version_id, method, "
        "at, expires_at) VALUES ('account:999', 'statistikk', 2, 'grant', NULL, 'api', "
        ":at, NULL)",
        at=datetime.now(UTC),
    )
    check = _check()
    assert not check.ok and check.first_bad_seq is None
    assert "account:999" in check.reason and "statistikk" in check.reason

"""What the consent ledger accepts, on SQLite and PostgreSQL, from every entry point
(the library's ``record``, the REST API's group appender, the CLI, the banner, double
opt-in): collection points keep origin and path only, methods agree with decisions
and the banner methods are the banner's, superseded texts take no new grants, the
language is the text's, an IP is an IP; and the messages a user reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from consent_fixtures import apply_register_text, register_text
from datavern.consent import appender, service
from datavern.consent.cli import app as consent_app
from datavern.consent.models import ConsentRecord, OptIn
from datavern.core import clock
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput
from datavern.notify.models import OutboxMessage

OLA = "ola@example.no"
runner = CliRunner()


@pytest.fixture
def applied(database_url: str, tmp_path: Path) -> Path:
    apply_register_text(tmp_path / "register")
    return tmp_path / "register"


def _record(**kwargs: Any) -> service.RecordView:
    values: dict[str, Any] = {
        "subject": "account:1",
        "purpose": "nyhetsbrev",
        "decision": "grant",
        "recorded_by": "test",
    }
    values.update(kwargs)
    with session_scope() as session:
        return service.record(session, **values)


def _refused(field: str, **kwargs: Any) -> str:
    """Record ``kwargs``; it must be refused naming ``field`` and append nothing."""
    before = _size()
    with pytest.raises(InvalidInput) as err:
        _record(**kwargs)
    problems = {p.path: p.message for p in err.value.problems}
    assert field in problems, problems
    assert _size() == before
    return problems[field]


def _size() -> int:
    with session_scope() as session:
        return service.ledger_size(session)


def _stored(record_id: str) -> ConsentRecord:
    with session_scope() as session:
        row = session.execute(
            select(ConsentRecord).where(ConsentRecord.id == record_id)
        ).scalar_one()
        session.expunge(row)
        return row


def _consent(*args: str) -> tuple[int, str]:
    result = runner.invoke(consent_app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def group(applied: Path, database_url: str) -> Iterator[appender.GroupAppender]:
    """The REST API's path: POST /records hands its body to the group appender."""
    made = appender.GroupAppender(database_url)
    yield made
    made.close()


def _via_api(group: appender.GroupAppender, **values: Any) -> service.RecordView:
    body = {"subject": "account:1", "purpose": "nyhetsbrev", "decision": "grant"}
    body.update(values)
    return group.submit(body, actor="user:1").result(timeout=60)


def _banner_body(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "nonce": config["nonce"],
        "visitor_id": "3f1c2e9a-7b44-4c1e-9d2a-0a1b2c3d4e5f",
        "method": "custom",
        "lang": "nb",
        "services": {"statistikk": True, "kampanje": False},
        "text_versions": config["text_versions"],
        "url": "https://samtykketest.example/",
    }
    body.update(changes)
    return body


def _banner(lang: str = "nb", **changes: Any) -> service.BannerResult:
    with session_scope() as session:
        config = service.banner_config(session, lang)
    with session_scope() as session:
        return service.banner_post(
            session, _banner_body(config, **changes), ip="192.0.2.10", user_agent="UA"
        )


# --- 1. collection points --------------------------------------------------------------


def test_a_url_keeps_origin_and_path_only(applied: Path) -> None:
    rec = _record(collection_point="https://user:pw@www.example.no/side?email=ola@example.no#frag")
    assert rec.collection_point == "https://www.example.no/side"
    assert _stored(rec.id).collection_point == "https://www.example.no/side"
    assert service.verify_ledger(session_scope().__enter__()).ok


def test_a_system_name_is_cut_at_a_query_or_fragment(applied: Path) -> None:
    assert _record(collection_point="crm").collection_point == "crm"
    assert _record(collection_point="crm?email=ola@example.no").collection_point == "crm"
    assert _record(collection_point="skjema#ola").collection_point == "skjema"


@pytest.mark.parametrize(
    "value",
    ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "x" * 501],
)
def test_other_schemes_and_long_values_are_refused(applied: Path, value: str) -> None:
    _refused("collection_point", collection_point=value)


def test_the_api_path_cleans_and_refuses_collection_points_too(
    group: appender.GroupAppender,
) -> None:
    rec = _via_api(group, collection_point="https://www.example.no/side?email=ola@example.no")
    assert rec.collection_point == "https://www.example.no/side"
    with pytest.raises(InvalidInput) as err:
        _via_api(group, collection_point="javascript:alert(1)")
    assert [p.path for p in err.value.problems] == ["collection_point"]


def test_the_banner_stores_origin_and_path_and_refuses_other_schemes(applied: Path) -> None:
    result = _banner(url="https://samtykketest.example/side?utm=ola@example.no#x")
    assert {r.collection_point for r in result.records} == {"https://samtykketest.example/side"}
    with pytest.raises(InvalidInput) as err:
        _banner(url="javascript:alert(1)")
    assert "url" in [p.path for p in err.value.problems]


def test_double_opt_in_keeps_origin_and_path(applied: Path) -> None:
    with session_scope() as session:
        service.subscribe(
            session,
            email=OLA,
            purpose="nyhetsbrev",
            collection_point="https://www.example.no/nyhetsbrev?email=ola@example.no",
        )
    with session_scope() as session:
        stored = session.execute(select(OptIn.collection_point)).scalar_one()
    assert stored == "https://www.example.no/nyhetsbrev"
    with pytest.raises(InvalidInput) as err, session_scope() as session:
        service.subscribe(
            session, email=OLA, purpose="nyhetsbrev", collection_point="javascript:alert(1)"
        )
    assert [p.path for p in err.value.problems] == ["collection_point"]


# --- 3. methods that contradict the decision -------------------------------------------


@pytest.mark.parametrize(
    "method", ["banner_accept_all", "banner_reject_all", "banner_custom", "gpc"]
)
def test_banner_methods_are_refused_outside_the_banner(applied: Path, method: str) -> None:
    for decision in ("grant", "deny"):
        message = _refused("method", method=method, decision=decision)
        assert "cookie banner endpoint only" in message


@pytest.mark.parametrize(
    ("method", "decision", "purpose"),
    [
        ("unsubscribe", "grant", "nyhetsbrev"),
        ("unsubscribe", "deny", "nyhetsbrev"),
        ("double_opt_in", "withdraw", "nyhetsbrev"),
        ("double_opt_in", "deny", "nyhetsbrev"),
        ("unsubscribe", "object", "direct_marketing"),
        ("double_opt_in", "object", "direct_marketing"),
    ],
)
def test_a_method_must_agree_with_the_decision(
    applied: Path, method: str, decision: str, purpose: str
) -> None:
    message = _refused("method", method=method, decision=decision, purpose=purpose)
    assert method in message and decision in message


def test_methods_that_agree_are_recorded(applied: Path) -> None:
    assert _record(method="double_opt_in").method == "double_opt_in"
    assert _record(method="unsubscribe", decision="withdraw").method == "unsubscribe"
    objection = _record(method="form_checkbox", decision="object", purpose="direct_marketing")
    assert objection.method == "form_checkbox"
    assert _record(decision="object", purpose="direct_marketing").method == "api"


def test_the_api_and_cli_refuse_banner_methods(group: appender.GroupAppender) -> None:
    with pytest.raises(InvalidInput) as err:
        _via_api(group, method="banner_reject_all")
    assert [p.path for p in err.value.problems] == ["method"]
    code, out = _consent("record", "account:3", "nyhetsbrev", "--method", "gpc")
    assert code == 2 and "cookie banner endpoint only" in out
    assert _size() == 0


def test_the_banner_double_opt_in_and_unsubscribe_flows_still_record(applied: Path) -> None:
    assert {r.decision for r in _banner().records} == {"grant", "deny"}
    gpc = _banner(method="gpc", services={"statistikk": False, "kampanje": False})
    assert {r.decision for r in gpc.records} == {"withdraw", "deny"}
    with session_scope() as session:
        service.subscribe(session, email=OLA, purpose="nyhetsbrev")
    with session_scope() as session:
        mail = session.execute(select(OutboxMessage)).scalar_one()
        token = mail.text_body.split("token=")[1].split()[0]
    from urllib.parse import unquote

    with session_scope() as session:
        rec = service.confirm(session, unquote(token))
    assert rec is not None and rec.method == "double_opt_in"
    with session_scope() as session:
        gone = service.unsubscribe(
            session, service.unsubscribe_token(rec.subject, "nyhetsbrev", "nb")
        )
    assert gone is not None and gone.method == "unsubscribe" and gone.decision == "withdraw"


# --- 4. superseded texts ---------------------------------------------------------------


def _supersede_newsletter(applied: Path, days: int = 0) -> None:
    apply_register_text(applied, register_text(newsletter_nb="Ja, send meg det nye brevet."))
    today = clock.now().astimezone(clock.OSLO).date()
    with session_scope() as session:
        service.start_reconsent(
            session, "nyhetsbrev", today + timedelta(days=days), actor="test", mail=False
        )


@pytest.mark.parametrize("days", [0, 10])
def test_a_grant_to_a_superseded_text_is_refused(applied: Path, days: int) -> None:
    _supersede_newsletter(applied, days)
    message = _refused("text_version", subject="account:802", text_version="nyhetsbrev/nb/1")
    assert "nyhetsbrev/nb/1" in message and "nyhetsbrev/nb/2" in message
    # The current text is fine; refusing or withdrawing under the old text is, too.
    assert _record(subject="account:802").text_version_id == "nyhetsbrev/nb/2"
    withdrawn = _record(subject="account:802", decision="withdraw", text_version="nyhetsbrev/nb/1")
    assert withdrawn.text_version_id == "nyhetsbrev/nb/1"


def test_the_cli_refuses_a_superseded_text(applied: Path) -> None:
    _supersede_newsletter(applied)
    code, out = _consent("record", "account:802", "nyhetsbrev", "--text-version", "nyhetsbrev/nb/1")
    assert code == 2 and "text_version" in out and "nyhetsbrev/nb/2" in out
    assert _size() == 0


def test_the_banner_refuses_a_grant_to_a_superseded_text(applied: Path) -> None:
    changed = register_text().replace(
        "Ja, dere kan telle besøket mitt.", "Ja, dere kan telle besøkene mine."
    )
    apply_register_text(applied, changed)
    today = clock.now().astimezone(clock.OSLO).date()
    with session_scope() as session:
        service.start_reconsent(session, "statistikk", today, actor="test", mail=False)
    old = {"statistikk": "statistikk/nb/1", "kampanje": "kampanje/nb/1"}
    with pytest.raises(InvalidInput) as err:
        _banner(text_versions=old)
    problems = {p.path: p.message for p in err.value.problems}
    assert "statistikk/nb/2" in problems["text_versions.statistikk"]
    assert _size() == 0
    # A refusal shown under the old text is still recorded as such.
    refused = _banner(text_versions=old, services={"statistikk": False, "kampanje": False})
    assert {r.decision for r in refused.records} == {"deny"}


def test_double_opt_in_refuses_a_superseded_text(applied: Path) -> None:
    with session_scope() as session:
        service.subscribe(session, email=OLA, purpose="nyhetsbrev", lang="nb")
    with session_scope() as session:
        mail = session.execute(select(OutboxMessage)).scalar_one()
        token = mail.text_body.split("token=")[1].split()[0]
    _supersede_newsletter(applied)
    from urllib.parse import unquote

    with pytest.raises(InvalidInput) as err, session_scope() as session:
        service.confirm(session, unquote(token))
    assert err.value.problems[0].path == "token"
    with pytest.raises(InvalidInput) as err, session_scope() as session:
        service.subscribe(session, email=OLA, purpose="nyhetsbrev", text_version="nyhetsbrev/nb/1")
    assert "nyhetsbrev/nb/2" in err.value.problems[0].message
    assert _size() == 0


# --- 5. the record's language is the text's --------------------------------------------


def test_a_named_text_decides_the_language(applied: Path) -> None:
    message = _refused("language", text_version="nyhetsbrev/nb/1", language="en")
    assert "nyhetsbrev/nb/1" in message
    assert _record(text_version="nyhetsbrev/en/1").language == "en"
    assert _record(text_version="nyhetsbrev/nb/1", language="nb").language == "nb"
    assert _record(language="en").text_version_id == "nyhetsbrev/en/1"


def test_the_banner_records_the_language_of_each_text(applied: Path) -> None:
    with session_scope() as session:
        english = service.banner_config(session, "en")["text_versions"]
    result = _banner("nb", text_versions=english)
    assert {(r.text_version_id, _stored(r.id).language) for r in result.records} == {
        ("statistikk/en/1", "en"),
        ("kampanje/en/1", "en"),
    }


# --- 6. IP addresses -------------------------------------------------------------------


def test_an_invalid_ip_is_refused(applied: Path) -> None:
    assert "IP" in _refused("ip", ip="not-an-ip")
    assert _record(ip="192.0.2.77").ip == "192.0.2.0/24"
    assert _record(ip="").ip is None
    assert _record(ip=None).ip is None


def test_the_api_path_refuses_an_invalid_ip(group: appender.GroupAppender) -> None:
    with pytest.raises(InvalidInput) as err:
        _via_api(group, ip="not-an-ip")
    assert [p.path for p in err.value.problems] == ["ip"]
    assert _via_api(group, ip="2001:db8:1:2::5").ip == "2001:db8:1::/48"


# --- 7. messages -----------------------------------------------------------------------


def test_an_objection_is_given_as_one_reason(applied: Path) -> None:
    _record(decision="object")
    with session_scope() as session:
        answer = service.may_process(session, "account:1", "nyhetsbrev")
    assert not answer.allowed
    assert answer.reasons == ("the subject has objected (GDPR art. 21) to nyhetsbrev",)


def test_an_unknown_purpose_lists_each_purpose_once(applied: Path) -> None:
    with pytest.raises(InvalidInput) as err, session_scope() as session:
        service.may_process(session, "account:1", "spam")
    listed = err.value.problems[0].message.split("known purposes: ")[1].split(", ")
    assert listed == sorted(set(listed))


def test_state_of_an_expired_consent_says_since_when_it_expired(
    applied: Path, fixed_clock: clock.FixedClock
) -> None:
    granted_at = fixed_clock.now()
    expires = granted_at + timedelta(days=3)
    _record(expires_at=expires)
    fixed_clock.set(expires + timedelta(days=1))
    code, out = _consent("state", "account:1", "nyhetsbrev")
    local = "%Y-%m-%d %H:%M"
    assert code == 0 and "expired" in out
    assert f"since {expires.astimezone(clock.OSLO).strftime(local)}" in out
    assert f"since {granted_at.astimezone(clock.OSLO).strftime(local)}" not in out

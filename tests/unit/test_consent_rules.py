"""consent/rules.py: subjects, IP truncation, text hashes, the chain, state, re-consent
cut-offs, which purposes need consent, may-process decisions and signed tokens."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from consent_fixtures import register_text
from datavern.consent import rules
from datavern.consent.rules import (
    Campaign,
    Decision,
    Latest,
    Method,
    RecordFields,
    Status,
    SubjectError,
    SubjectKind,
)
from datavern.register.schema import Register

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _register() -> Register:
    return Register.model_validate(yaml.safe_load(register_text()))


# --- subjects --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("account:12345", SubjectKind.account, "12345"),
        ("email:Ola@Example.NO", SubjectKind.email, "ola@example.no"),
        ("  Kari@example.no ", SubjectKind.email, "kari@example.no"),
        ("emailhash:" + "AB" * 32, SubjectKind.emailhash, "ab" * 32),
        ("visitor:3f1c2e9a-7b44-4c1e-9d2a-0a1b2c3d4e5f", SubjectKind.visitor, None),
    ],
)
def test_subjects_parse_and_normalise(text: str, kind: SubjectKind, value: str | None) -> None:
    parsed = rules.parse_subject(text)
    assert parsed.kind is kind
    if value is not None:
        assert parsed.value == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345",
        "email:not-an-address",
        "emailhash:abc",
        "visitor:short",
        "visitor:has spaces in it!!",
        "account:two words",
        "account:" + "x" * 151,
        "phone:+4791234567",
    ],
)
def test_bad_subjects_are_refused_without_echoing_the_value(text: str) -> None:
    with pytest.raises(SubjectError) as err:
        rules.parse_subject(text)
    value = text.partition(":")[2]
    if len(value) > 3:
        assert value not in str(err.value)


def test_an_email_is_stored_only_by_its_hash() -> None:
    parsed = rules.parse_subject("ola@example.no")
    assert rules.stored_subject(parsed, "f" * 64) == "emailhash:" + "f" * 64
    with pytest.raises(ValueError):
        rules.stored_subject(parsed)
    assert rules.stored_subject(rules.parse_subject("account:7")) == "account:7"


# --- IP truncation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.77", "192.0.2.0/24"),
        ("10.1.2.3", "10.1.2.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("not an ip", None),
        ("", None),
        (None, None),
    ],
)
def test_ip_addresses_are_cut_to_their_network(address: str | None, network: str | None) -> None:
    assert rules.truncate_ip(address) == network


@given(st.ip_addresses(v=4))
def test_no_ipv4_keeps_its_last_octet(ip: object) -> None:
    net = rules.truncate_ip(str(ip))
    assert net is not None and net.endswith(".0/24")


@given(st.ip_addresses(v=6))
def test_no_ipv6_keeps_more_than_48_bits(ip: object) -> None:
    net = rules.truncate_ip(str(ip))
    assert net is not None and (net.endswith("/48") or net.endswith("/24"))


def test_user_agent_is_bounded_and_printable() -> None:
    clipped = rules.clip_user_agent("Mozilla\n\x00/5.0" + "x" * 1000)
    assert clipped == ("Mozilla/5.0" + "x" * 1000)[:300]
    assert rules.clip_user_agent("") is None


# --- texts -----------------------------------------------------------------------------


def test_content_hash_is_sha256_of_canonical_json() -> None:
    content = rules.text_content("p", "nb", "Navn", "Tekst æøå", None)
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert rules.content_hash(content) == hashlib.sha256(canonical.encode()).hexdigest()


def test_every_change_to_what_is_shown_changes_the_hash() -> None:
    base = rules.text_content("p", "nb", "Navn", "Tekst", "Trekk", [{"name": "c", "provider": "x"}])
    changed = [
        rules.text_content("p", "nb", "Navn", "Tekst.", "Trekk", [{"name": "c", "provider": "x"}]),
        rules.text_content("p", "nb", "Navn2", "Tekst", "Trekk", [{"name": "c", "provider": "x"}]),
        rules.text_content("p", "nb", "Navn", "Tekst", None, [{"name": "c", "provider": "x"}]),
        rules.text_content("p", "nb", "Navn", "Tekst", "Trekk", []),
        rules.text_content("p", "en", "Navn", "Tekst", "Trekk", [{"name": "c", "provider": "x"}]),
    ]
    hashes = {rules.content_hash(c) for c in changed}
    assert rules.content_hash(base) not in hashes
    assert len(hashes) == len(changed)


def test_register_texts_cover_each_language_and_list_the_services() -> None:
    texts = rules.register_texts(_register())
    assert set(texts) == {
        (p, lang)
        for p in ("nyhetsbrev", "statistikk", "kampanje", "kundeklubb")
        for lang in ("nb", "en")
    }
    assert texts[("statistikk", "nb")]["services"] == [
        {"name": "_pk_id", "provider": "Samtykketest AS (Matomo)"}
    ]
    assert texts[("nyhetsbrev", "en")]["name"] == "Newsletter"


# --- which purposes need consent -------------------------------------------------------


def test_purposes_on_consent_need_consent_and_contract_ones_do_not() -> None:
    index = rules.analyse_register(_register())
    assert index.purposes["nyhetsbrev"].needs_consent
    assert index.purposes["statistikk"].needs_consent
    club = index.purposes["kundeklubb"]
    assert not club.needs_consent and "contract" in club.reason
    assert index.purposes["nyhetsbrev"].double_opt_in
    assert index.purposes["nyhetsbrev"].marketing


def test_a_purpose_named_only_by_a_nonessential_cookie_needs_consent() -> None:
    data = yaml.safe_load(register_text())
    for activity in data["systems"][0]["processing"]:
        if activity.get("consent_purpose") == "statistikk":
            activity["legal_basis"] = "legitimate_interests"
            activity["legitimate_interest"] = "x"
            activity["legitimate_interest_assessment"] = "LIA"
    index = rules.analyse_register(Register.model_validate(data))
    assert index.purposes["statistikk"].needs_consent
    assert "cookies" in index.purposes["statistikk"].reason


def test_resolving_purposes() -> None:
    index = rules.analyse_register(_register())
    news = rules.resolve_purpose(index, "nyhetsbrev")
    assert news.consent_purposes == ("nyhetsbrev",)
    assert rules.DIRECT_MARKETING in news.objection_keys
    by_activity = rules.resolve_purpose(index, "nyhetsbrev-utsending")
    assert by_activity.consent_purposes == ("nyhetsbrev",)
    by_use = rules.resolve_purpose(index, "marketing.communications")
    assert by_use.consent_purposes == ("nyhetsbrev",)
    assert "oppfolging" in by_use.objection_keys
    contract = rules.resolve_purpose(index, "kundeforhold")
    assert contract.consent_purposes == ()
    assert rules.resolve_purpose(index, "storage").storage
    with pytest.raises(rules.UnknownPurpose, match=r"known purposes: .*nyhetsbrev"):
        rules.resolve_purpose(index, "spam")


def test_objection_applies_to_legitimate_interests_and_marketing_only() -> None:
    index = rules.analyse_register(_register())
    assert rules.objection_allowed(index, "oppfolging")
    assert rules.objection_allowed(index, rules.DIRECT_MARKETING)
    assert not rules.objection_allowed(index, "kundeforhold")
    assert not rules.objection_allowed(index, "unknown")


# --- the chain -------------------------------------------------------------------------


def _fields(**changes: object) -> RecordFields:
    base = RecordFields(
        id="a" * 32,
        subject="account:1",
        purpose="nyhetsbrev",
        decision="grant",
        text_version_id="nyhetsbrev/nb/1",
        text_hash="b" * 64,
        method="api",
        collection_point="https://example.no/skjema",
        at=NOW,
        ip="192.0.2.0/24",
        user_agent="UA",
        expires_at=None,
        language="nb",
        recorded_by="user:1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"decision": "withdraw"},
        {"subject": "account:2"},
        {"purpose": "statistikk"},
        {"text_version_id": "nyhetsbrev/nb/2"},
        {"text_hash": "c" * 64},
        {"method": "form_checkbox"},
        {"collection_point": None},
        {"at": NOW + timedelta(microseconds=1)},
        {"ip": None},
        {"user_agent": "other"},
        {"expires_at": NOW},
        {"language": "en"},
        {"recorded_by": "user:2"},
        {"id": "d" * 32},
    ],
)
def test_the_record_hash_covers_every_field(change: dict[str, object]) -> None:
    assert rules.record_hash(1, _fields(), rules.GENESIS) != rules.record_hash(
        1, _fields(**change), rules.GENESIS
    )


def test_the_record_hash_covers_position_and_predecessor() -> None:
    h = rules.record_hash(1, _fields(), rules.GENESIS)
    assert h != rules.record_hash(2, _fields(), rules.GENESIS)
    assert h != rules.record_hash(1, _fields(), "1" * 64)


def test_check_link_names_the_fault() -> None:
    assert rules.check_link(1, 1, "a", "a", "h", "h") is None
    assert "missing" in str(rules.check_link(2, 3, "a", "a", "h", "h"))
    assert "reordered" in str(rules.check_link(1, 1, "a", "b", "h", "h"))
    assert "changed" in str(rules.check_link(1, 1, "a", "a", "h", "x"))


# --- state -----------------------------------------------------------------------------


def _latest(decision: str = "grant", **changes: object) -> Latest:
    base = Latest(1, decision, "p/nb/1", "api", NOW, None)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_effective_status() -> None:
    assert rules.effective_status(None, NOW) is Status.none
    assert rules.effective_status(_latest(), NOW) is Status.granted
    assert rules.effective_status(_latest("deny"), NOW) is Status.denied
    assert rules.effective_status(_latest("withdraw"), NOW) is Status.withdrawn
    assert rules.effective_status(_latest("object"), NOW) is Status.objected
    expiring = _latest(expires_at=NOW + timedelta(days=1))
    assert rules.effective_status(expiring, NOW) is Status.granted
    assert rules.effective_status(expiring, NOW + timedelta(days=1)) is Status.expired


def test_reconsent_cut_off_stops_old_consent_at_the_cut_off_only() -> None:
    cutoff = NOW + timedelta(days=30)
    campaign = Campaign("p", frozenset({"p/nb/1"}), cutoff)
    old = _latest(text_version_id="p/nb/1")
    new = _latest(text_version_id="p/nb/2")
    assert rules.effective_status(old, cutoff - timedelta(seconds=1), [campaign]) is Status.granted
    assert rules.effective_status(old, cutoff, [campaign]) is Status.superseded
    assert rules.effective_status(new, cutoff + timedelta(days=9), [campaign]) is Status.granted


def test_banner_consent_expires_after_a_year_other_methods_do_not() -> None:
    assert rules.default_expiry(Method.banner_accept_all, NOW) == NOW + timedelta(days=365)
    assert rules.default_expiry(Method.gpc, NOW) == NOW + timedelta(days=365)
    assert rules.default_expiry(Method.double_opt_in, NOW) is None


def test_fold_keeps_the_newest_record_per_subject_and_purpose() -> None:
    state = rules.fold(
        [
            ("s", "p", _latest("grant", seq=1)),
            ("s", "q", _latest("deny", seq=2)),
            ("s", "p", _latest("withdraw", seq=3)),
        ]
    )
    assert state[("s", "p")].decision == "withdraw"
    assert state[("s", "q")].decision == "deny"


# --- may process -----------------------------------------------------------------------


def test_decide_combines_restriction_objection_and_consent() -> None:
    index = rules.analyse_register(_register())
    news = rules.resolve_purpose(index, "nyhetsbrev")
    granted = {"nyhetsbrev": Status.granted}
    assert rules.decide(news, granted, {}, restricted=False).allowed
    answer = rules.decide(news, {"nyhetsbrev": Status.withdrawn}, {}, restricted=False)
    assert not answer.allowed and "withdrew" in answer.reasons[0]
    assert not rules.decide(news, granted, {}, restricted=True).allowed
    objected = rules.decide(news, granted, {rules.DIRECT_MARKETING: _latest("object")}, False)
    assert not objected.allowed and objected.objected_by == rules.DIRECT_MARKETING
    contract = rules.resolve_purpose(index, "kundeforhold")
    assert rules.decide(contract, {}, {}, restricted=False).allowed
    storage = rules.resolve_purpose(index, "storage")
    assert rules.decide(storage, {}, {}, restricted=True).allowed


@given(st.sampled_from(list(Status)), st.booleans(), st.booleans())
def test_decide_allows_only_with_a_live_grant_and_nothing_against(
    status: Status, restricted: bool, objected: bool
) -> None:
    index = rules.analyse_register(_register())
    news = rules.resolve_purpose(index, "nyhetsbrev")
    objections = {"nyhetsbrev": _latest("object")} if objected else {}
    answer = rules.decide(news, {"nyhetsbrev": status}, objections, restricted)
    assert answer.allowed == (status is Status.granted and not restricted and not objected)


# --- tokens ----------------------------------------------------------------------------

KEY = b"k" * 32


def test_tokens_round_trip_and_refuse_forgery_expiry_and_misuse() -> None:
    exp = int((NOW + timedelta(hours=1)).timestamp())
    token = rules.sign_token(KEY, "banner", {"n": "x", "exp": exp})
    assert rules.verify_token(KEY, "banner", token, NOW)["n"] == "x"
    with pytest.raises(rules.TokenError) as err:
        rules.verify_token(b"o" * 32, "banner", token, NOW)
    assert err.value.kind == "forged"
    body, mac = token.split(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    with pytest.raises(rules.TokenError) as err:
        rules.verify_token(KEY, "banner", tampered, NOW)
    assert err.value.kind in ("forged", "malformed")
    with pytest.raises(rules.TokenError) as err:
        rules.verify_token(KEY, "banner", token, NOW + timedelta(hours=2))
    assert err.value.kind == "expired"
    with pytest.raises(rules.TokenError) as err:
        rules.verify_token(KEY, "unsubscribe", token, NOW)
    assert err.value.kind == "wrong_use"
    for junk in ("", "abc", "a.b.c", "!!.??", "x" * 5000):
        with pytest.raises(rules.TokenError):
            rules.verify_token(KEY, "banner", junk, NOW)


def test_decisions_and_methods_are_the_documented_ones() -> None:
    assert {d.value for d in Decision} == {"grant", "deny", "withdraw", "object"}
    assert {m.value for m in Method} == {
        "banner_accept_all",
        "banner_reject_all",
        "banner_custom",
        "form_checkbox",
        "double_opt_in",
        "gpc",
        "api",
        "unsubscribe",
    }


# --- collection points -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (
            "https://www.example.no/side?email=ola@example.no#frag",
            "https://www.example.no/side",
        ),
        ("HTTPS://WWW.Example.NO/Side/", "https://www.example.no/Side/"),
        ("https://user:secret@www.example.no/side", "https://www.example.no/side"),
        ("http://localhost:8080/skjema?x=1", "http://localhost:8080/skjema"),
        ("https://[2001:db8::1]:8443/a#b", "https://[2001:db8::1]:8443/a"),
        ("https://www.example.no", "https://www.example.no"),
        ("crm", "crm"),
        ("  skjema  ", "skjema"),
        ("privacy-centre case PC-2026-0001", "privacy-centre case PC-2026-0001"),
        ("crm?email=ola@example.no", "crm"),
        ("kundeservice#ola", "kundeservice"),
        ("", None),
        ("?email=ola@example.no", None),
        (None, None),
    ],
)
def test_collection_points_keep_origin_and_path_or_the_system_name(
    given: str | None, stored: str | None
) -> None:
    assert rules.clean_collection_point(given) == stored


@pytest.mark.parametrize(
    "given",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "mailto:ola@example.no",
        "ftp://example.no/",
        "https://",
        "https:///side",
        "https://www.example.no:99999/",
        "skjema\nneste linje",
        "https://www.example.no/" + "a" * 500,
        "x" * 501,
    ],
)
def test_collection_points_that_cannot_be_stored_are_refused(given: str) -> None:
    with pytest.raises(rules.CollectionPointError) as err:
        rules.clean_collection_point(given)
    assert "ola@example.no" not in str(err.value)


def test_a_collection_point_at_the_limit_is_kept() -> None:
    assert rules.clean_collection_point("x" * 500) == "x" * 500
    # The limit applies to what is kept: a long query string is dropped, not refused.
    long_query = "https://www.example.no/side?" + "q" * 600
    assert rules.clean_collection_point(long_query) == "https://www.example.no/side"


@given(st.text(max_size=80))
def test_no_collection_point_keeps_a_query_or_fragment(text: str) -> None:
    try:
        stored = rules.clean_collection_point(text)
    except rules.CollectionPointError:
        return
    assert stored is None or ("?" not in stored and "#" not in stored)


# --- methods and decisions -------------------------------------------------------------


def test_banner_methods_are_the_banner_endpoints_only() -> None:
    for method in rules.BANNER_METHODS:
        message = rules.method_problem(method, Decision.deny)
        assert message is not None and "cookie banner endpoint only" in message
    assert rules.method_problem(Method.banner_reject_all, Decision.deny, banner=True) is None


@pytest.mark.parametrize(
    ("method", "decision", "banner"),
    [
        (Method.banner_reject_all, Decision.grant, True),
        (Method.gpc, Decision.grant, True),
        (Method.banner_accept_all, Decision.deny, True),
        (Method.unsubscribe, Decision.grant, False),
        (Method.unsubscribe, Decision.deny, False),
        (Method.unsubscribe, Decision.object, False),
        (Method.double_opt_in, Decision.withdraw, False),
        (Method.double_opt_in, Decision.deny, False),
        (Method.double_opt_in, Decision.object, False),
        (Method.banner_custom, Decision.object, True),
    ],
)
def test_a_method_that_contradicts_the_decision_is_refused(
    method: Method, decision: Decision, banner: bool
) -> None:
    message = rules.method_problem(method, decision, banner=banner)
    assert message is not None and method.value in message and decision.value in message


def test_the_method_table_allows_what_the_flows_record() -> None:
    ok = [
        (Method.api, Decision.grant),
        (Method.api, Decision.object),
        (Method.form_checkbox, Decision.object),
        (Method.form_checkbox, Decision.withdraw),
        (Method.double_opt_in, Decision.grant),
        (Method.unsubscribe, Decision.withdraw),
    ]
    for method, decision in ok:
        assert rules.method_problem(method, decision) is None
    banner = [
        (Method.banner_accept_all, Decision.grant),
        (Method.banner_reject_all, Decision.withdraw),
        (Method.banner_custom, Decision.grant),
        (Method.banner_custom, Decision.withdraw),
        (Method.gpc, Decision.deny),
        (Method.gpc, Decision.withdraw),
    ]
    for method, decision in banner:
        assert rules.method_problem(method, decision, banner=True) is None
    # Objections only by api or a form.
    objecting = {m for m in Method if Decision.object in rules.METHOD_DECISIONS[m]}
    assert objecting == {Method.api, Method.form_checkbox}
    assert set(rules.METHOD_DECISIONS) == set(Method)


# --- IP addresses (strict check) -------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("192.0.2.10", True),
        (" 2001:db8::1 ", True),
        ("::ffff:192.0.2.1", True),
        ("not-an-ip", False),
        ("192.0.2.0/24", False),
        ("testclient", False),
        ("999.1.1.1", False),
    ],
)
def test_is_ip_address(address: str, ok: bool) -> None:
    assert rules.is_ip_address(address) is ok


# --- stored texts ----------------------------------------------------------------------


def _stored(purpose: str, lang: str, number: int, text: str = "t") -> rules.StoredText:
    content = rules.text_content(purpose, lang, purpose, text, None)
    return rules.StoredText(
        rules.text_version_id(purpose, lang, number),
        purpose,
        lang,
        number,
        rules.content_hash(content),
        content,
    )


def test_check_texts_finds_edited_contents_and_missing_versions() -> None:
    texts = [_stored("a", "nb", 1), _stored("a", "nb", 2), _stored("a", "en", 1)]
    assert rules.check_texts(texts) is None
    edited = replace(texts[1], content={**texts[1].content, "text": "endret"})
    assert rules.check_texts([texts[0], edited, texts[2]]) == (
        "a/nb/2",
        "text version a/nb/2 was changed after it was stored",
    )
    found = rules.check_texts([texts[1], texts[2]])
    assert found is not None and found[0] == "a/nb/1" and "missing" in found[1]
    # A gap in the middle is found too.
    gap = rules.check_texts([texts[0], _stored("a", "nb", 3)])
    assert gap is not None and gap[0] == "a/nb/2"


# --- messages --------------------------------------------------------------------------


def test_unknown_purpose_lists_each_known_purpose_once_sorted() -> None:
    index = rules.analyse_register(_register())
    with pytest.raises(rules.UnknownPurpose) as err:
        rules.resolve_purpose(index, "spam")
    listed = str(err.value).split("known purposes: ")[1].split(", ")
    assert listed == sorted(set(listed))
    assert err.value.known == listed
    # A key named twice (a purpose and an activity, or one activity in two systems).
    twice = rules.UnknownPurpose("spam", ["nyhetsbrev", "kampanjemaling", "nyhetsbrev"])
    assert str(twice) == "unknown purpose 'spam'; known purposes: kampanjemaling, nyhetsbrev"


def test_an_objection_is_one_reason() -> None:
    index = rules.analyse_register(_register())
    news = rules.resolve_purpose(index, "nyhetsbrev")
    answer = rules.decide(
        news, {"nyhetsbrev": Status.objected}, {"nyhetsbrev": _latest("object")}, False
    )
    assert not answer.allowed
    assert answer.reasons == ("the subject has objected (GDPR art. 21) to nyhetsbrev",)

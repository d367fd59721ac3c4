"""What a breach record accepts, and the clear errors for what it does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from datavern.breaches.rules import (
    OSLO,
    BreachFacts,
    MomentError,
    exception_problems,
    facts_problems,
    moment_problems,
    parse_count,
    parse_facts,
    parse_moment,
    parse_risk,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

MINIMAL: dict[str, Any] = {
    "title": "Kundeliste sendt til feil mottaker",
    "description": "En e-post med vedlagt kundeliste ble sendt til en ekstern mottaker.",
    "discovered_by": "Kundeservice",
    "aware_at": "2026-11-19 09:00",
}


def facts(**changes: Any) -> BreachFacts:
    parsed, findings = parse_facts({**MINIMAL, **changes})
    assert parsed is not None, findings
    return parsed


def codes(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.path, f.code) for f in findings]


# --- moments ------------------------------------------------------------------------------


def test_a_moment_without_offset_is_norwegian_time() -> None:
    assert parse_moment("2026-11-19 09:00") == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    assert parse_moment("2026-07-01T09:00") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert parse_moment("2026-07-01T09:00Z") == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert parse_moment("2026-07-01T09:00+00:00") == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert parse_moment(datetime(2026, 7, 1, 9, 0)) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_a_time_skipped_by_summer_time_is_refused() -> None:
    with pytest.raises(MomentError) as caught:
        parse_moment("2026-03-29 02:30")
    assert caught.value.code == "moment_dst_gap"
    assert "+01:00" in str(caught.value)


def test_a_time_repeated_when_summer_time_ends_needs_an_offset() -> None:
    with pytest.raises(MomentError) as caught:
        parse_moment("2026-10-25 02:30")
    assert caught.value.code == "moment_dst_twice"
    first = parse_moment("2026-10-25 02:30+02:00")
    second = parse_moment("2026-10-25 02:30+01:00")
    assert second - first == timedelta(hours=1)


@pytest.mark.parametrize("value", ["2026-11-19", "19.11.2026 kl 9", "", "i går", 20261119])
def test_moments_that_cannot_be_used(value: object) -> None:
    with pytest.raises(MomentError):
        parse_moment(value)


# --- the record ---------------------------------------------------------------------------


def test_minimal_breach_is_accepted_and_stored_in_utc() -> None:
    parsed = facts()
    assert parsed.aware_at == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    assert parsed.discovery == parsed.aware_at
    content = parsed.content()
    assert content["aware_at"] == "2026-11-19T08:00:00Z"
    assert BreachFacts.model_validate(content) == parsed


def test_missing_required_fields_are_all_named() -> None:
    parsed, findings = parse_facts({"title": "  "})
    assert parsed is None
    assert sorted(codes(findings)) == [
        ("aware_at", "required"),
        ("description", "required"),
        ("discovered_by", "required"),
        ("title", "required"),
    ]
    assert all("required" in f.message or "empty" in f.message for f in findings)


def test_unknown_fields_and_bad_values_are_named() -> None:
    parsed, findings = parse_facts(
        {
            **MINIMAL,
            "aware_at": "tomorrow",
            "people_affected": "many",
            "breach_types": ["leak"],
            "severity": "bad",
        }
    )
    assert parsed is None
    found = dict(codes(findings))
    assert found["aware_at"] == "moment_invalid"
    assert found["people_affected"] == "count_invalid"
    assert found["breach_types.0"] == "breach_type_unknown"
    assert found["severity"] == "unknown_field"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(120, "120"), ("100-500", "100-500"), ("100 – 500", "100-500"), ({"min": 3}, "3")],
)
def test_counts_are_exact_or_ranges(value: object, shown: str) -> None:
    count = parse_count(value)
    assert count is not None and str(count) == shown


def test_lists_may_be_given_as_comma_separated_text() -> None:
    parsed = facts(data_categories="user.name, user.contact.email", systems=["crm"])
    assert parsed.data_categories == ["user.name", "user.contact.email"]


def test_awareness_in_the_future_is_an_error() -> None:
    errors, _ = facts_problems(facts(aware_at="2026-11-21 09:00"), NOW)
    assert codes(errors) == [("aware_at", "future")]


def test_moments_in_the_future_are_found_even_when_other_fields_are_missing() -> None:
    found = moment_problems({"aware_at": "2026-12-24 18:00", "started_at": "nonsense"}, NOW)
    assert codes(found) == [("aware_at", "future")]


def test_discovery_after_awareness_is_an_error() -> None:
    errors, _ = facts_problems(facts(discovered_at="2026-11-19 10:00"), NOW)
    assert codes(errors) == [("discovered_at", "discovered_after_aware")]


def test_a_long_investigation_is_a_warning() -> None:
    errors, warnings = facts_problems(facts(discovered_at="2026-11-17 08:00"), NOW)
    assert errors == []
    assert codes(warnings) == [("discovered_at", "long_investigation")]
    errors, warnings = facts_problems(facts(discovered_at="2026-11-19 07:00"), NOW)
    assert errors == [] and warnings == []


def test_the_period_must_be_in_order() -> None:
    errors, _ = facts_problems(
        facts(started_at="2026-11-19 10:00", ended_at="2026-11-19 08:00"), NOW
    )
    assert codes(errors) == [
        ("started_at", "started_after_discovery"),
        ("ended_at", "ended_before_started"),
    ]
    errors, _ = facts_problems(facts(people_affected={"min": 50, "max": 10}), NOW)
    assert codes(errors) == [("people_affected", "range_reversed")]


# --- risk and art. 34(3) ------------------------------------------------------------------


def test_risk_levels_need_reasoning() -> None:
    assert parse_risk("high_risk", "Mange kunder, e-post og navn") == ("high_risk", [])
    level, findings = parse_risk("medium", "")
    assert level is None
    assert codes(findings) == [("risk", "risk_unknown"), ("risk_reasoning", "reasoning_required")]
    assert "'medium'" in findings[0].message and "high_risk" in findings[0].message


def test_art_34_3_exceptions() -> None:
    assert exception_problems("a", "Disken var kryptert (AES-256).", None, "high_risk") == []
    assert codes(exception_problems("c", "For mange uten adresse.", "", "high_risk")) == [
        ("public_communication", "public_communication_required")
    ]
    assert exception_problems("c", "x", "Kunngjort på nettsiden 21.11.", "high_risk") == []
    assert codes(exception_problems("d", " ", None, "risk")) == [
        ("art34_3", "exception_unknown"),
        ("reasoning", "reasoning_required"),
        ("risk", "exception_needs_high_risk"),
    ]


def test_moments_keep_their_instant_whatever_the_zone_given() -> None:
    aware = facts(aware_at=datetime(2026, 11, 19, 9, 0, tzinfo=OSLO)).aware_at
    assert aware == facts().aware_at

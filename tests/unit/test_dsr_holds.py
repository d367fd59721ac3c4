"""Legal holds: which fields of which rows an erasure keeps, and until which day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datavern.dsr.holds import (
    HoldRule,
    add_period,
    end_of_financial_year,
    held_fields,
    hold_end,
    resolve_holds,
    row_date,
)
from datavern.register.schema import DsrSettings


def settings(**hold: object) -> DsrSettings:
    base = {
        "key": "invoices",
        "collection": "shop.invoices",
        "fields": ["buyer_name", "buyer_address"],
        "date_field": "invoice_date",
    }
    base.update(hold)
    return DsrSettings.model_validate({"holds": [base]})


def rule(**hold: object) -> HoldRule:
    if "rule" not in hold and "period" not in hold:
        hold["rule"] = "bokforingsloven-13-1-1-4"
    return resolve_holds(settings(**hold))[0]


def test_bokforingsloven_keeps_invoices_five_years_after_the_financial_year() -> None:
    # An invoice of 15 March 2024: the financial year ends 31 December 2024, so the
    # hold lasts until 31 December 2029 and the data goes on 1 January 2030.
    hold = rule()
    assert hold.period == "P5Y"
    assert hold.legal_source and "bokføringsloven § 13" in hold.legal_source
    assert hold_end(hold, date(2024, 3, 15), today=date(2026, 1, 1)) == date(2029, 12, 31)
    held = held_fields([hold], {"invoice_date": date(2024, 3, 15)}, today=date(2026, 1, 1))
    assert set(held) == {"buyer_name", "buyer_address"}
    assert held["buyer_name"].due == date(2030, 1, 1)


def test_nr_5_8_keeps_three_and_a_half_years() -> None:
    hold = rule(rule="bokforingsloven-13-1-5-8")
    assert hold_end(hold, date(2024, 3, 15), today=date(2025, 1, 1)) == date(2028, 6, 30)


def test_a_hold_that_has_ended_holds_nothing() -> None:
    hold = rule()
    assert held_fields([hold], {"invoice_date": date(2019, 6, 1)}, today=date(2025, 1, 1)) == {}
    # The last day of the hold still holds; the day after does not.
    assert held_fields([hold], {"invoice_date": date(2019, 6, 1)}, today=date(2024, 12, 31))
    assert not held_fields([hold], {"invoice_date": date(2019, 6, 1)}, today=date(2025, 1, 1))


def test_financial_year_that_is_not_the_calendar_year() -> None:
    hold = rule(financial_year_end="06-30")
    assert end_of_financial_year(date(2024, 8, 1), (6, 30)) == date(2025, 6, 30)
    assert end_of_financial_year(date(2024, 6, 30), (6, 30)) == date(2024, 6, 30)
    assert hold_end(hold, date(2024, 8, 1), today=date(2025, 1, 1)) == date(2030, 6, 30)


def test_a_period_counted_from_the_date_itself() -> None:
    hold = rule(rule=None, period="P30D", counts_from="date")
    assert hold_end(hold, date(2025, 1, 10), today=date(2025, 1, 10)) == date(2025, 2, 9)


def test_an_unknown_date_is_held_as_if_dated_today() -> None:
    # Erasing early would break the law; the real date cannot be after today.
    hold = rule()
    held = held_fields([hold], {"invoice_date": None}, today=date(2026, 5, 1))
    assert held["buyer_name"].until == date(2031, 12, 31)
    assert held_fields([hold], {"invoice_date": "not a date"}, today=date(2026, 5, 1))


def test_the_latest_hold_wins_when_two_cover_a_field() -> None:
    long = rule()
    short = rule(key="short", rule="bokforingsloven-13-1-5-8", fields=["buyer_name", "note"])
    held = held_fields([short, long], {"invoice_date": date(2024, 1, 1)}, today=date(2025, 1, 1))
    assert held["buyer_name"].hold == "invoices"
    assert held["note"].hold == "short"
    assert held["buyer_address"].until == date(2029, 12, 31)


def test_timestamps_count_in_norwegian_time() -> None:
    # 31 Dec 2024 23:30 UTC is 1 Jan 2025 in Oslo: the next financial year.
    assert row_date(datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == date(2025, 1, 1)
    assert row_date(datetime(2024, 12, 31, 23, 30)) == date(2024, 12, 31)
    assert row_date("2024-05-06") == date(2024, 5, 6)
    assert row_date("2024-05-06T10:00:00+00:00") == date(2024, 5, 6)
    assert row_date(12345) is None


def test_add_period_clamps_to_the_end_of_the_month() -> None:
    assert add_period(date(2024, 8, 31), "P6M") == date(2025, 2, 28)
    assert add_period(date(2024, 2, 29), "P1Y") == date(2025, 2, 28)
    assert add_period(date(2024, 1, 1), "P1Y2M1W3D") == date(2025, 3, 11)
    with pytest.raises(ValueError):
        add_period(date(2024, 1, 1), "5 years")


def test_schema_requires_exactly_one_of_rule_and_period() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        settings()
    with pytest.raises(ValueError, match="exactly one"):
        settings(rule="bokforingsloven-13-1-1-4", period="P5Y")
    with pytest.raises(ValueError, match="unknown legal rule"):
        settings(rule="bokforingsloven-99")
    with pytest.raises(ValueError, match="MM-DD"):
        settings(rule="bokforingsloven-13-1-1-4", financial_year_end="31-12")


@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    month=st.integers(1, 12),
    last=st.integers(1, 31),
)
def test_the_financial_year_end_is_on_or_after_the_day_and_within_a_year(
    day: date, month: int, last: int
) -> None:
    end = end_of_financial_year(day, (month, last))
    assert end >= day
    assert (end - day).days < 366
    assert end.month == month


@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    today=st.dates(min_value=date(1990, 1, 1), max_value=date(2095, 12, 31)),
)
def test_a_held_row_is_never_released_before_five_years_after_its_year(
    day: date, today: date
) -> None:
    hold = rule()
    held = held_fields([hold], {"invoice_date": day}, today=today)
    release = date(day.year + 6, 1, 1)  # 1 Jan of the sixth year after the invoice's year
    if today < release:
        assert held and held["buyer_name"].due == release
    else:
        assert not held

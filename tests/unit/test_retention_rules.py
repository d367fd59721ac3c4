"""Due dates, periods, Norwegian days and hold precedence (retention/rules.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datavern.retention.rules import (
    OSLO,
    Condition,
    ConditionError,
    HoldSpec,
    Period,
    PeriodError,
    RuleSpec,
    add_period,
    condition_matches,
    conditions_match,
    covering_holds,
    cutoff,
    decide,
    due_on,
    end_of_financial_year,
    erasure_allowed,
    hold_active,
    is_due,
    last_kept_day,
    parse_condition,
    parse_month_day,
    parse_period,
    period_problem,
    sign_report,
    sql_bound,
    trigger_date,
    verify_report,
)


def rule(
    period: str = "P90D",
    counts_from: str = "date",
    year_end: tuple[int, int] = (12, 31),
    collection: str = "logs",
) -> RuleSpec:
    return RuleSpec(
        key="r",
        dataset="shop",
        collection=collection,
        trigger_field="at",
        counts_from=counts_from,  # type: ignore[arg-type]
        period=parse_period(period),
        financial_year_end=year_end,
    )


BOKFORING_1_4 = rule("P5Y", "end_of_financial_year")
BOKFORING_5_8 = rule("P3Y6M", "end_of_financial_year")


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P5Y", Period(years=5)),
        ("P3Y6M", Period(years=3, months=6)),
        ("P90D", Period(days=90)),
        ("P2W", Period(weeks=2)),
        ("P1Y2M3W4D", Period(1, 2, 3, 4)),
        (" P13M ", Period(months=13)),
    ],
)
def test_iso_periods_parse(text: str, expected: Period) -> None:
    assert parse_period(text) == expected
    assert str(parse_period(text)) == text.strip()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("PT24H", "hours"),
        ("P1DT12H", "hours"),
        ("p5y", "capitals"),
        ("5 years", "ISO 8601"),
        ("P", "ISO 8601"),
        ("P1.5Y", "ISO 8601"),
        ("P6M3Y", "in this order"),
        ("", "empty"),
        ("P0D", "zero"),
        ("P0Y0M", "zero"),
        ("P999Y", "longer than"),
    ],
)
def test_bad_periods_say_what_is_wrong(text: str, words: str) -> None:
    problem = period_problem(text)
    assert problem is not None and words in problem
    with pytest.raises(PeriodError, match=words):
        parse_period(text)


# --------------------------------------------------------------------------- calendar


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        # 29 February + one year: there is no 29 February 2025, so the last day of February.
        (date(2024, 2, 29), "P1Y", date(2025, 2, 28)),
        (date(2024, 2, 29), "P4Y", date(2028, 2, 29)),
        (date(2023, 8, 31), "P6M", date(2024, 2, 29)),
        (date(2023, 8, 31), "P18M", date(2025, 2, 28)),
        (date(2024, 1, 31), "P1M", date(2024, 2, 29)),
        (date(2024, 12, 31), "P3Y6M", date(2028, 6, 30)),
        (date(2024, 3, 15), "P90D", date(2024, 6, 13)),
        (date(2024, 2, 28), "P1Y1D", date(2025, 3, 1)),
    ],
)
def test_calendar_arithmetic_clamps_to_the_end_of_the_month(
    start: date, period: str, expected: date
) -> None:
    assert add_period(start, period) == expected


@pytest.mark.parametrize(
    ("day", "year_end", "expected"),
    [
        (date(2024, 3, 15), (12, 31), date(2024, 12, 31)),
        (date(2024, 12, 31), (12, 31), date(2024, 12, 31)),
        (date(2024, 6, 30), (6, 30), date(2024, 6, 30)),
        (date(2024, 7, 1), (6, 30), date(2025, 6, 30)),
        # A year ending on 29 February ends on the 28th in a common year.
        (date(2025, 1, 10), (2, 29), date(2025, 2, 28)),
        (date(2024, 1, 10), (2, 29), date(2024, 2, 29)),
        (date(2025, 3, 1), (2, 29), date(2026, 2, 28)),
    ],
)
def test_end_of_financial_year(day: date, year_end: tuple[int, int], expected: date) -> None:
    assert end_of_financial_year(day, year_end) == expected


def test_month_day_is_checked() -> None:
    assert parse_month_day("06-30") == (6, 30)
    assert parse_month_day("02-29") == (2, 29)
    for bad in ("6-30", "13-01", "02-30", "04-31", "12/31"):
        with pytest.raises(ValueError):
            parse_month_day(bad)


# --------------------------------------------------------------------------- bokføringsloven


def test_accounting_records_are_kept_five_years_after_the_financial_year() -> None:
    # bokføringsloven § 13 (1) nr. 1-4: an invoice of 15 March 2024 is kept through
    # 31 December 2029 and swept from 1 January 2030.
    assert last_kept_day(date(2024, 3, 15), BOKFORING_1_4) == date(2029, 12, 31)
    assert due_on(date(2024, 3, 15), BOKFORING_1_4) == date(2030, 1, 1)
    # Every voucher of a year falls due on the same day.
    assert due_on(date(2024, 1, 1), BOKFORING_1_4) == date(2030, 1, 1)
    assert due_on(date(2024, 12, 31), BOKFORING_1_4) == date(2030, 1, 1)
    assert due_on(date(2025, 1, 1), BOKFORING_1_4) == date(2031, 1, 1)


def test_agreements_are_kept_three_years_and_six_months() -> None:
    # nr. 5-8: three years and six months after the end of the financial year.
    assert last_kept_day(date(2024, 3, 15), BOKFORING_5_8) == date(2028, 6, 30)
    assert due_on(date(2024, 3, 15), BOKFORING_5_8) == date(2028, 7, 1)


def test_a_financial_year_other_than_the_calendar_year() -> None:
    june = rule("P5Y", "end_of_financial_year", (6, 30))
    assert last_kept_day(date(2024, 3, 15), june) == date(2029, 6, 30)
    assert last_kept_day(date(2024, 7, 1), june) == date(2030, 6, 30)


def test_a_date_period_is_kept_through_its_last_day() -> None:
    assert last_kept_day(date(2024, 3, 15), rule("P90D")) == date(2024, 6, 13)
    assert due_on(date(2024, 3, 15), rule("P90D")) == date(2024, 6, 14)
    assert due_on(date(2024, 2, 29), rule("P1Y")) == date(2025, 3, 1)


# --------------------------------------------------------------------------- Norwegian days


def test_aware_timestamps_count_on_their_oslo_date() -> None:
    # 23:30 UTC on New Year's Eve is already 1 January in Oslo (winter time, UTC+1).
    assert trigger_date(datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == date(2025, 1, 1)
    assert trigger_date(datetime(2024, 12, 31, 22, 30, tzinfo=UTC)) == date(2024, 12, 31)
    # Summer time, UTC+2.
    assert trigger_date(datetime(2024, 6, 30, 22, 30, tzinfo=UTC)) == date(2024, 7, 1)


def test_naive_timestamps_count_on_the_later_reading() -> None:
    # Written in UTC or in Norwegian time: the later date wins, so nothing is swept early.
    assert trigger_date(datetime(2024, 12, 31, 22, 30)) == date(2025, 1, 1)
    assert trigger_date(datetime(2024, 12, 31, 21, 59)) == date(2024, 12, 31)


def test_dates_and_texts_and_nothing() -> None:
    assert trigger_date(date(2024, 3, 15)) == date(2024, 3, 15)
    assert trigger_date("2024-03-15") == date(2024, 3, 15)
    assert trigger_date("2024-12-31T23:30:00+00:00") == date(2025, 1, 1)
    for value in (None, "", "15.03.2024", "soon", 42, "2024-13-40"):
        assert trigger_date(value) is None


def test_today_is_the_date_in_oslo() -> None:
    invoice = {"at": date(2024, 3, 15)}
    # 31 December 2029 23:30 UTC is 1 January 2030 00:30 in Oslo: the invoice is due.
    late = datetime(2029, 12, 31, 23, 30, tzinfo=UTC)
    assert decide(BOKFORING_1_4, invoice, [], late).outcome == "due"
    early = datetime(2029, 12, 31, 22, 30, tzinfo=UTC)
    assert decide(BOKFORING_1_4, invoice, [], early).outcome == "kept"


def test_a_row_without_a_date_is_never_due() -> None:
    now = datetime(2040, 1, 1, tzinfo=UTC)
    assert decide(rule(), {"at": None}, [], now).outcome == "kept"
    assert decide(rule(), {}, [], now).due is None


def test_cutoffs_on_known_days() -> None:
    assert cutoff(rule("P90D"), date(2026, 6, 1)) == date(2026, 3, 2)
    assert cutoff(BOKFORING_1_4, date(2026, 6, 1)) == date(2020, 12, 31)
    assert cutoff(BOKFORING_1_4, date(2030, 1, 1)) == date(2024, 12, 31)
    assert cutoff(BOKFORING_1_4, date(2029, 12, 31)) == date(2023, 12, 31)
    assert cutoff(rule("P1Y"), date(2025, 3, 1)) == date(2024, 2, 29)


# --------------------------------------------------------------------------- properties

periods = st.builds(
    Period,
    years=st.integers(0, 12),
    months=st.integers(0, 30),
    weeks=st.integers(0, 10),
    days=st.integers(0, 400),
).filter(lambda p: p.years or p.months or p.weeks or p.days)
year_ends = st.sampled_from([(12, 31), (6, 30), (2, 29), (3, 31), (8, 31)])
rules_st = st.builds(
    lambda period, counts, year_end: RuleSpec(
        key="r",
        dataset="shop",
        collection="logs",
        trigger_field="at",
        counts_from=counts,
        period=period,
        financial_year_end=year_end,
    ),
    periods,
    st.sampled_from(["date", "end_of_financial_year"]),
    year_ends,
)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@settings(max_examples=300, deadline=None)
@given(rules_st, days, days)
def test_the_cutoff_splits_due_from_kept(spec: RuleSpec, day: date, today: date) -> None:
    assert (day <= cutoff(spec, today)) == (due_on(day, spec) <= today)


@settings(max_examples=200, deadline=None)
@given(rules_st, days, days)
def test_due_dates_never_go_backwards(spec: RuleSpec, a: date, b: date) -> None:
    first, second = sorted((a, b))
    assert due_on(first, spec) <= due_on(second, spec)
    assert due_on(first, spec) > first


@settings(max_examples=300, deadline=None)
@given(
    rules_st,
    days,
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31)),
    st.sampled_from(["date", "naive", "aware"]),
)
def test_the_sql_bound_agrees_with_is_due(
    spec: RuleSpec, today: date, moment: datetime, kind: str
) -> None:
    bound = sql_bound(spec, today, kind)  # type: ignore[arg-type]
    value: date | datetime
    if kind == "date":
        value = moment.date()
    elif kind == "naive":
        value = moment
    else:
        value = moment.replace(tzinfo=UTC)
    assert is_due(value, spec, today) == (value < bound)  # type: ignore[operator]


def test_the_bound_for_aware_columns_is_oslo_midnight() -> None:
    spec = rule("P90D")
    bound = sql_bound(spec, date(2026, 6, 1), "aware")
    assert bound == datetime.combine(date(2026, 3, 3), time(0)).replace(tzinfo=OSLO)


NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)

conditions_st = st.lists(
    st.builds(
        Condition,
        field=st.sampled_from(["status", "amount", "at"]),
        op=st.sampled_from(["is_null", "not_null"]),
    )
    | st.builds(
        Condition,
        field=st.sampled_from(["status", "amount"]),
        op=st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        value=st.sampled_from(["paid", "disputed", "5", "100", "x"]),
    ),
    min_size=1,
    max_size=3,
)


def _hold(draw_id: int, scope: str, collection: str | None, conds: list[Condition]) -> HoldSpec:
    return HoldSpec(
        id=draw_id,
        scope=scope,  # type: ignore[arg-type]
        kind="litigation",
        starts_at=START,
        collection=collection,
        conditions=tuple(conds) if scope == "records" else (),
    )


@st.composite
def holds_st(draw: st.DrawFn) -> list[HoldSpec]:
    holds = []
    for number in range(draw(st.integers(0, 4))):
        scope = draw(st.sampled_from(["subject", "records", "collection"]))
        collection = draw(st.sampled_from(["shop.logs", "shop.other"]))
        if scope == "subject" and draw(st.booleans()):
            collection = None
        conds = draw(conditions_st)
        ends = draw(st.sampled_from([None, NOW - timedelta(days=1), NOW + timedelta(days=1)]))
        starts = draw(st.sampled_from([START, NOW + timedelta(hours=1)]))
        hold = _hold(number + 1, scope, collection, conds)
        holds.append(
            HoldSpec(
                id=hold.id,
                scope=hold.scope,
                kind=hold.kind,
                starts_at=starts,
                ends_at=ends,
                collection=hold.collection,
                conditions=hold.conditions,
            )
        )
    return holds


rows_st = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["paid", "disputed", "Disputed", None]),
        "amount": st.sampled_from([0, 5, 100, 250, None]),
        "at": st.sampled_from(
            [date(2010, 1, 1), date(2026, 5, 31), datetime(2019, 3, 1, 12), None]
        ),
    }
)


@settings(max_examples=500, deadline=None)
@given(rules_st, rows_st, holds_st(), st.sets(st.integers(1, 4)))
def test_a_held_row_is_never_due(
    spec: RuleSpec, row: dict[str, object], holds: list[HoldSpec], subjects: set[int]
) -> None:
    decision = decide(spec, row, holds, NOW, subjects)
    covering = covering_holds(holds, "shop.logs", row, NOW, subjects)
    if covering:
        assert decision.outcome == "held"
        assert set(decision.holds) == {h.id for h in covering}
        assert not erasure_allowed("shop.logs", row, holds, NOW, subjects)
    else:
        assert decision.outcome != "held"
    if decision.outcome == "due":
        assert all(not hold_active(h, NOW) or h.id not in decision.holds for h in holds)
        assert erasure_allowed("shop.logs", row, holds, NOW, subjects)


@settings(max_examples=300, deadline=None)
@given(rules_st, rows_st, holds_st(), holds_st(), st.sets(st.integers(1, 8)))
def test_more_holds_never_free_a_row(
    spec: RuleSpec,
    row: dict[str, object],
    first: list[HoldSpec],
    extra: list[HoldSpec],
    subjects: set[int],
) -> None:
    renumbered = [
        HoldSpec(
            id=h.id + 4,
            scope=h.scope,
            kind=h.kind,
            starts_at=h.starts_at,
            ends_at=h.ends_at,
            collection=h.collection,
            conditions=h.conditions,
        )
        for h in extra
    ]
    before = decide(spec, row, first, NOW, subjects)
    after = decide(spec, row, first + renumbered, NOW, subjects)
    if before.outcome == "held":
        assert after.outcome == "held"


def test_hold_scopes() -> None:
    row = {"status": "disputed", "amount": 5}
    collection = _hold(1, "collection", "shop.logs", [])
    records = _hold(2, "records", "shop.logs", [Condition("status", "=", "disputed")])
    other = _hold(3, "records", "shop.other", [Condition("status", "=", "disputed")])
    subject = _hold(4, "subject", None, [])
    assert covering_holds([collection], "shop.logs", row, NOW) == [collection]
    assert covering_holds([collection], "shop.other", row, NOW) == []
    assert covering_holds([records, other], "shop.logs", row, NOW) == [records]
    assert covering_holds([records], "shop.logs", {"status": "paid"}, NOW) == []
    # A subject hold covers only the rows of its person (found by the service).
    assert covering_holds([subject], "shop.logs", row, NOW) == []
    assert covering_holds([subject], "shop.logs", row, NOW, subjects=[4]) == [subject]


def test_holds_start_and_end() -> None:
    hold = HoldSpec(
        id=1,
        scope="collection",
        kind="tax_authority_order",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=30),
        collection="shop.logs",
    )
    assert not hold_active(hold, NOW - timedelta(seconds=1))
    assert hold_active(hold, NOW)
    assert hold_active(hold, NOW + timedelta(days=30) - timedelta(seconds=1))
    assert not hold_active(hold, NOW + timedelta(days=30))
    with pytest.raises(ValueError, match="names its collection"):
        HoldSpec(id=2, scope="collection", kind="other", starts_at=NOW)
    with pytest.raises(ValueError, match="condition"):
        HoldSpec(id=3, scope="records", kind="other", starts_at=NOW, collection="a.b")


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status=disputed", Condition("status", "=", "disputed")),
        ("status = 'disputed'", Condition("status", "=", "disputed")),
        ("invoice_date<2020-01-01", Condition("invoice_date", "<", "2020-01-01")),
        ("amount >= 100", Condition("amount", ">=", "100")),
        ("status != paid", Condition("status", "!=", "paid")),
        ("customer_id in (7, 9)", Condition("customer_id", "in", ("7", "9"))),
        ("customer_id IN ('7')", Condition("customer_id", "in", ("7",))),
        ("closed_at is null", Condition("closed_at", "is_null")),
        ("closed_at IS NOT NULL", Condition("closed_at", "not_null")),
    ],
)
def test_conditions_parse(text: str, expected: Condition) -> None:
    assert parse_condition(text) == expected
    assert Condition.from_json(expected.as_json()) == expected


@pytest.mark.parametrize(
    "text",
    ["", "status", "status ~ disputed", "1abc=5", "status=", "status in ()", "x; DROP TABLE y=1"],
)
def test_bad_conditions_are_refused_without_repeating_the_value(text: str) -> None:
    with pytest.raises(ConditionError) as error:
        parse_condition(text)
    assert "DROP" not in str(error.value)


def test_condition_values_are_never_echoed() -> None:
    condition = parse_condition("email=ola@example.no")
    assert "ola" not in str(condition)


def test_three_valued_logic() -> None:
    row = {"status": None, "amount": 100, "at": date(2020, 1, 1)}
    assert condition_matches(Condition("status", "=", "x"), row) is None
    assert condition_matches(Condition("status", "is_null"), row) is True
    assert condition_matches(Condition("amount", ">=", "100"), row) is True
    assert condition_matches(Condition("amount", "<", "abc"), row) is None  # unreadable value
    assert condition_matches(Condition("at", "<", "2021-01-01"), row) is True
    # False wins over unknown; unknown counts as covering (when in doubt, keep).
    assert (
        conditions_match([Condition("status", "=", "x"), Condition("amount", "<", "5")], row)
        is False
    )
    assert (
        conditions_match([Condition("status", "=", "x"), Condition("amount", "<", "500")], row)
        is None
    )
    hold = _hold(1, "records", "shop.logs", [Condition("status", "=", "x")])
    assert covering_holds([hold], "shop.logs", row, NOW) == [hold]


def test_text_compares_without_case() -> None:
    assert condition_matches(Condition("status", "=", "Disputed"), {"status": "disputed"}) is True
    assert condition_matches(Condition("status", "in", ("A", "DISPUTED")), {"status": "disputed"})


# --------------------------------------------------------------------------- reports


def test_signed_reports_detect_any_change() -> None:
    key = b"k" * 32
    report = {"run": "abc", "rules": [{"rule": "logs", "deleted": 22}], "duration": 1.5}
    signature = sign_report(report, key)
    assert verify_report(report, signature, key)
    assert verify_report(dict(reversed(list(report.items()))), signature, key)
    changed = {**report, "rules": [{"rule": "logs", "deleted": 23}]}
    assert not verify_report(changed, signature, key)
    assert not verify_report(report, signature, b"x" * 32)
    assert not verify_report(report, "", key)

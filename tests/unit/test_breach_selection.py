"""The selection language for telling people about a breach: parsed into data, never SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datavern.breaches.rules import (
    ComparisonError,
    Condition,
    Selection,
    SelectionError,
    matches,
    parse_selection,
    pushdown_candidates,
    selection_text,
)


def test_collection_alone_selects_every_row() -> None:
    selection = parse_selection("shop.customers")
    assert selection == Selection(dataset="shop", collection="customers")
    assert matches(selection, {"id": 1})


def test_conditions_are_data() -> None:
    selection = parse_selection(
        "crm-prod.customers WHERE created_at < 2024-01-01 AND status IN ('active', 'paused') "
        "and score >= 3.5 and note is not null and n != 4"
    )
    assert selection.dataset == "crm-prod"
    assert selection.conditions == (
        Condition(field="created_at", op="<", value=date(2024, 1, 1)),
        Condition(field="status", op="in", value=("active", "paused")),
        Condition(field="score", op=">=", value=Decimal("3.5")),
        Condition(field="note", op="is not null"),
        Condition(field="n", op="!=", value=4),
    )


def test_dataset_keys_may_contain_dots() -> None:
    selection = parse_selection("acme.shop.customers where id = 1")
    assert (selection.dataset, selection.collection) == ("acme.shop", "customers")


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("customers", 1, "dataset.collection"),
        ("shop.customers where", 21, "expected a condition"),
        ("shop.customers created_at < 2024-01-01", 16, "`where`"),
        ("shop.customers where city = Oslo", 29, "quote text values"),
        ("shop.customers where a = 1 or b = 2", 28, "`or` is not supported"),
        ("shop.customers where a in (1, 2", 32, "not closed"),
        ("shop.customers where a ~ 1", 24, "unexpected character"),
        ("shop.customers where a = 1; drop table customers", 27, "unexpected character"),
        ("shop.customers where a is 3", 24, "is null"),
        ("shop.customers where a like 'x%'", 24, "expected an operator"),
        ("shop.customers where a = 2024-13-40", 26, "not a valid date"),
    ],
)
def test_errors_say_where_and_what(text: str, column: int, words: str) -> None:
    with pytest.raises(SelectionError) as caught:
        parse_selection(text)
    assert caught.value.column == column
    assert words in str(caught.value)


def test_quotes_inside_text_values() -> None:
    selection = parse_selection("shop.customers where name = 'O''Brien'")
    assert selection.conditions[0].value == "O'Brien"
    assert selection_text(selection) == "shop.customers where name = 'O''Brien'"


def test_dates_compare_with_dates_datetimes_and_iso_text() -> None:
    before = parse_selection("shop.customers where created_at < 2024-01-01")
    assert matches(before, {"created_at": date(2023, 12, 31)})
    assert not matches(before, {"created_at": date(2024, 1, 1)})
    assert matches(before, {"created_at": datetime(2023, 12, 31, 23, 59)})
    assert not matches(before, {"created_at": datetime(2024, 1, 1, 0, 0)})
    # Text columns holding ISO dates (SQLite)
    assert matches(before, {"created_at": "2023-06-01 10:00:00"})
    assert matches(before, {"created_at": "2023-06-01"})
    # An aware database value against a date: midnight in Norway.
    assert matches(before, {"created_at": datetime(2023, 12, 31, 22, 30, tzinfo=UTC)})
    assert not matches(before, {"created_at": datetime(2023, 12, 31, 23, 30, tzinfo=UTC)})


def test_null_satisfies_no_comparison() -> None:
    selection = parse_selection("shop.customers where created_at < 2024-01-01")
    assert not matches(selection, {"created_at": None})
    assert matches(parse_selection("shop.c where x is null"), {"x": None})
    assert not matches(parse_selection("shop.c where x != 1"), {"x": None})


def test_numbers_and_booleans() -> None:
    assert matches(parse_selection("s.c where n > 2"), {"n": Decimal("2.5")})
    assert matches(parse_selection("s.c where n = 2"), {"n": 2.0})
    assert matches(parse_selection("s.c where n in (1, 3)"), {"n": 3})
    assert matches(parse_selection("s.c where n not in (1, 3)"), {"n": 2})
    assert matches(parse_selection("s.c where active = true"), {"active": 1})
    assert not matches(parse_selection("s.c where active = true"), {"active": False})


def test_incomparable_values_are_an_error_without_the_value() -> None:
    with pytest.raises(ComparisonError) as caught:
        matches(parse_selection("s.c where created_at < 2024-01-01"), {"created_at": "ola@x.no"})
    assert "ola@x.no" not in str(caught.value)
    assert "created_at" in str(caught.value)
    with pytest.raises(ComparisonError):
        matches(parse_selection("s.c where n > 2"), {"n": "many"})


def test_only_equality_goes_to_the_database() -> None:
    selection = parse_selection(
        "s.c where status = 'active' and created_at < 2024-01-01 and id in (1, 2)"
    )
    assert pushdown_candidates(selection) == {"status": ["active"], "id": [1, 2]}


def test_audit_form_hides_text_values() -> None:
    selection = parse_selection("s.c where email = 'ola@example.no' and created_at < 2024-01-01")
    assert (
        selection_text(selection, redact_text=True)
        == "s.c where email = '…' and created_at < 2024-01-01"
    )


values = st.one_of(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.booleans(),
)
fields = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda f: f not in ("and", "or", "where", "true", "false", "in", "not", "is", "null")
)
ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


@given(st.lists(st.tuples(fields, ops, values), max_size=4))
def test_canonical_text_parses_back_to_the_same_selection(
    conditions: list[tuple[str, str, object]],
) -> None:
    selection = Selection(
        dataset="shop",
        collection="customers",
        conditions=tuple(Condition(field=f, op=o, value=v) for f, o, v in conditions),  # type: ignore[arg-type]
    )
    assert parse_selection(selection_text(selection)) == selection

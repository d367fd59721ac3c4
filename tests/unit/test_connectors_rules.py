"""Connection names, IN-list batching and filter value coercion (pure rules)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from datavern.connectors.base import ColumnInfo
from datavern.connectors.rules import (
    NO_MATCH,
    chunks,
    coerce_filter_value,
    filter_batches,
    name_problem,
    unique_values,
)


def test_connection_names() -> None:
    for good in ["a", "crm", "crm_2-eu", "x" * 64, "0"]:
        assert name_problem(good) is None
    for bad in ["", "CRM", "my crm", "crm;drop", "x" * 65, "æøå", "crm\n", "../crm"]:
        problem = name_problem(bad)
        assert problem is not None and "not valid" in problem


def test_unique_values_drops_none_and_repeats_keeping_order() -> None:
    assert unique_values([3, None, 1, 3, 1, 2]) == [3, 1, 2]
    assert unique_values([1, True, "1"]) == [1, True, "1"]  # 1 == True, but not the same value
    assert unique_values([(1, 2), (1, 2), (2, 1)]) == [(1, 2), (2, 1)]


def test_chunks() -> None:
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 3)) == []


def test_empty_filters_mean_one_unfiltered_query() -> None:
    assert list(filter_batches({}, 10)) == [{}]


def test_an_empty_value_list_means_no_query() -> None:
    assert list(filter_batches({"a": [1], "b": []}, 10)) == []


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.lists(st.integers(), unique=True, max_size=6),
        max_size=3,
    ),
    st.integers(min_value=1, max_value=4),
)
@settings(deadline=None)
def test_batches_cover_every_combination_exactly_once(
    filters: dict[str, list[int]], size: int
) -> None:
    batches = list(filter_batches(filters, size))
    for batch in batches:
        assert set(batch) == set(filters)
        assert all(1 <= len(values) <= size for values in batch.values())
    # Every row (one value per field) that the unsplit filter matches is matched
    # by exactly one batch.
    fields = list(filters)
    for row in product(*(filters[f] for f in fields)):
        hits = sum(
            all(v in batch[f] for f, v in zip(fields, row, strict=True)) for batch in batches
        )
        assert hits == 1


def test_text_values_are_converted_when_exact() -> None:
    assert coerce_filter_value("integer", "42") == 42
    assert coerce_filter_value("integer", " -7 ") == -7
    assert coerce_filter_value("integer", "4.2") is NO_MATCH
    assert coerce_filter_value("integer", "1 OR 1=1") is NO_MATCH
    assert coerce_filter_value("string", 42) == "42"
    assert coerce_filter_value("number", "10.50") == Decimal("10.50")
    assert coerce_filter_value("number", "ten") is NO_MATCH
    assert coerce_filter_value("date", "2024-02-29") == date(2024, 2, 29)
    assert coerce_filter_value("date", "29.02.2024") is NO_MATCH
    some = uuid.uuid4()
    assert coerce_filter_value("uuid", str(some)) == some
    assert coerce_filter_value("other", "x") == "x"


def test_column_info_helps_choose_a_masking_value() -> None:
    short = ColumnInfo("code", "VARCHAR(4)", "string", nullable=False, max_length=4)
    assert short.fits_string("abcd") and not short.fits_string("abcde")
    assert not short.null_allowed
    key = ColumnInfo("id", "INTEGER", "integer", nullable=True, primary_key=True)
    assert not key.null_allowed
    number = ColumnInfo("n", "INTEGER", "integer", nullable=True)
    assert number.null_allowed and not number.fits_string("1")

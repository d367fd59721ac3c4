"""Masking strategies fitted to live column types: what is written, and what is refused."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from datavern.connectors.base import ColumnInfo
from datavern.dsr.masking import (
    MARK,
    FieldMask,
    MaskingProblem,
    convert_text,
    is_marked,
    masking_key,
    resolve_mask,
)

KEY = b"k" * 32


def col(
    kind: Any = "string", *, nullable: bool = True, length: int | None = 100, **kw: Any
) -> ColumnInfo:
    return ColumnInfo(
        name="f", type=kw.pop("type", kind.upper()), kind=kind, nullable=nullable,
        max_length=length if kind == "string" else None, **kw,
    )  # fmt: skip


def mask(
    strategy: Any, column: ColumnInfo, *, explicit: bool = True, fixed: str = "***"
) -> FieldMask:
    return resolve_mask(
        "f", strategy, column, explicit=explicit, fixed_value=fixed, key=KEY, where="ds.c.f"
    )


def apply(m: FieldMask, value: Any, column: ColumnInfo) -> Any:
    writer = m.write_value()
    return writer(value, column) if callable(writer) else writer


def test_null_writes_null_where_allowed() -> None:
    m = mask("null", col())
    assert m.effective == "null" and apply(m, "ola@example.no", col()) is None
    assert m.erased(None) and not m.erased("ola@example.no")


@pytest.mark.parametrize(
    ("kind", "extra", "neutral"),
    [
        ("integer", {}, 0),
        ("number", {}, 0),
        ("boolean", {}, False),
        ("date", {}, date(1970, 1, 1)),
        ("json", {}, {}),
        ("uuid", {}, uuid.UUID(int=0)),
        ("binary", {}, b""),
        ("enum", {"choices": ("active", "closed")}, "active"),
    ],
)
def test_null_on_a_not_null_column_writes_the_neutral_value(
    kind: str, extra: dict[str, Any], neutral: Any
) -> None:
    column = col(kind, nullable=False, **extra)
    m = mask("null", column)
    assert m.effective == "neutral"
    assert apply(m, "anything", column) == neutral
    assert m.erased(neutral)


def test_null_on_a_not_null_text_column_writes_a_marked_random_text() -> None:
    # A unique NOT NULL column (an e-mail) must not get the same value twice.
    column = col(nullable=False, length=100)
    m = mask("null", column)
    first, second = apply(m, "ola@example.no", column), apply(m, "kari@example.no", column)
    assert is_marked(first) and is_marked(second) and first != second
    assert m.erased(first) and not m.erased("ola@example.no")


def test_null_on_a_short_not_null_text_column_writes_empty_text() -> None:
    column = col(nullable=False, length=5)
    m = mask("null", column)
    assert apply(m, "NO", column) == "" and m.erased("")


def test_null_on_a_not_null_column_of_an_unknown_type_fails_with_the_reason() -> None:
    with pytest.raises(MaskingProblem, match=r"ds\.c\.f.*INET.*refuses NULL"):
        mask("null", col("other", nullable=False, type="INET"))


def test_hmac_is_a_stable_marked_pseudonym() -> None:
    column = col(length=100)
    m = mask("hmac", column)
    one = apply(m, "ola@example.no", column)
    assert one == apply(m, "ola@example.no", column)
    assert one != apply(m, "kari@example.no", column)
    assert one.startswith(MARK) and len(one) == len(MARK) + 64
    assert "ola" not in one
    # Another key, another pseudonym.
    other = resolve_mask(
        "f", "hmac", column, explicit=True, fixed_value="", key=b"x" * 32, where="w"
    )
    assert apply(other, "ola@example.no", column) != one


def test_masking_twice_changes_nothing_the_second_time() -> None:
    column = col(length=40)
    for strategy in ("hmac", "random"):
        m = mask(strategy, column)
        once = apply(m, "ola@example.no", column)
        assert apply(m, once, column) == once
        assert apply(m, None, column) is None


def test_hmac_and_random_fit_the_column_length() -> None:
    column = col(length=20)
    assert len(apply(mask("hmac", column), "ola@example.no", column)) == 20
    assert len(apply(mask("random", column), "ola@example.no", column)) == 20


def test_hmac_named_for_a_column_too_short_or_not_text_fails() -> None:
    with pytest.raises(MaskingProblem, match=r"at most 10 characters"):
        mask("hmac", col(length=10))
    with pytest.raises(MaskingProblem, match="writes text and the column is DATE"):
        mask("hmac", col("date"))


def test_a_default_that_does_not_fit_falls_back_to_null() -> None:
    m = mask("hmac", col("date"), explicit=False)
    assert m.effective == "null" and "does not fit" in m.describe()
    m = mask("random", col("integer", nullable=False), explicit=False)
    assert m.effective == "neutral" and apply(m, 5, col("integer")) == 0


def test_fixed_is_converted_to_the_column_type_and_must_fit() -> None:
    assert apply(mask("fixed", col(), fixed="slettet"), "Ola", col()) == "slettet"
    assert mask("fixed", col("integer"), fixed="0").constant == 0
    assert mask("fixed", col("number"), fixed="1.5").constant == Decimal("1.5")
    assert mask("fixed", col("date"), fixed="1900-01-01").constant == date(1900, 1, 1)
    with pytest.raises(MaskingProblem, match="7 characters and the column"):
        mask("fixed", col(length=3), fixed="slettet")
    with pytest.raises(MaskingProblem, match="not a valid value"):
        mask("fixed", col("integer"), fixed="slettet")
    with pytest.raises(MaskingProblem, match="only takes active, closed"):
        mask("fixed", col("enum", choices=("active", "closed")), fixed="gone")


def test_fixed_check_ignores_char_padding() -> None:
    m = mask("fixed", col(), fixed="***")
    assert m.erased("***  ") and not m.erased("Ola")


def test_a_primary_key_cannot_be_masked() -> None:
    with pytest.raises(MaskingProblem, match="primary key"):
        mask("null", col(nullable=False, primary_key=True))


def test_errors_never_repeat_the_value() -> None:
    with pytest.raises(MaskingProblem) as caught:
        convert_text("ola@example.no", col("integer"), "ds.c.f", "the new value")
    assert "ola@example.no" not in str(caught.value)


def test_the_masking_key_comes_from_the_environment_or_the_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAVERN_MASKING_KEY", "my key")
    assert masking_key() == b"my key"
    monkeypatch.delenv("DATAVERN_MASKING_KEY")
    derived = masking_key()
    assert len(derived) == 32 and derived == masking_key()

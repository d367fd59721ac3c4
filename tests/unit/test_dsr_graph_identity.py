"""Identities a data subject gives: parsed, normalised, and never echoed in errors."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.no import fodselsnummer

from datavern.dsr.rules import (
    IdentityError,
    UnknownIdentity,
    known_identities,
    parse_identities,
    parse_identity,
    parse_identity_arg,
)

VALID_FNR = "15108695088"
VALID_D_NUMBER = "55108695071"  # day + 40: the D-nummer of a person without a fødselsnummer


def test_email_is_lower_cased() -> None:
    identity = parse_identity("email", "  Ola.Nordmann@Eksempel.NO ")
    assert identity.name == "email"
    assert identity.value == "ola.nordmann@eksempel.no"


@pytest.mark.parametrize("value", ["ola.nordmann", "ola@", "@eksempel.no", "ola@@eksempel.no"])
def test_malformed_email_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_identity("email", value)
    assert "e-mail" in str(caught.value)
    assert value not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("912 34 567", "+4791234567"),
        ("+47 912 34 567", "+4791234567"),
        ("0047 91234567", "+4791234567"),
        ("+46 70 123 45 67", "+46701234567"),
    ],
)
def test_phone_is_normalised_to_e164_with_norway_as_default_region(
    value: str, expected: str
) -> None:
    assert parse_identity("phone", value).value == expected


def test_phone_number_is_an_alias_of_phone() -> None:
    identity = parse_identity("phone_number", "91234567")
    assert (identity.name, identity.value) == ("phone", "+4791234567")


@pytest.mark.parametrize("value", ["12", "not a number", "+47 123"])
def test_invalid_phone_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_identity("phone", value)
    assert "phone" in str(caught.value)
    assert value not in str(caught.value)


@pytest.mark.parametrize("value", [VALID_FNR, "151086 95088", VALID_D_NUMBER])
def test_fodselsnummer_and_d_nummer_are_accepted(value: str) -> None:
    assert parse_identity("fnr", value).value == value.replace(" ", "")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("15108695078", "first check digit (digit 10)"),
        ("15108695089", "second check digit (digit 11)"),
        ("1510869508", "11 digits, this one has 10"),
        ("1510869508X", "digits only"),
    ],
)
def test_malformed_fodselsnummer_names_the_problem_and_not_the_number(
    value: str, problem: str
) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_identity("fnr", value)
    message = str(caught.value)
    assert problem in message
    assert value not in message
    assert value[:6] not in message  # not even the date of birth


def test_fodselsnummer_with_right_check_digits_but_no_real_birth_date_is_refused() -> None:
    # 31 February, check digits computed to match
    base = "310286950"
    first = fodselsnummer.calc_check_digit1(base)
    number = base + first + fodselsnummer.calc_check_digit2(base + first)
    assert len(number) == 11
    with pytest.raises(IdentityError, match="date of birth"):
        parse_identity("fnr", number)


def test_fodselsnummer_born_in_the_future_is_refused_when_today_is_given() -> None:
    assert parse_identity("fnr", VALID_FNR, today=date(2030, 1, 1)).value == VALID_FNR
    with pytest.raises(IdentityError, match="future"):
        parse_identity("fnr", VALID_FNR, today=date(1986, 10, 14))


def test_customer_id_and_declared_identities_are_trimmed_text() -> None:
    assert parse_identity("customer_id", "  K-1001 ").value == "K-1001"
    assert parse_identity("user_id", "u42", declared=["user_id"]).value == "u42"
    with pytest.raises(IdentityError, match="empty"):
        parse_identity("customer_id", "   ")


def test_unknown_identity_type_lists_built_in_and_declared_ones() -> None:
    with pytest.raises(UnknownIdentity) as caught:
        parse_identity("username", "ola", declared=["user_id"])
    assert caught.value.known == ("customer_id", "email", "fnr", "phone", "user_id")
    message = str(caught.value)
    assert "'username'" in message
    assert "user_id" in message and "email" in message


def test_known_identities_fold_aliases() -> None:
    assert known_identities(["phone_number", "crm_id", " "]) == (
        "crm_id",
        "customer_id",
        "email",
        "fnr",
        "phone",
    )


def test_identity_repr_hides_the_value() -> None:
    identity = parse_identity("email", "ola@eksempel.no")
    assert "ola@eksempel.no" not in repr(identity)
    assert "ola@eksempel.no" not in str(identity)


def test_identity_argument_is_name_equals_value() -> None:
    identity = parse_identity_arg("email=Ola@Eksempel.no")
    assert (identity.name, identity.value) == ("email", "ola@eksempel.no")
    with pytest.raises(IdentityError, match="NAME=VALUE"):
        parse_identity_arg("ola@eksempel.no")


def test_several_identities_are_grouped_and_deduplicated() -> None:
    parsed = parse_identities(
        ["email=Ola@Eksempel.no", "phone=91234567", "email=ola@eksempel.no", ("fnr", VALID_FNR)]
    )
    assert parsed == {
        "email": ["ola@eksempel.no"],
        "phone": ["+4791234567"],
        "fnr": [VALID_FNR],
    }


def test_every_bad_identity_is_reported_at_once_by_position() -> None:
    with pytest.raises(IdentityError) as caught:
        parse_identities(["email=nope", "phone=91234567", "fnr=15108695078"])
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("identity 1: email")
    assert caught.value.problems[1].startswith("identity 3: fnr")
    assert "15108695078" not in str(caught.value)


def test_unknown_names_win_over_bad_values() -> None:
    with pytest.raises(UnknownIdentity) as caught:
        parse_identities(["emial=a@b.no", "email=nope"])
    assert caught.value.names == ("emial",)

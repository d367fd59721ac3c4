"""Identities a data subject gives, parsed and normalised; pure, no I/O.

A data-subject request starts from what the person tells us about themselves:
an e-mail address, a phone number, a fødselsnummer, a customer number, or any
identity a dataset declares (``fides_meta.identity``). The value is normalised
here, once, so that the walk over the company's databases compares like with
like (``Ola@Eksempel.no`` and ``ola@eksempel.no`` are one person).

No message raised here repeats the value it rejects: identity values are
personal data and error messages end up in terminals, logs and HTTP replies.

The dataset graph walk that uses these identities is in ``graph.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Final

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.no import fodselsnummer

__all__ = [
    "BUILTIN_IDENTITIES",
    "IDENTITY_ALIASES",
    "Identity",
    "IdentityError",
    "UnknownIdentity",
    "canonical_identity",
    "known_identities",
    "parse_identities",
    "parse_identity",
    "parse_identity_arg",
]

BUILTIN_IDENTITIES: Final[tuple[str, ...]] = ("customer_id", "email", "fnr", "phone")
"""Identity types Datavern knows how to normalise, whether or not a dataset declares them."""

IDENTITY_ALIASES: Final[Mapping[str, str]] = {"phone_number": "phone"}
"""Other names for a built-in identity. Fides datasets call the phone identity
``phone_number``; it is the same identity as ``phone``, so that a Fides dataset
loads unchanged and ``--identity phone=...`` still reaches it."""

DEFAULT_PHONE_REGION: Final = "NO"
MAX_IDENTITY_LENGTH: Final = 256
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class IdentityError(ValueError):
    """One or more identities could not be used. Messages never contain the values."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("; ".join(self.problems))


class UnknownIdentity(IdentityError):
    """An identity name that is neither built in nor declared by any dataset."""

    def __init__(self, names: Iterable[str], known: Iterable[str]) -> None:
        self.names: tuple[str, ...] = tuple(names)
        self.known: tuple[str, ...] = tuple(sorted(known))
        listed = ", ".join(self.known)
        super().__init__(
            f"unknown identity type {name!r}; known identity types: {listed}" for name in self.names
        )


class Identity(BaseModel):
    """A normalised identity. ``repr`` hides the value so it cannot leak into a log."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: str = Field(repr=False)


def canonical_identity(name: str) -> str:
    """The name under which an identity is matched: aliases fold into their built-in name."""
    return IDENTITY_ALIASES.get(name, name)


def known_identities(declared: Iterable[str] = ()) -> tuple[str, ...]:
    """Built-in identity types plus those declared by datasets, canonical and sorted."""
    names = set(BUILTIN_IDENTITIES)
    names.update(canonical_identity(n) for n in declared if n and n.strip())
    return tuple(sorted(names))


def parse_identity(
    name: str,
    value: str,
    declared: Iterable[str] = (),
    *,
    phone_region: str = DEFAULT_PHONE_REGION,
    today: date | None = None,
) -> Identity:
    """Validate and normalise one identity value.

    ``name`` is a built-in type (``email``, ``phone``, ``fnr``, ``customer_id``),
    an alias (``phone_number``) or any identity a dataset declares (``declared``).
    Returns the identity under its canonical name.

    - email: syntax checked, whole address lower-cased;
    - phone: E.164 (``+4791234567``), numbers without a country code are read
      as ``phone_region`` (Norway by default);
    - fnr: an 11-digit fødselsnummer or D-nummer with both check digits right
      and a real date of birth; ``today`` (if given) also rejects a birth date
      in the future;
    - customer_id and dataset-declared identities: trimmed text, not empty.

    Raises ``UnknownIdentity`` for a name nobody declared, ``IdentityError``
    for a value that does not parse; neither message contains the value.
    """
    canonical = canonical_identity(name.strip())
    if canonical not in known_identities(declared):
        raise UnknownIdentity([name], known_identities(declared))
    text = value.strip()
    if not text:
        raise IdentityError([f"{canonical}: the value is empty"])
    if len(text) > MAX_IDENTITY_LENGTH:
        raise IdentityError([f"{canonical}: the value is longer than {MAX_IDENTITY_LENGTH}"])
    if _CONTROL_CHARS.search(text):
        raise IdentityError([f"{canonical}: the value contains control characters"])
    if canonical == "email":
        normalised = _email(text)
    elif canonical == "phone":
        normalised = _phone(text, phone_region)
    elif canonical == "fnr":
        normalised = _fnr(text, today)
    else:
        normalised = text
    return Identity(name=canonical, value=normalised)


def parse_identity_arg(
    text: str, declared: Iterable[str] = (), *, today: date | None = None
) -> Identity:
    """Parse ``NAME=VALUE`` as typed after ``--identity``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise IdentityError(["an identity is written NAME=VALUE, e.g. email=ola@eksempel.no"])
    return parse_identity(name, value, declared, today=today)


def parse_identities(
    items: Iterable[str | tuple[str, str]],
    declared: Iterable[str] = (),
    *,
    today: date | None = None,
) -> dict[str, list[str]]:
    """Parse several identities (``"email=a@b.no"`` or ``("email", "a@b.no")``).

    Returns ``{canonical name: [normalised values, first-given order, no duplicates]}``.
    Every bad item is reported, not only the first: the error lists them all,
    each with its position (1-based) but never its value.
    """
    declared = tuple(declared)
    result: dict[str, list[str]] = {}
    problems: list[str] = []
    unknown: list[str] = []
    for position, item in enumerate(items, start=1):
        try:
            if isinstance(item, str):
                identity = parse_identity_arg(item, declared, today=today)
            else:
                identity = parse_identity(item[0], item[1], declared, today=today)
        except UnknownIdentity as exc:
            unknown.extend(exc.names)
            continue
        except IdentityError as exc:
            problems.extend(f"identity {position}: {p}" for p in exc.problems)
            continue
        values = result.setdefault(identity.name, [])
        if identity.value not in values:
            values.append(identity.value)
    if unknown:
        raise UnknownIdentity(unknown, known_identities(declared))
    if problems:
        raise IdentityError(problems)
    return result


def _email(text: str) -> str:
    try:
        # Syntax only: whether the domain accepts mail says nothing about whose
        # data we hold. ``test_environment`` admits the reserved ``.test`` domain.
        result = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise IdentityError(["email: not a valid e-mail address (expected name@domain)"]) from None
    return result.normalized.lower()


def _phone(text: str, region: str) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise IdentityError(["phone: not a phone number"]) from None
    if not phonenumbers.is_valid_number(number):
        raise IdentityError(
            [
                f"phone: not a valid phone number (numbers without +country code "
                f"are read as {region})"
            ]
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _fnr(text: str, today: date | None) -> str:
    # Each check names what is wrong so the person can find their typo, and
    # never repeats the number: a fødselsnummer is itself sensitive
    # (personopplysningsloven § 12).
    number = fodselsnummer.compact(text)
    if not number.isdigit():
        raise IdentityError(["fnr: a fødselsnummer or D-nummer holds digits only"])
    if len(number) != 11:
        raise IdentityError(
            [f"fnr: a fødselsnummer or D-nummer has 11 digits, this one has {len(number)}"]
        )
    if number[9] != fodselsnummer.calc_check_digit1(number):
        raise IdentityError(
            ["fnr: the first check digit (digit 10) does not match; check for a typo"]
        )
    if number[10] != fodselsnummer.calc_check_digit2(number):
        raise IdentityError(
            ["fnr: the second check digit (digit 11) does not match; check for a typo"]
        )
    if int(number[0:2]) >= 80:
        raise IdentityError(["fnr: an FH-nummer is not a fødselsnummer or D-nummer"])
    try:
        born = fodselsnummer.get_birth_date(number)
    except StdnumValidationError:
        raise IdentityError(["fnr: digits 1-6 are not a valid date of birth"]) from None
    if today is not None and born > today:
        raise IdentityError(["fnr: the date of birth is in the future"])
    return number

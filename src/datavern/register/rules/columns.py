"""Column names that suggest personal data (``datavern check --live``, DV957)."""

from __future__ import annotations

import re

# Column names that suggest personal data (`datavern check --live`, DV957): whole names,
# and words inside a name (split at `_`, `-`, digits and camelCase). A hint, not a
# classification: discovery (DESIGN capability 7) reads the values.
_PERSONAL_COLUMN_NAMES: dict[str, str] = {
    "name": "a name", "full_name": "a name", "first_name": "a name", "last_name": "a name",
    "firstname": "a name", "lastname": "a name", "surname": "a name", "given_name": "a name",
    "family_name": "a name", "display_name": "a name", "navn": "a name", "fornavn": "a name",
    "etternavn": "a name", "mellomnavn": "a name", "username": "a user name",
    "user_name": "a user name", "brukernavn": "a user name",
    "ip": "an IP address", "dob": "a date of birth", "zip": "a postal code",
    "postnr": "a postal code", "fnr": "a fødselsnummer", "ssn": "a national identity number",
    "pan": "a card number",
}  # fmt: skip
_PERSONAL_COLUMN_WORDS: dict[str, str] = {
    "email": "an e-mail address", "epost": "an e-mail address", "mail": "an e-mail address",
    "phone": "a phone number", "telephone": "a phone number", "mobile": "a phone number",
    "mobil": "a phone number", "telefon": "a phone number", "tlf": "a phone number",
    "msisdn": "a phone number", "address": "an address", "adresse": "an address",
    "street": "an address", "gateadresse": "an address", "postcode": "a postal code",
    "postnummer": "a postal code", "birth": "a date of birth", "birthday": "a date of birth",
    "birthdate": "a date of birth", "fodselsdato": "a date of birth",
    "fødselsdato": "a date of birth", "fodselsnummer": "a fødselsnummer",
    "fødselsnummer": "a fødselsnummer", "personnummer": "a fødselsnummer",
    "iban": "a bank account number", "kontonummer": "a bank account number",
    "password": "a password", "passwd": "a password", "passord": "a password",
    "latitude": "a location", "longitude": "a location",
}  # fmt: skip
_PERSONAL_COLUMN_PHRASES: dict[tuple[str, str], str] = {
    ("ip", "address"): "an IP address", ("ip", "addr"): "an IP address",
    ("user", "agent"): "a device description", ("card", "number"): "a card number",
    ("account", "number"): "a bank account number", ("bank", "account"): "a bank account number",
    ("national", "id"): "a national identity number", ("postal", "code"): "a postal code",
}  # fmt: skip


def personal_column_hint(column: str) -> str | None:
    """What a column's name suggests it holds ("an e-mail address"), or None."""
    name = column.strip()
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    if snake in _PERSONAL_COLUMN_NAMES:
        return _PERSONAL_COLUMN_NAMES[snake]
    words = [w for w in re.split(r"[^a-zæøå]+", snake) if w]
    for pair, hint in _PERSONAL_COLUMN_PHRASES.items():
        if any(words[n : n + 2] == list(pair) for n in range(len(words) - 1)):
            return hint
    for word in words:
        if word in _PERSONAL_COLUMN_WORDS:
            return _PERSONAL_COLUMN_WORDS[word]
    return None

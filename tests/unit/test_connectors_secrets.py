"""Encryption of connection URLs and masking of their secrets."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from datavern.connectors import secrets
from datavern.connectors.secrets import KEY_ENV, MissingKey, WrongKey
from datavern.core.errors import InvalidInput

URL = "postgresql://alice:S3cret%21pw@db.example:5432/crm"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = secrets.generate_key()
    monkeypatch.setenv(KEY_ENV, value)
    return value


def test_round_trip_and_no_plain_text(key: str) -> None:
    token = secrets.encrypt(URL)
    assert "S3cret" not in token and "alice" not in token and "db.example" not in token
    assert secrets.decrypt(token, what="connection 'crm'") == URL
    assert secrets.encrypt(URL) != token  # a fresh IV each time


def test_missing_key_says_how_to_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(MissingKey) as caught:
        secrets.encrypt(URL)
    assert "datavern connection keygen" in str(caught.value)
    assert caught.value.exit_code == 2


def test_malformed_key_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not-a-key")
    with pytest.raises(WrongKey, match="key number 1 is not a Fernet key"):
        secrets.encrypt(URL)


def test_wrong_key_at_read_time(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = secrets.encrypt(URL)
    monkeypatch.setenv(KEY_ENV, secrets.generate_key())
    with pytest.raises(WrongKey, match="connection 'crm' cannot be decrypted") as caught:
        secrets.decrypt(token, what="connection 'crm'")
    assert "S3cret" not in str(caught.value)


def test_rotation_first_key_encrypts_all_decrypt(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old_token = secrets.encrypt(URL)
    new = secrets.generate_key()
    monkeypatch.setenv(KEY_ENV, f"{new}, {key}")
    assert secrets.decrypt(old_token, what="x") == URL
    new_token = secrets.encrypt(URL)
    monkeypatch.setenv(KEY_ENV, new)
    assert secrets.decrypt(new_token, what="x") == URL


def test_masked_url_hides_password_and_secret_parameters() -> None:
    shown = secrets.masked_url(URL + "?sslmode=require&sslpassword=S3cret&api_token=abc")
    assert shown.startswith("postgresql://alice:***@db.example:5432/crm?")
    assert "sslmode=require" in shown
    assert "S3cret" not in shown and "abc" not in shown


def test_scrub_removes_password_in_every_spelling() -> None:
    url = make_url(URL)
    message = "failed for postgresql://alice:S3cret%21pw@db.example/crm with S3cret!pw"
    cleaned = secrets.scrub(message, url)
    assert "S3cret" not in cleaned and "db.example" in cleaned


def test_parse_error_does_not_repeat_the_url() -> None:
    with pytest.raises(InvalidInput) as caught:
        secrets.parse_url("S3cret!pw is not a url")
    assert "S3cret" not in str(caught.value)

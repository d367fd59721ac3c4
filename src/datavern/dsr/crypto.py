"""Sealing what a request must keep for a while, and keyed hashes of identities.

Keys are derived from Datavern's secret key (``DATAVERN_SECRET_KEY``, or the key
file in the data folder), one per purpose, so that the sealed identities, the
restriction hashes and the masking pseudonyms never share a key. Keep the
secret key stable: a request sealed under another key cannot be resumed, and a
restriction recorded under another key no longer matches its subject.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from datavern.core.config import get_settings
from datavern.core.errors import DatavernError

_TAG = "__dv__"


class SealError(DatavernError):
    """Something sealed cannot be opened: Datavern's secret key has changed."""


@lru_cache(maxsize=8)
def _derived(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), label.encode("ascii"), hashlib.sha256).digest()


def _key(label: str) -> bytes:
    return _derived(get_settings().effective_secret_key(), label)


@lru_cache(maxsize=8)
def _fernet(raw: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(raw))


def _encode(value: Any) -> Any:
    """JSON that keeps the types a row key or join value may have."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {_TAG: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {_TAG: "timedelta", "v": value.total_seconds()}
    if isinstance(value, Decimal):
        return {_TAG: "decimal", "v": str(value)}
    if isinstance(value, uuid.UUID):
        return {_TAG: "uuid", "v": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {_TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    return {_TAG: "str", "v": str(value)}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        tag = value.get(_TAG)
        if tag is None:
            return {k: _decode(v) for k, v in value.items()}
        raw = value["v"]
        decoders: dict[str, Any] = {
            "datetime": datetime.fromisoformat,
            "date": date.fromisoformat,
            "time": time.fromisoformat,
            "timedelta": lambda s: timedelta(seconds=s),
            "decimal": Decimal,
            "uuid": uuid.UUID,
            "bytes": base64.b64decode,
            "str": str,
        }
        return decoders[tag](raw)
    return value


def dumps(value: Any) -> str:
    """Typed JSON (dates, decimals, UUIDs and bytes come back as themselves)."""
    return json.dumps(_encode(value), separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    return _decode(json.loads(text))


def seal(value: Any) -> str:
    """Encrypt ``value`` (typed JSON) for storage in Datavern's database."""
    token = _fernet(_key("datavern dsr seal v1")).encrypt(dumps(value).encode("utf-8"))
    return token.decode("ascii")


def unseal(token: str, what: str) -> Any:
    """Decrypt a sealed value; ``what`` names it in the error (no value is shown)."""
    try:
        plain = _fernet(_key("datavern dsr seal v1")).decrypt(token.encode("ascii"))
    except InvalidToken:
        raise SealError(
            f"{what} cannot be decrypted: Datavern's secret key (DATAVERN_SECRET_KEY or "
            "secret.key in the data folder) is not the one it was stored with; set that key "
            "again, or start a new request"
        ) from None
    return loads(plain.decode("utf-8"))


def identity_hash(name: str, value: str) -> str:
    """A keyed hash of a normalised identity: finds a restriction without storing the value."""
    message = f"{name}\0{value}".encode()
    return hmac.new(_key("datavern dsr identity v1"), message, hashlib.sha256).hexdigest()


def row_hash(dataset: str, collection: str, key: Any) -> str:
    """A keyed hash naming one row (deferred erasures, audit entries for personal keys)."""
    canonical = json.dumps(_encode(key), sort_keys=True, separators=(",", ":"))
    message = f"{dataset}\0{collection}\0{canonical}".encode()
    return hmac.new(_key("datavern dsr row v1"), message, hashlib.sha256).hexdigest()

"""Signed download links for an access package: seven days, and only for its requester.

A link is ``.../download?token=...``: the token is the case id and the moment the
link stops working, signed with Datavern's secret key (itsdangerous, HMAC-SHA256)
so that it cannot be changed or made up. The moment is fixed when the package is
ready (``closed_at`` + 7 days), so showing the status page again does not make a
fresh link: after seven days the package is gone (the reminder task deletes it).

A valid signature is not enough. The download also needs a live subject session
(verification.py) that proved the case's e-mail address: a link forwarded to
someone else, or read in a mail log, opens nothing for them. They are asked to
prove the address again, which they cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from itsdangerous import BadSignature, URLSafeSerializer

from datavern.core import clock
from datavern.core.config import get_settings

LINK_LIFETIME: Final = timedelta(days=7)
_SALT: Final = "datavern privacy-centre download v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().effective_secret_key(), salt=_SALT)


def expiry_of(ready_at: datetime) -> datetime:
    return ready_at + LINK_LIFETIME


def make_token(case_id: str, ready_at: datetime) -> str:
    expires = int(expiry_of(ready_at).timestamp())
    return str(_serializer().dumps({"c": case_id, "e": expires}))


@dataclass(frozen=True)
class LinkCheck:
    ok: bool
    reason: str = ""  # "invalid" | "expired" | "other_case"
    expires_at: datetime | None = None


def check_token(token: str, case_id: str) -> LinkCheck:
    """Whether ``token`` is a live link to ``case_id`` (the session is checked by the caller)."""
    if not token or len(token) > 500:
        return LinkCheck(False, "invalid")
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return LinkCheck(False, "invalid")
    if not isinstance(data, dict) or not isinstance(data.get("e"), int):
        return LinkCheck(False, "invalid")
    if data.get("c") != case_id:
        return LinkCheck(False, "other_case")
    expires = datetime.fromtimestamp(data["e"], tz=UTC)
    if expires <= clock.now():
        return LinkCheck(False, "expired", expires)
    return LinkCheck(True, "", expires)

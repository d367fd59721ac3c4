"""API tokens for systems: hashed, named, with scopes (DESIGN: Interfaces, Security).

A token is shown once when it is made (``dv_`` + 43 random URL-safe characters,
256 bits); Datavern keeps only its SHA-256. A plain hash is enough here because
the token is random and long: there is nothing to guess from a hash of 256
random bits, so a slow password hash would only cost time on every API call.

Scopes (docs/api.md):

* ``requests:read``: list and read data-subject requests;
* ``requests:write``: file a request on a subject's behalf;
* ``requests:decide``: approve, deny, extend (what an agent does);
* ``consent:read``: consent state, may-process answers, proof, texts;
* ``consent:write``: record and withdraw consent, unsubscribe headers.

``last_used_at`` is kept to the minute: a token used many times a second (a
system asking may-process on every use of a subject's data) writes it at most
once a minute, not on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import JSON, Connection, String, bindparam, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from datavern.core import audit, clock
from datavern.core.db import Base, UTCDateTime
from datavern.core.errors import InvalidInput, NotFound, Problem

SCOPES: Final[dict[str, str]] = {
    "requests:read": "list and read data-subject requests",
    "requests:write": "file data-subject requests",
    "requests:decide": "approve, deny and extend data-subject requests",
    "consent:read": "read consent state, may-process answers, proof and texts",
    "consent:write": "record and withdraw consent",
}
LAST_USED_PRECISION: Final = timedelta(minutes=1)
PREFIX: Final = "dv_"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True)
class TokenPrincipal:
    """Who is calling the API with a token (detached from the session)."""

    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def can(self, scope: str) -> bool:
        return scope in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scopes(values: list[str]) -> list[str]:
    """Scopes as given (repeated or comma-separated); InvalidInput names the unknown ones."""
    scopes: list[str] = []
    for value in values:
        scopes.extend(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise InvalidInput(
            Problem(
                f"unknown scope(s) {', '.join(unknown)}; scopes: {', '.join(SCOPES)}",
                path="scope",
            )
        )
    if not scopes:
        raise InvalidInput(Problem(f"give at least one scope: {', '.join(SCOPES)}", path="scope"))
    return sorted(set(scopes))


def create_token(session: Session, name: str, scopes: list[str], *, actor: str) -> str:
    """Make a token; returns the token itself (shown once, never stored)."""
    name = name.strip().lower()
    if not _NAME_RE.match(name):
        raise InvalidInput(
            Problem(
                "a token name has 1-64 characters: lower-case letters, digits, '.', '_', '-'",
                path="name",
            )
        )
    chosen = parse_scopes(scopes)
    if session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none():
        raise InvalidInput(Problem(f"a token named {name!r} exists; revoke it first", path="name"))
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            name=name,
            scopes=chosen,
            created_by=actor,
            created_at=clock.now(),
        )
    )
    audit.record(session, "token.create", f"api_token:{name}", {"scopes": chosen}, actor=actor)
    return token


def revoke_token(session: Session, name: str, *, actor: str) -> None:
    row = session.execute(
        select(ApiToken).where(ApiToken.name == name.strip().lower())
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise NotFound(f"no active token named {name!r}")
    row.revoked_at = clock.now()
    audit.record(session, "token.revoke", f"api_token:{row.name}", {}, actor=actor)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).order_by(ApiToken.name)).scalars())


def digest_of(token: str) -> str | None:
    """The hash a token is looked up by, or None when it cannot be one of ours."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    return hash_token(token)


def authenticate(session: Session, token: str) -> TokenPrincipal | None:
    """The token's principal, or None for an unknown or revoked token."""
    digest = digest_of(token)
    if digest is None:
        return None
    row = session.get(ApiToken, digest)
    if row is None or row.revoked_at is not None:
        return None
    # The lookup is by hash; compare again in constant time for good measure.
    if not hmac.compare_digest(row.token_hash, digest):
        return None
    now = clock.now()
    if stale_use(row.last_used_at, now):
        row.last_used_at = now
    return TokenPrincipal(row.name, frozenset(row.scopes))


def stale_use(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether ``last_used_at`` is worth writing again (kept to the minute)."""
    return last_used_at is None or now - last_used_at >= LAST_USED_PRECISION


def lookup_query(*extra: Any) -> Any:
    """A SELECT of a token's fields by ``:h`` (its hash), plus ``extra`` columns: the hot
    read path finds the token and other things it needs in one round trip."""
    return select(
        ApiToken.name,
        ApiToken.scopes,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        *extra,
    ).where(ApiToken.token_hash == bindparam("h"))


TOUCH: Final = (
    update(ApiToken)
    .where(ApiToken.token_hash == bindparam("h"))
    .values(last_used_at=bindparam("now"))
)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, else None."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


@dataclass(frozen=True)
class Admission:
    """The verdict on a token for one call: its principal (status 200), or None with 401
    (unknown or revoked) or 403 (without the scope); ``wrote``: its last use was
    written."""

    principal: TokenPrincipal | None
    status: int
    wrote: bool = False


def admit(conn: Connection, row: Any, digest: str, scope: str) -> Admission:
    """The verdict on a ``lookup_query`` row (None: no such token) for a call that needs
    ``scope``; an admitted token's last use is written on ``conn``, at most once a
    minute. The hot paths' version of ``authenticate``."""
    found = principal_of(row)
    if found is None:
        return Admission(None, 401)
    if not found.can(scope):
        return Admission(None, 403)
    now = clock.now()
    if not stale_use(row.last_used_at, now):
        return Admission(found, 200)
    conn.execute(TOUCH, {"h": digest, "now": now})
    return Admission(found, 200, wrote=True)


def principal_of(row: Any) -> TokenPrincipal | None:
    """The principal of a ``lookup_query`` row (None if unknown or revoked)."""
    if row is None or row.revoked_at is not None:
        return None
    return TokenPrincipal(row.name, frozenset(row.scopes))

"""Proving who is asking: a one-time code by e-mail, or a login at an OIDC issuer.

**The code** (GDPR art. 12(6): the controller may ask for what it needs to
confirm identity, and no more). Six digits, sent to the e-mail address the
request gives, valid 15 minutes, five tries. Stored only as an HMAC-SHA256
under a key derived from Datavern's secret key, bound to the case id: a copy of
the database alone does not give the code away (six digits without a key are
reversed by trying all million), and a code of one case is worth nothing for
another. After the fifth wrong code the case is locked and an agent sees why.
Sending a new code does not reset the count of wrong tries, so asking for new
codes does not buy more guesses.

**OIDC** (ID-porten, BankID through a broker, a company's own IdP). Configured
by ``DATAVERN_OIDC_ISSUER``, ``_CLIENT_ID``, ``_CLIENT_SECRET``,
``_REDIRECT_URI`` (and optionally ``_SCOPES``, ``_FNR_CLAIM``). The
authorization-code flow with PKCE (S256) and a nonce; the ID token is checked:
signature against the issuer's JWKS (RS256/ES256/PS256 only, never ``none`` or
an HMAC), ``iss`` equal to the discovered issuer, ``aud`` containing the client
id, ``exp`` in the future, ``iat`` present, ``nonce`` equal to ours. A login
verifies a case when the token carries one of the case's identities: the
fødselsnummer claim (``pid`` in ID-porten) equal to the ``fnr`` the request
gives, or ``email`` with ``email_verified: true`` equal to the request's
e-mail.

**Subject sessions.** A verified browser gets a random cookie; Datavern keeps
its SHA-256 and the keyed hash of the e-mail it proved. The status pages and
the package download look at that, never at anything in the URL alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete
from sqlalchemy.orm import Session

from datavern.core import clock
from datavern.core.config import get_settings
from datavern.core.errors import DatavernError
from datavern.dsr.case_models import SubjectSession

CODE_DIGITS: Final = 6
CODE_LIFETIME: Final = timedelta(minutes=15)
MAX_CODE_ATTEMPTS: Final = 5
# At most this many codes per case: a resend button is no way to mail-bomb someone.
MAX_CODES_SENT: Final = 5
SUBJECT_SESSION_LIFETIME: Final = timedelta(hours=12)
SUBJECT_COOKIE: Final = "datavern_subject"


def _key(label: str) -> bytes:
    secret = get_settings().effective_secret_key()
    return hmac.new(secret.encode("utf-8"), label.encode("ascii"), hashlib.sha256).digest()


# --------------------------------------------------------------------------- #
# One-time codes
# --------------------------------------------------------------------------- #


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(case_id: str, code: str) -> str:
    message = f"{case_id}\0{code}".encode()
    return hmac.new(_key("datavern pc code v1"), message, hashlib.sha256).hexdigest()


def normalise_code(text: str) -> str:
    """What a person types: spaces and dashes (``123 456``, ``123-456``) are ignored."""
    return "".join(c for c in text if c.isdigit())[: CODE_DIGITS + 2]


def code_matches(case_id: str, stored_hash: str | None, given: str) -> bool:
    code = normalise_code(given)
    if not stored_hash or len(code) != CODE_DIGITS:
        return False
    return hmac.compare_digest(stored_hash, code_hash(case_id, code))


def email_hash(address: str) -> str:
    """Keyed hash of a normalised e-mail address: finds a subject's cases, limits per identity."""
    message = address.strip().lower().encode()
    return hmac.new(_key("datavern pc email v1"), message, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- #
# Subject sessions
# --------------------------------------------------------------------------- #


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, email_digest: str, method: str) -> str:
    """A new subject session for the owner of ``email_digest``; returns the cookie value."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    # Expired sessions go when new ones are made: nothing else needs to sweep them.
    session.execute(delete(SubjectSession).where(SubjectSession.expires_at < now))
    session.add(
        SubjectSession(
            token_hash=_token_hash(token),
            email_hash=email_digest,
            method=method,
            created_at=now,
            expires_at=now + SUBJECT_SESSION_LIFETIME,
            revoked=False,
        )
    )
    return token


def session_identity(session: Session, token: str | None) -> str | None:
    """The e-mail hash a live subject session proved, or None."""
    if not token or len(token) > 200:
        return None
    row = session.get(SubjectSession, _token_hash(token))
    if row is None or row.revoked or row.expires_at <= clock.now():
        return None
    return row.email_hash


def end_session(session: Session, token: str | None) -> None:
    if token and len(token) <= 200:
        row = session.get(SubjectSession, _token_hash(token))
        if row is not None:
            row.revoked = True


# --------------------------------------------------------------------------- #
# OIDC
# --------------------------------------------------------------------------- #


class OidcSettings(BaseSettings):
    """``DATAVERN_OIDC_*``: the issuer subjects may log in with. No issuer: codes only."""

    model_config = SettingsConfigDict(env_prefix="DATAVERN_OIDC_", extra="ignore")

    issuer: str | None = Field(default=None, description="Issuer URL, e.g. ID-porten's.")
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = Field(
        default=None, description="Default: DATAVERN_BASE_URL + /personvern/oidc/callback."
    )
    scopes: str = "openid email"
    fnr_claim: str = Field(
        default="pid", description="The claim that holds the fødselsnummer (ID-porten: pid)."
    )
    display_name: str = "ID-porten"
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)

    def effective_redirect_uri(self) -> str:
        if self.redirect_uri:
            return self.redirect_uri
        return get_settings().base_url.rstrip("/") + "/personvern/oidc/callback"


class OidcError(DatavernError):
    """The login could not be completed; the message names the step, never a claim value."""


ALLOWED_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
_DISCOVERY_TTL: Final = 600.0
_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _get_json(url: str, settings: OidcSettings) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=settings.timeout)
    except httpx.HTTPError as exc:
        raise OidcError(f"the issuer could not be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise OidcError(f"the issuer answered {response.status_code} for {url}")
    try:
        data = response.json()
    except ValueError:
        raise OidcError(f"the issuer's answer from {url} is not JSON") from None
    if not isinstance(data, dict):
        raise OidcError(f"the issuer's answer from {url} is not a JSON object")
    return data


def discover(settings: OidcSettings) -> dict[str, Any]:
    """The issuer's OpenID configuration (cached ten minutes)."""
    assert settings.issuer
    issuer = settings.issuer.rstrip("/")
    cached = _discovery_cache.get(issuer)
    if cached and time.monotonic() - cached[0] < _DISCOVERY_TTL:
        return cached[1]
    config = _get_json(issuer + "/.well-known/openid-configuration", settings)
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(config.get(name), str):
            raise OidcError(f"the issuer's configuration lacks {name}")
    if config["issuer"].rstrip("/") != issuer:
        raise OidcError("the issuer's configuration names another issuer")
    _discovery_cache[issuer] = (time.monotonic(), config)
    return config


def _jwks(uri: str, settings: OidcSettings, *, refresh: bool = False) -> dict[str, Any]:
    cached = _jwks_cache.get(uri)
    if cached and not refresh and time.monotonic() - cached[0] < _DISCOVERY_TTL:
        return cached[1]
    keys = _get_json(uri, settings)
    _jwks_cache[uri] = (time.monotonic(), keys)
    return keys


def forget_issuers() -> None:
    """Drop cached discovery documents and key sets (tests start new issuers)."""
    _discovery_cache.clear()
    _jwks_cache.clear()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class LoginStart:
    url: str
    state: str
    nonce: str
    verifier: str


def start_login(settings: OidcSettings) -> LoginStart:
    """Where to send the browser, and what to remember until it comes back."""
    config = discover(settings)
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    challenge = _b64(hashlib.sha256(verifier.encode("ascii")).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": settings.effective_redirect_uri(),
            "scope": settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    endpoint = config["authorization_endpoint"]
    separator = "&" if "?" in endpoint else "?"
    return LoginStart(f"{endpoint}{separator}{query}", state, nonce, verifier)


def finish_login(settings: OidcSettings, code: str, verifier: str, nonce: str) -> dict[str, Any]:
    """Exchange the code (with the PKCE verifier) and return the verified ID token's claims."""
    import jwt

    config = discover(settings)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": settings.effective_redirect_uri(),
        "client_id": settings.client_id or "",
        "code_verifier": verifier,
    }
    auth = (settings.client_id or "", settings.client_secret) if settings.client_secret else None
    try:
        response = httpx.post(
            config["token_endpoint"], data=form, auth=auth, timeout=settings.timeout
        )
    except httpx.HTTPError as exc:
        raise OidcError(f"the token endpoint could not be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise OidcError(f"the token endpoint refused the code ({response.status_code})")
    try:
        id_token = response.json().get("id_token")
    except ValueError:
        id_token = None
    if not isinstance(id_token, str):
        raise OidcError("the token endpoint sent no ID token")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise OidcError("the ID token is not a JWT") from None
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise OidcError(f"the ID token's algorithm {algorithm!r} is not accepted")
    key = _signing_key(config["jwks_uri"], header.get("kid"), settings)
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key=key,
            algorithms=[algorithm],
            audience=settings.client_id,
            issuer=config["issuer"],
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            leeway=30,
        )
    except jwt.ExpiredSignatureError:
        raise OidcError("the ID token has expired") from None
    except jwt.InvalidAudienceError:
        raise OidcError("the ID token was issued for another client (aud)") from None
    except jwt.InvalidIssuerError:
        raise OidcError("the ID token comes from another issuer (iss)") from None
    except jwt.InvalidSignatureError:
        raise OidcError("the ID token's signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise OidcError(f"the ID token is not valid ({type(exc).__name__})") from None
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise OidcError("the ID token's nonce does not match this login")
    return claims


def _signing_key(uri: str, kid: str | None, settings: OidcSettings) -> Any:
    import jwt

    for refresh in (False, True):  # a key rotated since we cached the set: fetch it again
        try:
            keyset = jwt.PyJWKSet.from_dict(_jwks(uri, settings, refresh=refresh))
        except jwt.PyJWTError:
            raise OidcError("the issuer's key set cannot be read") from None
        for key in keyset.keys:
            if kid is None or key.key_id == kid:
                return key.key
    raise OidcError("the ID token is signed with a key the issuer does not publish")


def claims_match(
    claims: dict[str, Any], identities: dict[str, list[str]], email: str, settings: OidcSettings
) -> str | None:
    """Which identity the login proves ("fnr" or "email"), or None."""
    from datavern.dsr.rules import IdentityError, parse_identity

    value = claims.get(settings.fnr_claim)
    if isinstance(value, str) and identities.get("fnr"):
        try:
            fnr = parse_identity("fnr", value).value
        except IdentityError:
            fnr = None
        if fnr is not None and any(hmac.compare_digest(fnr, f) for f in identities["fnr"]):
            return "fnr"
    claimed = claims.get("email")
    if (
        isinstance(claimed, str)
        and claims.get("email_verified") is True
        and hmac.compare_digest(claimed.strip().lower(), email.strip().lower())
    ):
        return "email"
    return None

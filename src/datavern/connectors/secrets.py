"""Connection URLs encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key lives only in the environment, ``DATAVERN_CONNECTION_KEY``, never in the
database next to what it protects: a copy of Datavern's database alone does not
reveal a single database password. Several keys may be given, separated by
commas, to rotate: the first encrypts, all of them decrypt.
"""

from __future__ import annotations

import os
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from datavern.connectors.base import ConnectorError
from datavern.core.errors import InvalidInput

KEY_ENV = "DATAVERN_CONNECTION_KEY"

# Query parameters that may carry a secret; shown masked like the password.
_SECRET_QUERY_WORDS = ("password", "passwd", "pwd", "secret", "token", "key")


class MissingKey(ConnectorError):
    exit_code = 2

    def __init__(self) -> None:
        super().__init__(
            f"{KEY_ENV} is not set. Datavern stores connection URLs encrypted with this key. "
            "Create one with `datavern connection keygen`, set it in the environment "
            f"(export {KEY_ENV}=<key>) of every Datavern process, and keep a copy in your "
            "secret store: without it stored connections cannot be read."
        )


class WrongKey(ConnectorError):
    exit_code = 2


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _cipher() -> MultiFernet:
    raw = os.environ.get(KEY_ENV, "").strip()
    if not raw:
        raise MissingKey()
    keys = []
    for number, part in enumerate((p.strip() for p in raw.split(",")), start=1):
        try:
            keys.append(Fernet(part.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise WrongKey(
                f"{KEY_ENV} key number {number} is not a Fernet key (32 bytes, url-safe "
                "base64, 44 characters); create one with `datavern connection keygen`"
            ) from None
    return MultiFernet(keys)


def encrypt(plain: str) -> str:
    return _cipher().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, what: str) -> str:
    """Decrypt `token`; `what` names the secret in the error (e.g. "connection 'crm'")."""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise WrongKey(
            f"the URL of {what} cannot be decrypted with {KEY_ENV}: it was stored with "
            "another key. Set the key that was in use when the connection was added "
            "(several keys may be given, comma-separated), or add the connection again "
            "with --replace."
        ) from None


def reencrypt(token: str, *, what: str) -> str:
    """The same secret encrypted with the first key (after a key change)."""
    try:
        return _cipher().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        decrypt(token, what=what)  # raises WrongKey with the explanation
        raise


def parse_url(url: str) -> URL:
    """Parse a database URL; the error never repeats the URL (it may hold a password)."""
    try:
        return make_url(url.strip())
    except ArgumentError:
        raise InvalidInput(
            "the connection URL is not a database URL; expected e.g. "
            "postgresql://user:password@host:5432/dbname"
        ) from None


def masked_url(url: URL | str) -> str:
    """The URL fit to show: password and secret-looking query parameters as ***."""
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.query:
        query = {
            name: ("***" if any(w in name.lower() for w in _SECRET_QUERY_WORDS) else value)
            for name, value in parsed.query.items()
        }
        parsed = parsed.set(query=query)
    return parsed.render_as_string(hide_password=True)


def scrub(message: str, url: URL) -> str:
    """Remove every trace of the URL's secrets from a driver's message."""
    secrets = [url.render_as_string(hide_password=False)]
    if url.password:
        password = str(url.password)
        secrets.extend([password, quote(password, safe=""), quote_plus(password)])
    for name, value in url.query.items():
        if any(w in name.lower() for w in _SECRET_QUERY_WORDS):
            secrets.extend([value] if isinstance(value, str) else list(value))
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            message = message.replace(secret, "***")
    return message

"""OIDC login against a provider the test starts on localhost: the authorization-code
flow with PKCE, and every check of the ID token (signature by the issuer's JWKS, iss,
aud, exp, nonce); a token that fails any of them verifies nobody."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from datavern.dsr import verification
from oidc_provider import Provider, oidc_provider  # noqa: F401

FNR = "01010012356"  # a valid test fødselsnummer (check digits right)


def authorize(provider: Provider) -> tuple[verification.LoginStart, str]:
    """Start a login and let the provider send the browser back: (start, code)."""
    settings = verification.OidcSettings()
    start = verification.start_login(settings)
    query = parse_qs(urlparse(start.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [start.state] and query["nonce"] == [start.nonce]
    assert start.verifier not in start.url  # only the challenge travels through the browser
    answer = httpx.get(start.url, follow_redirects=False)
    assert answer.status_code == 302
    back = parse_qs(urlparse(answer.headers["location"]).query)
    assert back["state"] == [start.state]
    return start, back["code"][0]


def test_a_login_returns_the_verified_claims(oidc_provider: Provider) -> None:  # noqa: F811
    oidc_provider.user = {"pid": FNR, "email": "ola@example.no", "email_verified": True}
    start, code = authorize(oidc_provider)
    claims = verification.finish_login(
        verification.OidcSettings(), code, start.verifier, start.nonce
    )
    assert claims["pid"] == FNR and claims["iss"] == oidc_provider.issuer
    sent = oidc_provider.token_requests[-1]
    assert sent["code_verifier"] == start.verifier and sent["grant_type"] == "authorization_code"
    settings = verification.OidcSettings()
    assert verification.claims_match(claims, {"fnr": [FNR]}, "x@example.no", settings) == "fnr"
    assert (
        verification.claims_match(claims, {"email": ["ola@example.no"]}, "ola@example.no", settings)
        == "email"
    )
    assert verification.claims_match(claims, {"fnr": ["17054026641"]}, "x@y.no", settings) is None


def test_an_unverified_email_claim_proves_nothing(oidc_provider: Provider) -> None:  # noqa: F811
    claims = {"email": "ola@example.no", "email_verified": False}
    settings = verification.OidcSettings()
    assert verification.claims_match(claims, {}, "ola@example.no", settings) is None


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("aud", "another client"),
        ("iss", "another issuer"),
        ("nonce", "nonce"),
        ("expired", "expired"),
        ("foreign_key", "signature"),
        ("none", "algorithm"),
    ],
)
def test_a_bad_id_token_is_refused(
    oidc_provider: Provider,  # noqa: F811
    tamper: str,
    message: str,
) -> None:
    oidc_provider.user = {"pid": FNR}
    oidc_provider.tamper = tamper
    start, code = authorize(oidc_provider)
    with pytest.raises(verification.OidcError) as caught:
        verification.finish_login(verification.OidcSettings(), code, start.verifier, start.nonce)
    assert message in str(caught.value)
    assert FNR not in str(caught.value)


def test_a_wrong_pkce_verifier_gets_no_token(oidc_provider: Provider) -> None:  # noqa: F811
    start, code = authorize(oidc_provider)
    with pytest.raises(verification.OidcError, match="refused the code"):
        verification.finish_login(verification.OidcSettings(), code, "x" * 64, start.nonce)


def test_a_code_works_once(oidc_provider: Provider) -> None:  # noqa: F811
    start, code = authorize(oidc_provider)
    settings = verification.OidcSettings()
    verification.finish_login(settings, code, start.verifier, start.nonce)
    with pytest.raises(verification.OidcError):
        verification.finish_login(settings, code, start.verifier, start.nonce)


def test_an_unreachable_issuer_is_an_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVERN_OIDC_ISSUER", "http://127.0.0.1:9")
    monkeypatch.setenv("DATAVERN_OIDC_CLIENT_ID", "x")
    verification.forget_issuers()
    with pytest.raises(verification.OidcError, match="could not be reached"):
        verification.start_login(verification.OidcSettings())

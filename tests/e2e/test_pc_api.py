"""/api/v1/requests: tokens with scopes, session callers with CSRF, every endpoint, and an
OpenAPI document that describes every field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webhelpers import TestClient, add_user, csrf_of, login

from datavern.accounts import tokens
from datavern.core.db import session_scope
from dsr_fixtures import OLA, Shop, sqlite_shop  # noqa: F401


@pytest.fixture
def api(sqlite_shop: Shop) -> Iterator[TestClient]:  # noqa: F811
    from datavern.core.config import get_settings
    from datavern.web.app import create_app

    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def token(*scopes: str, name: str = "portal") -> dict[str, str]:
    with session_scope() as session:
        value = tokens.create_token(session, name, list(scopes), actor="test")
    return {"Authorization": f"Bearer {value}"}


def test_a_system_files_reads_and_decides_with_scoped_tokens(api: TestClient) -> None:
    writer = token("requests:write", name="portal")
    reader = token("requests:read", name="reports")
    decider = token("requests:read", "requests:decide", name="backoffice")
    created = api.post(
        "/api/v1/requests",
        json={"kind": "access", "email": OLA, "identity_verified": True},
        headers=writer,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "verified" and body["verification_method"] == "token:portal"
    assert body["channel"] == "api" and body["email"] is None
    case_id = body["id"]
    # Reading: identity values only for a caller who may decide.
    seen = api.get(f"/api/v1/requests/{case_id}", headers=reader).json()
    assert seen["identity_types"] == ["email"] and seen["email"] is None
    assert api.get(f"/api/v1/requests/{case_id}", headers=decider).json()["email"] == OLA
    listed = api.get("/api/v1/requests?status=verified", headers=reader).json()
    assert listed["total"] == 1 and listed["counts"]["open"] == 1
    # Scopes are enforced.
    assert api.post(f"/api/v1/requests/{case_id}/approve", headers=reader).status_code == 403
    assert api.get("/api/v1/requests", headers=writer).status_code == 403
    done = api.post(f"/api/v1/requests/{case_id}/approve", headers=decider)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["engine_request"]


def test_deny_and_extend_through_the_api(api: TestClient) -> None:
    both = {**token("requests:write", "requests:decide", "requests:read")}
    first = api.post(
        "/api/v1/requests",
        json={"kind": "erasure", "email": OLA, "identity_verified": True},
        headers=both,
    ).json()["id"]
    short = api.post(f"/api/v1/requests/{first}/deny", json={"reason": "nei"}, headers=both)
    assert short.status_code == 422
    extended = api.post(
        f"/api/v1/requests/{first}/extend",
        json={"reason": "Mange systemer å gå gjennom.", "months": 1},
        headers=both,
    )
    assert extended.status_code == 200 and extended.json()["extended"] is True
    denied = api.post(
        f"/api/v1/requests/{first}/deny",
        json={"reason": "Opplysningene må beholdes etter bokføringsloven."},
        headers=both,
    )
    assert denied.json()["status"] == "denied"
    again = api.post(f"/api/v1/requests/{first}/approve", headers=both)
    assert again.status_code == 409 and again.json()["code"] == "closed"
    assert api.get("/api/v1/requests/" + "0" * 32, headers=both).status_code == 404


def test_invalid_fields_are_named_without_their_values(api: TestClient) -> None:
    writer = token("requests:write")
    answer = api.post(
        "/api/v1/requests",
        json={"kind": "access", "email": OLA, "fnr": "17058012320"},
        headers=writer,
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "fnr"
    assert "17058012320" not in answer.text
    assert api.post("/api/v1/requests", json={"kind": "x"}, headers=writer).status_code == 422


def test_unknown_revoked_and_missing_tokens_are_refused(api: TestClient) -> None:
    good = token("requests:read", name="old")
    assert api.get("/api/v1/requests", headers=good).status_code == 200
    with session_scope() as session:
        tokens.revoke_token(session, "old", actor="test")
    assert api.get("/api/v1/requests", headers=good).status_code == 401
    fake = {"Authorization": "Bearer dv_" + "x" * 43}
    assert api.get("/api/v1/requests", headers=fake).status_code == 401
    assert api.get("/api/v1/requests").status_code == 401


def test_a_logged_in_agent_uses_the_api_with_the_csrf_header(api: TestClient) -> None:
    add_user("agent-api", "agent")
    login(api, "agent-api")
    page = api.get("/admin/requests")
    body = {"kind": "access", "email": OLA, "identity_verified": True}
    assert api.post("/api/v1/requests", json=body).status_code == 403
    made = api.post("/api/v1/requests", json=body, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert made.status_code == 201 and made.json()["verification_method"] == "agent"
    assert api.get("/api/v1/requests").json()["total"] == 1


def test_the_openapi_document_describes_every_field(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"/api/v1/requests", "/api/v1/requests/{request_id}"} <= set(paths)
    for action in ("approve", "deny", "extend"):
        assert f"/api/v1/requests/{{request_id}}/{action}" in paths
    components = schema["components"]["schemas"]
    names = [
        "RequestCreate",
        "RequestOut",
        "RequestList",
        "Counts",
        "TaskOut",
        "Correction",
        "ApproveBody",
        "DenyBody",
        "ExtendBody",
    ]
    undocumented = [
        f"{name}.{field}"
        for name in names
        for field, spec in components[name]["properties"].items()
        if not spec.get("description")
    ]
    assert undocumented == []
    for parameter in paths["/api/v1/requests"]["get"]["parameters"]:
        assert parameter.get("description"), parameter["name"]


def test_a_refused_body_names_the_fields_but_never_repeats_their_values(
    api: TestClient,
) -> None:
    writer = token("requests:write")
    fnr = "01017012345"
    refused = api.post(
        "/api/v1/requests",
        json={"email": OLA, "fnr": fnr, "kind": "no-such-kind", "identity_verified": "maybe"},
        headers=writer,
    )
    assert refused.status_code == 422
    problems = refused.json()["detail"]
    assert {tuple(p["loc"]) for p in problems} >= {("body", "kind")}
    assert all(set(p) == {"loc", "msg", "type"} for p in problems)
    assert OLA not in refused.text and fnr not in refused.text and "maybe" not in refused.text

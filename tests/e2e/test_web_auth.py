"""Admin login, sessions, CSRF and roles (ASGI client, real database)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from webhelpers import PASSWORD, TestClient, add_user, csrf_of, login

from datavern.accounts.models import User, WebSession
from datavern.core import clock
from datavern.core.config import Settings
from datavern.core.db import session_scope
from datavern.web.app import create_app


def _login_post(client: TestClient, username: str, password: str) -> object:
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )


def test_pages_redirect_to_login_when_logged_out(client: TestClient) -> None:
    response = client.get("/admin/register?version=1")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?notice=login_required")
    assert "next=/admin/register%3Fversion%3D1" in response.headers["location"]


def test_login_success_sets_a_safe_session_cookie(client: TestClient) -> None:
    add_user("kari", "admin")
    response = _login_post(client, "kari", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("datavern_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=28800" in cookie
    assert "Secure" not in cookie
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    with session_scope() as session:
        stored = session.execute(select(WebSession)).scalar_one()
    assert stored.id_hash != token  # only its hash is stored
    page = client.get("/admin")
    assert page.status_code == 200 and "kari" in page.text


def test_secure_cookie_under_https_only(settings: Settings) -> None:
    add_user("kari", "admin")
    app = create_app(settings.model_copy(update={"https_only": True}))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        response = _login_post(c, "kari", PASSWORD)
        assert response.status_code == 303
        cookies = response.headers.get_list("set-cookie")
        assert all("Secure" in c for c in cookies)
        assert "strict-transport-security" in response.headers


@pytest.mark.parametrize(
    ("username", "password"), [("kari", "wrong password!"), ("nobody", PASSWORD)]
)
def test_login_failure_is_generic(client: TestClient, username: str, password: str) -> None:
    add_user("kari", "admin")
    response = _login_post(client, username, password)
    assert response.status_code == 401
    assert "Feil brukernavn eller passord." in response.text
    assert 'aria-describedby="login-error"' in response.text
    assert "datavern_session" not in response.headers.get("set-cookie", "")
    assert client.get("/admin").status_code == 303


def test_disabled_user_cannot_log_in(client: TestClient) -> None:
    add_user("kari", "admin")
    add_user("ola", "viewer")
    with session_scope() as session:
        user = session.execute(select(User).where(User.username == "ola")).scalar_one()
        user.active = False
    assert _login_post(client, "ola", PASSWORD).status_code == 401


def test_login_without_the_csrf_pair_is_refused(client: TestClient) -> None:
    add_user("kari", "admin")
    page = client.get("/admin/login")
    token = csrf_of(page.text)
    # no token in the form
    response = client.post("/admin/login", data={"username": "kari", "password": PASSWORD})
    assert response.status_code == 403
    # a token that does not belong to the cookie
    response = client.post(
        "/admin/login",
        data={"username": "kari", "password": PASSWORD, "csrf_token": "0" * 64},
    )
    assert response.status_code == 403
    # the right token but without the pre-session cookie (a cross-site form post)
    client.cookies.clear()
    response = client.post(
        "/admin/login", data={"username": "kari", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403
    assert client.get("/admin").status_code == 303


def test_login_is_throttled_per_client_after_ten_failures(client: TestClient) -> None:
    add_user("kari", "admin")
    for _ in range(10):
        assert _login_post(client, "kari", "wrong password!").status_code == 401
    # even the right password is refused while the client is blocked
    response = _login_post(client, "kari", PASSWORD)
    assert response.status_code == 429
    assert "For mange mislykkede" in response.text


def test_throttle_lifts_after_the_window(client: TestClient) -> None:
    add_user("kari", "admin")
    fixed = clock.FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    previous = clock.use_clock(fixed)
    try:
        for _ in range(10):
            _login_post(client, "kari", "wrong password!")
        assert _login_post(client, "kari", PASSWORD).status_code == 429
        fixed.set(datetime(2026, 3, 2, 8, 5, 1, tzinfo=UTC))
        assert _login_post(client, "kari", PASSWORD).status_code == 303
    finally:
        clock.use_clock(previous)


def test_open_redirect_is_refused(client: TestClient) -> None:
    add_user("kari", "admin")
    page = client.get("/admin/login?next=//evil.example/admin")
    response = client.post(
        "/admin/login",
        data={
            "username": "kari",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "https://evil.example/",
        },
    )
    assert response.headers["location"] == "/admin"


def test_login_returns_to_the_page_asked_for(client: TestClient) -> None:
    add_user("kari", "admin")
    page = client.get("/admin/login?next=/admin/map")
    response = client.post(
        "/admin/login",
        data={
            "username": "kari",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/admin/map",
        },
    )
    assert response.headers["location"] == "/admin/map"


def test_logout_needs_csrf_and_ends_the_session(client: TestClient) -> None:
    add_user("kari", "admin")
    login(client, "kari")
    page = client.get("/admin")
    assert client.post("/admin/logout").status_code == 403
    assert client.post("/admin/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.get("/admin").status_code == 200  # still logged in
    old_cookie = client.cookies.get("datavern_session")
    response = client.post("/admin/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?notice=logged_out"
    assert client.get("/admin").status_code == 303
    # the old cookie value is dead on the server, not only deleted in the browser
    client.cookies.set("datavern_session", old_cookie or "")
    assert client.get("/admin").status_code == 303
    with session_scope() as session:
        assert session.execute(select(WebSession)).first() is None


def test_session_expires_after_eight_hours(client: TestClient) -> None:
    add_user("kari", "admin")
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    fixed = clock.FixedClock(start)
    previous = clock.use_clock(fixed)
    try:
        login(client, "kari")
        fixed.set(start + timedelta(hours=7, minutes=59))
        assert client.get("/admin").status_code == 200
        fixed.set(start + timedelta(hours=8))
        assert client.get("/admin").status_code == 303
    finally:
        clock.use_clock(previous)


def test_every_admin_post_rejects_a_missing_csrf_token(
    app: object, logged_in: Callable[[str], TestClient]
) -> None:
    from fastapi.routing import APIRoute

    def walk(routes: list[object]) -> list[APIRoute]:
        found: list[APIRoute] = []
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            inner = getattr(route, "original_router", None) or getattr(route, "router", None)
            if inner is not None and hasattr(inner, "routes"):
                found.extend(walk(inner.routes))
        return found

    client = logged_in("admin")
    other = add_user("ola", "viewer")
    posts = [
        r.path.replace("{user_id}", str(other))
        for r in walk(app.routes)  # type: ignore[attr-defined]
        if "POST" in r.methods and r.path.startswith("/admin") and r.path != "/admin/login"
    ]
    assert len(posts) >= 6
    for path in posts:
        response = client.post(path, data={"role": "admin", "username": "x"})
        assert response.status_code == 403, path
        assert "Skjemaet kunne ikke sendes" in response.text


def test_viewer_cannot_add_users(logged_in: Callable[[str], TestClient]) -> None:
    client = logged_in("viewer")
    assert client.get("/admin/users").status_code == 403
    page = client.get("/admin")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "mallory",
            "role": "admin",
            "password": "et annet langt passord",
        },
    )
    assert response.status_code == 403
    assert "Ingen tilgang" in response.text
    with session_scope() as session:
        assert session.execute(select(User).where(User.username == "mallory")).first() is None


@pytest.mark.parametrize(
    ("role", "audit", "users"),
    [
        ("viewer", 403, 403),
        ("agent", 403, 403),
        ("privacy_officer", 200, 403),
        ("admin", 200, 200),
    ],
)
def test_role_access(
    logged_in: Callable[[str], TestClient], role: str, audit: int, users: int
) -> None:
    client = logged_in(role)
    for path in ("/admin", "/admin/register", "/admin/map", "/admin/notices"):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/audit").status_code == audit
    assert client.get("/admin/users").status_code == users
    nav = client.get("/admin").text
    assert ('href="/admin/users"' in nav) is (users == 200)


def test_api_needs_a_session(client: TestClient) -> None:
    assert client.get("/api/v1/register/versions").status_code == 401
    add_user("kari", "viewer")
    login(client, "kari")
    response = client.get("/api/v1/register/versions")
    assert response.status_code == 200 and response.json() == []

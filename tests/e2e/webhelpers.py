"""Helpers for the web tests (imported by name: tests/e2e is on sys.path)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from starlette.exceptions import StarletteDeprecationWarning

from datavern.accounts import service as accounts
from datavern.core.db import session_scope
from datavern.register.loader import load_register
from datavern.register.service import apply_register

# Starlette's TestClient wants the httpx2 package and warns (an error under our
# pytest settings) when it finds only httpx, which is what the lock file pins.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
REGISTERS = REPO / "tests" / "fixtures" / "registers"
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "et langt og trygt testpassord"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def add_user(username: str, role: str, password: str = PASSWORD) -> int:
    with session_scope() as session:
        return accounts.create_user(session, username, password, role, actor="test").id


def apply_fixture(name: str) -> int:
    loaded = load_register(REGISTERS / name)
    with session_scope() as session:
        return apply_register(session, loaded, "test", f"fixture {name}").version.number


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text

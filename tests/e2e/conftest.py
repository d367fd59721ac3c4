"""Fixtures for the web tests: an app on the test's own database, users, a logged-in
client, applied fixture registers, and a real server for the browser tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from webhelpers import TestClient, add_user, login

from datavern.core.config import Settings, get_settings
from datavern.core.db import migrate


@pytest.fixture
def settings(datavern_home: Path) -> Settings:
    migrate()
    return get_settings()


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from datavern.web.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def logged_in(client: TestClient) -> Callable[[str], TestClient]:
    """Log the client in as a new user with the given role."""

    def make(role: str) -> TestClient:
        add_user(f"{role.replace('_', '-')}-user", role)
        login(client, f"{role.replace('_', '-')}-user")
        return client

    return make


# --- a real server for the browser tests -----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """Uvicorn serving the test's app in a thread on a free localhost port."""
    import uvicorn

    from datavern.web.app import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a browser Playwright downloads)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install it with `make browser-deps`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()

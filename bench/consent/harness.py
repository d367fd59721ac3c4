"""What profile_read.py and profile_append.py share: the database they use (the one a
run of run.py left, or DATAVERN_DATABASE_URL), an API token, one request on the ASGI
app called directly (no HTTP, no load generator), and the measurement: CPU and wall
time per request of N requests one after another, then the same N under cProfile."""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOME = REPO / "bench" / ".work" / "consent-sqlite"


def use_bench_database() -> None:
    """Point Datavern at run.py's SQLite database unless DATAVERN_DATABASE_URL is set;
    call before importing anything of Datavern."""
    os.environ.setdefault("DATAVERN_DATA_DIR", str(HOME))
    os.environ.setdefault("DATAVERN_DATABASE_URL", f"sqlite:///{HOME / 'datavern.db'}")


def token(scope: str) -> bytes:
    """The Authorization header's value for a new API token with ``scope``."""
    from datavern.accounts import tokens
    from datavern.core.db import session_scope

    with session_scope() as session:
        value = tokens.create_token(
            session, f"profile-{secrets.token_hex(4)}", [scope], actor="bench"
        )
    return f"Bearer {value}".encode()


async def call(
    app: Any,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    query: bytes = b"",
    body: bytes = b"",
) -> int:
    """One request on the ASGI app; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    status = 0

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]

    await app(scope, receive, send)
    return status


def measure(
    label: str,
    one: Callable[[], Awaitable[int]],
    expected: int,
    n: int,
    *,
    warm: int = 100,
    profile: bool = True,
) -> None:
    """Print wall and CPU time per request of ``n`` calls of ``one`` (after ``warm``),
    then, with ``profile``, the same ``n`` under cProfile (SORT, TOP and CALLERS from
    the environment). CPU time counts every thread of the process; cProfile sees only
    this one."""

    async def many(k: int) -> None:
        for _ in range(k):
            status = await one()
            assert status == expected, status

    asyncio.run(many(warm))
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(many(n))
    wall_us = (time.perf_counter() - start) / n * 1e6
    cpu_us = (time.process_time() - cpu) / n * 1e6
    print(f"{label}: {wall_us:.0f} us per request in process, {cpu_us:.0f} us of it CPU")
    if not profile:
        return
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(many(n))
    profiler.disable()
    if os.environ.get("CALLERS"):
        pstats.Stats(profiler).print_callers(os.environ["CALLERS"])
        return
    pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
        int(os.environ.get("TOP", "45"))
    )

"""Profile ledger appends through the API in process (no HTTP, no load generator):
``POST /api/v1/consent/records`` on the ASGI app called directly, N times one after
another, with an API token with ``consent:write``, under cProfile. FastAPI's hop to a
thread pool for the sync endpoint and its dependency is run inline so the profile sees
the work. Uses the database a run of run.py left in bench/.work/consent-sqlite (or
DATAVERN_DATABASE_URL, e.g. the PostgreSQL database datavern_bench_consent).

    .venv/bin/python bench/consent/profile_append.py [N]
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import random
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOME = REPO / "bench" / ".work" / "consent-sqlite"
os.environ.setdefault("DATAVERN_DATA_DIR", str(HOME))
os.environ.setdefault("DATAVERN_DATABASE_URL", f"sqlite:///{HOME / 'datavern.db'}")


async def _inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def main() -> None:
    import fastapi.dependencies.utils
    import fastapi.routing

    from datavern.accounts import tokens
    from datavern.core.db import session_scope
    from datavern.web.app import create_app

    fastapi.routing.run_in_threadpool = _inline  # type: ignore[attr-defined]
    fastapi.dependencies.utils.run_in_threadpool = _inline  # type: ignore[attr-defined]

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with session_scope() as session:
        token = tokens.create_token(
            session, f"profile-{secrets.token_hex(4)}", ["consent:write"], actor="bench"
        )
    app: Any = create_app()
    path = "/api/v1/consent/records"
    auth = f"Bearer {token}".encode()
    rng = random.Random(5)
    count = 0

    async def one() -> int:
        nonlocal count
        count += 1
        body = json.dumps(
            {
                "subject": f"account:{rng.randrange(1000)}",
                "purpose": "nyhetsbrev",
                "decision": "grant" if count % 2 else "withdraw",
                "method": "form_checkbox",
                "collection_point": "https://bench.example/skjema",
                "ip": "192.0.2.10",
                "user_agent": "bench-profile",
            }
        ).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"authorization", auth),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
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

    async def many(k: int) -> None:
        for _ in range(k):
            status = await one()
            assert status == 201, status

    asyncio.run(many(100))  # warm
    start = time.perf_counter()
    cpu = time.process_time()
    asyncio.run(many(n))
    wall = (time.perf_counter() - start) / n * 1e6
    print(
        f"POST {path}: {wall:.0f} us per append in process, "
        f"{(time.process_time() - cpu) / n * 1e6:.0f} us of CPU"
    )
    profile = cProfile.Profile()
    profile.enable()
    asyncio.run(many(n))
    profile.disable()
    if os.environ.get("CALLERS"):
        pstats.Stats(profile).print_callers(os.environ["CALLERS"])
        return
    pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
        int(os.environ.get("TOP", "45"))
    )


if __name__ == "__main__":
    main()

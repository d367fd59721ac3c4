"""Profile one kind of consent read in process (no HTTP, no load generator): the ASGI app
called directly, N times, under cProfile. Uses the database a run of run.py left in
bench/.work/consent-sqlite (or DATAVERN_DATABASE_URL).

    .venv/bin/python bench/consent/profile_read.py [may-process|state|reference] [N]

``reference`` times reference_app.py the same way (no profile): the CPU cost of a
request without HTTP, which a loaded machine distorts much less than requests/s.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOME = REPO / "bench" / ".work" / "consent-sqlite"
os.environ.setdefault("DATAVERN_DATA_DIR", str(HOME))
os.environ.setdefault("DATAVERN_DATABASE_URL", f"sqlite:///{HOME / 'datavern.db'}")


def main() -> None:
    from datavern.accounts import tokens
    from datavern.core.db import session_scope
    from datavern.web.app import create_app

    what = sys.argv[1] if len(sys.argv) > 1 else "may-process"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    with session_scope() as session:
        token = tokens.create_token(
            session, f"profile-{secrets.token_hex(4)}", ["consent:read"], actor="bench"
        )
    app: Any = create_app()
    path = f"/api/v1/consent/{what}"
    if what == "reference":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import reference_app

        app, path = reference_app.app, "/state"
    auth = f"Bearer {token}".encode()
    rng = random.Random(5)

    async def one() -> int:
        query = f"subject=account:{rng.randrange(1000)}&purpose=statistikk".encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", auth)],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        status = 0

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]

        await app(scope, receive, send)  # type: ignore[arg-type]
        return status

    async def many(k: int) -> None:
        for _ in range(k):
            status = await one()
            assert status == 200, status

    asyncio.run(many(200))  # warm
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(many(n))
    wall_us = (time.perf_counter() - start) / n * 1e6
    cpu_us = (time.process_time() - cpu) / n * 1e6
    print(f"{what}: {wall_us:.0f} us per request in process, {cpu_us:.0f} us of it CPU")
    if what == "reference":
        return
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

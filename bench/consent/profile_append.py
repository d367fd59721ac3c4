"""Profile ledger appends through the API in process (no HTTP, no load generator):
``POST /api/v1/consent/records`` on the ASGI app called directly, N times one after
another, with an API token with ``consent:write``. The CPU figure counts the whole
append; the cProfile listing shows the request's side (routing, the body, handing the
decision over and waiting), since the append itself runs on the group appender's
thread (consent/appender.py), which cProfile does not see. Uses the database a run of
run.py left in bench/.work/consent-sqlite (or DATAVERN_DATABASE_URL, e.g. the
PostgreSQL database datavern_bench_consent).

    .venv/bin/python bench/consent/profile_append.py [N]
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

import harness

harness.use_bench_database()


def main() -> None:
    from datavern.web.app import create_app

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    auth = harness.token("consent:write")
    app: Any = create_app()
    path = "/api/v1/consent/records"
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
        headers = [
            (b"authorization", auth),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        return await harness.call(app, "POST", path, headers, body=body)

    harness.measure(f"POST {path}", one, 201, n)


if __name__ == "__main__":
    main()

"""Profile one kind of consent read in process (no HTTP, no load generator): the ASGI app
called directly, N times, under cProfile. Uses the database a run of run.py left in
bench/.work/consent-sqlite (or DATAVERN_DATABASE_URL).

    .venv/bin/python bench/consent/profile_read.py [may-process|state|reference] [N]

``reference`` times reference_app.py the same way (no profile): the CPU cost of a
request without HTTP, which a loaded machine distorts much less than requests/s.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import harness

harness.use_bench_database()


def main() -> None:
    from datavern.web.app import create_app

    what = sys.argv[1] if len(sys.argv) > 1 else "may-process"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    auth = harness.token("consent:read")
    app: Any = create_app()
    path = f"/api/v1/consent/{what}"
    if what == "reference":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import reference_app

        app, path = reference_app.app, "/state"
    rng = random.Random(5)

    async def one() -> int:
        query = f"subject=account:{rng.randrange(1000)}&purpose=statistikk".encode()
        return await harness.call(app, "GET", path, [(b"authorization", auth)], query)

    harness.measure(what, one, 200, n, warm=200, profile=what != "reference")


if __name__ == "__main__":
    main()

"""Privacy-centre benchmark (issue 4, "Numbers").

1. **Page server time.** The privacy centre's pages (the form, the code page, a
   request's status page, the English form) and the agent's queue and request
   page, served by uvicorn on 127.0.0.1 from a thread of this process, with
   1,000 requests already in the database. Server time is measured inside the
   server (an ASGI wrapper around the app, from the first byte in to the last
   byte out), so the client's own time is not counted; p50 and p95 per page,
   beside ``/healthz`` (one database query) as the reference. The time the
   client observes (httpx, keep-alive) is printed beside it, and the load
   average, since the machine may be shared.
2. **Submissions under load.** A uvicorn server in its own process on
   127.0.0.1; 50 concurrent clients (asyncio + httpx) each fetch the form once
   (for its CSRF pair) and file their share of 1,000 requests, each with its
   own e-mail address. Afterwards the database is read: every request must be
   stored once (1,000 cases, one per address, no address missing or twice) and
   have its code e-mail in the outbox. The throughput is printed beside the
   same clients calling ``/healthz`` in the same run, as a ratio.

No timing is asserted; the script exits 1 only if a submission was lost or
stored twice. Results: bench/.work/results/privacy_centre.json.

    .venv/bin/python bench/privacy_centre/run.py [--requests 1000] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / ".work" / "results"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
REGISTER = ROOT / "examples" / "hosting-001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- #
# Setup: a Datavern home with a register, an agent and N filed requests
# --------------------------------------------------------------------------- #


def prepare(home: Path, requests: int) -> dict[str, Any]:
    from datavern.accounts import service as accounts
    from datavern.core.db import migrate, session_scope
    from datavern.dsr import intake
    from datavern.register.loader import load_register
    from datavern.register.service import apply_register

    migrate()
    with session_scope() as session:
        if REGISTER.exists():
            apply_register(session, load_register(REGISTER), "bench")
        accounts.create_user(
            session, "bench-agent", "et langt og trygt benkpassord", "agent", actor="bench"
        )
    first: dict[str, Any] = {}
    for i in range(requests):
        with session_scope() as session:
            done = intake.submit(
                session,
                intake.Submission(
                    kind="access" if i % 3 else "erasure", email=f"seed{i}@example.no"
                ),
            )
            if i == 0:
                first = {"case_id": done.case_id, "code": done.code}
    return first


# --------------------------------------------------------------------------- #
# Part 1: server time per page
# --------------------------------------------------------------------------- #


class ServerTimer:
    """ASGI wrapper: seconds from the request's start to its last body byte, per path."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: dict[str, list[float]] = {}
        self.label = "other"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        label = self.label

        async def timed(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.times.setdefault(label, []).append(time.perf_counter() - start)

        await self.app(scope, receive, timed)


def page_times(samples: int, first: dict[str, Any]) -> dict[str, Any]:
    import httpx
    import uvicorn

    from datavern.web.app import create_app

    timer = ServerTimer(create_app())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(timer, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    case_id = first["case_id"]
    # Verify the first request so that its status page can be shown.
    page = client.get(f"/personvern/foresporsel/{case_id}/bekreft")
    token = CSRF_RE.search(page.text)
    assert token
    client.post(
        f"/personvern/foresporsel/{case_id}/bekreft",
        data={"csrf_token": token.group(1), "code": first["code"]},
    )
    agent = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    login = agent.get("/admin/login")
    login_token = CSRF_RE.search(login.text)
    assert login_token
    agent.post(
        "/admin/login",
        data={
            "username": "bench-agent",
            "password": "et langt og trygt benkpassord",
            "csrf_token": login_token.group(1),
        },
    )
    pages = {
        "/healthz (reference)": (client, "/healthz"),
        "form nb": (client, "/personvern/rettigheter"),
        "form en": (client, "/privacy/rights"),
        "code page": (client, f"/personvern/foresporsel/{case_id}/bekreft"),
        "status page": (client, f"/personvern/foresporsel/{case_id}"),
        "my requests": (client, "/personvern/mine-foresporsler"),
        "admin queue (1,000 requests)": (agent, "/admin/requests"),
        "admin queue, overdue filter": (agent, "/admin/requests?due=overdue"),
        "admin request page": (agent, f"/admin/requests/{case_id}"),
    }
    results: dict[str, Any] = {}
    for label, (who, path) in pages.items():
        timer.label = label
        for _ in range(5):  # warm-up
            who.get(path)
        timer.times[label] = []
        client_times: list[float] = []
        for _ in range(samples):
            start = time.perf_counter()
            answer = who.get(path)
            client_times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, (label, answer.status_code)
        values = [t * 1000 for t in timer.times[label]]
        results[label] = {
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(pct(values, 0.95), 2),
            "client_p50_ms": round(statistics.median(client_times), 2),
            "client_p95_ms": round(pct(client_times, 0.95), 2),
            "samples": len(values),
        }
    server.should_exit = True
    thread.join(timeout=10)
    return results


# --------------------------------------------------------------------------- #
# Part 2: 1,000 submissions from 50 concurrent clients to a server process
# --------------------------------------------------------------------------- #


async def load(base: str, requests: int, clients: int, kind: str) -> dict[str, Any]:
    import httpx

    counter = iter(range(requests))
    statuses: dict[int, int] = {}
    lock = asyncio.Lock()

    async def worker(number: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120, follow_redirects=False) as c:
            token = ""
            if kind == "submit":
                page = await c.get("/personvern/rettigheter")
                match = CSRF_RE.search(page.text)
                assert match
                token = match.group(1)
            for i in counter:
                if kind == "submit":
                    answer = await c.post(
                        "/personvern/foresporsel",
                        data={
                            "csrf_token": token,
                            "kind": "access",
                            "email": f"load{i}@example.no",
                        },
                    )
                else:
                    answer = await c.get("/healthz")
                async with lock:
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "per_second": round(requests / seconds, 1),
        "statuses": statuses,
    }


def submissions(home: Path, requests: int, clients: int) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "DATAVERN_DATA_DIR": str(home),
        "DATAVERN_PC_SUBMIT_PER_IP": str(requests * 10),
        "DATAVERN_PC_SUBMIT_PER_IDENTITY": "10",
    }
    env.pop("DATAVERN_DATABASE_URL", None)
    env.pop("DATAVERN_SMTP_HOST", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "datavern.web.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        reference = asyncio.run(load(base, requests, clients, "healthz"))
        submitted = asyncio.run(load(base, requests, clients, "submit"))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"reference_healthz": reference, "submit": submitted}


def check_stored(requests: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from datavern.core.db import session_scope
    from datavern.dsr import verification
    from datavern.dsr.case_models import PrivacyCase
    from datavern.notify.models import OutboxMessage

    wanted = {verification.email_hash(f"load{i}@example.no") for i in range(requests)}
    with session_scope() as session:
        rows = dict(
            session.execute(
                select(PrivacyCase.email_hash, func.count())
                .where(PrivacyCase.email_hash.in_(wanted))
                .group_by(PrivacyCase.email_hash)
            ).all()
        )
        mails = session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.to_addr.like("load%@example.no"),
                OutboxMessage.template == "dsr_code",
            )
        ).scalar_one()
    return {
        "stored": sum(rows.values()),
        "missing": len(wanted - set(rows)),
        "duplicated": sum(1 for n in rows.values() if n > 1),
        "code_mails": int(mails),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--page-samples", type=int, default=200)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="datavern-pc-bench-"))
    os.environ["DATAVERN_DATA_DIR"] = str(home)
    os.environ.pop("DATAVERN_DATABASE_URL", None)
    os.environ.pop("DATAVERN_SMTP_HOST", None)
    os.environ["DATAVERN_PC_SUBMIT_PER_IP"] = "1000000"
    os.environ["DATAVERN_PC_VERIFY_PER_IP"] = "1000000"
    print(f"Datavern home: {home} (SQLite)")
    print(f"filing {args.requests} requests for the page measurements ...", flush=True)
    first = prepare(home, args.requests)
    pages = page_times(args.page_samples, first)
    load_before = os.getloadavg()
    print(
        f"\nPer page ({args.page_samples} requests each, after 5 warm-up; load average "
        f"{load_before[0]:.2f} before the page runs, {os.cpu_count()} CPUs):"
    )
    print("  server = inside the server, first byte in to last byte out (the target: < 50 ms p95)")
    print("  client = as httpx on the same machine sees it (connection kept alive)")
    print(
        f"  {'page':34} {'server p50':>10} {'server p95':>10} {'client p50':>10} {'client p95':>10}"
    )
    for label, r in pages.items():
        mark = "" if label.startswith("/healthz") or r["p95_ms"] < 50 else "  (over 50 ms)"
        print(
            f"  {label:34} {r['p50_ms']:10.2f} {r['p95_ms']:10.2f} "
            f"{r['client_p50_ms']:10.2f} {r['client_p95_ms']:10.2f}{mark}"
        )
    print(f"\n{args.requests} submissions from {args.clients} concurrent clients ...", flush=True)
    load_results = submissions(home, args.requests, args.clients)
    stored = check_stored(args.requests)
    ref, sub = load_results["reference_healthz"], load_results["submit"]
    ratio = sub["per_second"] / ref["per_second"] if ref["per_second"] else 0.0
    print(
        f"  /healthz (reference): {ref['per_second']:8.1f} req/s  ({ref['seconds']} s) "
        f"{ref['statuses']}"
    )
    print(
        f"  submissions:          {sub['per_second']:8.1f} req/s  ({sub['seconds']} s) "
        f"{sub['statuses']}"
    )
    print(f"  ratio submit / healthz: {ratio:.2f}")
    print(f"  load average now: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"  in the database: {stored['stored']} stored, {stored['missing']} missing, "
        f"{stored['duplicated']} stored twice, {stored['code_mails']} code e-mails"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "load_average_before_pages": [round(x, 2) for x in load_before],
        "cpus": os.cpu_count(),
        "pages": pages,
        "load": load_results,
        "stored": stored,
        "requests": args.requests,
        "clients": args.clients,
        "ratio": round(ratio, 3),
    }
    (RESULTS / "privacy_centre.json").write_text(json.dumps(out, indent=2))
    ok = (
        stored["stored"] == args.requests
        and not stored["missing"]
        and not stored["duplicated"]
        and stored["code_mails"] == args.requests
    )
    print("\nevery submission stored exactly once" if ok else "\nLOST OR DUPLICATED SUBMISSIONS")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""A small HTTP/1.1 load generator: keep-alive connections, fixed concurrency, a set time.

Run as its own process so that it does not share the server's interpreter:

    python bench/consent/load.py --url http://127.0.0.1:8765/path?x=1 --paths paths.txt \
        --header "Authorization: Bearer dv_..." --concurrency 8 --seconds 10

Each connection sends one request at a time and waits for the whole answer (a
closed loop). ``--paths`` is a file of request paths used round-robin (different
subjects), else ``--url``'s path. Prints one JSON line: requests, errors, rps,
p50/p90/p99/max latency in milliseconds, and the status codes seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from itertools import cycle
from urllib.parse import urlsplit


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    offset: int,
    deadline: float,
    warmup_until: float,
    latencies: list[float],
    statuses: dict[int, int],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    source = cycle(requests[offset:] + requests[:offset])
    try:
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            request = next(source)
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            end = time.perf_counter()
            if start >= warmup_until:
                latencies.append(end - start)
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 400:
                    errors[0] += 1
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    paths = [parts.path + ("?" + parts.query if parts.query else "")]
    if args.paths:
        with open(args.paths, encoding="utf-8") as handle:
            paths = [line.strip() for line in handle if line.strip()]
    extra = f"Cookie: {args.cookie}\r\n" if args.cookie else ""
    extra += "".join(f"{h}\r\n" for h in args.header)
    requests = [
        (
            f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}Accept: application/json\r\n\r\n"
        ).encode()
        for p in paths
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    start = time.perf_counter()
    warmup_until = start + args.warmup
    deadline = warmup_until + args.seconds
    step = max(1, len(requests) // max(1, args.concurrency))
    await asyncio.gather(
        *(
            _worker(
                host,
                port,
                requests,
                (i * step) % len(requests),
                deadline,
                warmup_until,
                latencies,
                statuses,
                errors,
            )
            for i in range(args.concurrency)
        )
    )
    latencies.sort()
    count = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(count - 1, int(p * count))] * 1000, 3) if count else 0.0

    return {
        "requests": count,
        "errors": errors[0],
        "rps": round(count / args.seconds, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 3) if count else 0.0,
        "statuses": statuses,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--paths", help="File of request paths (one per line), round-robin.")
    parser.add_argument("--cookie", default="")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()

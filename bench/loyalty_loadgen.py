"""A small, bounded HTTP/1.1 GET load client (its own process; asyncio, keep-alive connections).

Reads request targets (path + query, one a line) from ``--urls``, takes lines ``--start`` ..
``--start + --count - 1`` in order, and sends each once as a GET over ``--concurrency`` persistent
connections to 127.0.0.1 (``--close``: a new connection per request).  Prints one JSON object:
throughput, latency percentiles, status counts, responses whose body did not look as expected
(``--expect logged_in``: a ``"balance"`` key; ``logged_out``: none), and the client's own CPU
time.  Bounded by the count and by ``--max-seconds``.

Run by bench/loyalty_widget.py; usable alone:
``.venv/bin/python bench/loyalty_loadgen.py --port 8000 --urls urls.txt --count 3000 --concurrency 8``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadgen import Tally, keep_alive, percentile, run_connections  # bench/ is on sys.path when run as a script


@dataclass(kw_only=True)
class Phase(Tally):
    targets: list[str]
    deadline: float
    issued: int = 0
    unexpected: int = 0
    bytes_read: int = 0

    def take(self) -> str | None:
        if self.issued >= len(self.targets) or time.monotonic() > self.deadline:
            return None
        self.issued += 1
        return self.targets[self.issued - 1]


class Client:
    def __init__(self, port: int, expect: str, timeout: float, close: bool) -> None:
        self.close = close
        self.host = "127.0.0.1"
        self.port = port
        self.expect = expect
        self.timeout = timeout

    def request(self, target: str) -> bytes:
        close = "Connection: close\r\n" if self.close else ""
        return (f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"User-Agent: Shopify-Proxy\r\nAccept: application/json\r\n{close}\r\n").encode()

    def looks_right(self, body: bytes) -> bool:
        if self.expect == "logged_in":
            return b'"balance"' in body and b'"logged_in":true' in body
        if self.expect == "logged_out":
            return b'"balance"' not in body and b'"logged_in":false' in body
        return True

    async def connection(self, phase: Phase) -> None:
        def next_request() -> bytes | None:
            target = phase.take()
            return None if target is None else self.request(target)

        def answered(status: int, body: bytes) -> None:
            phase.bytes_read += len(body)
            if status == 200 and not self.looks_right(body):
                phase.unexpected += 1

        await keep_alive(phase, self.host, self.port, self.timeout, next_request, answered)


def summary(phase: Phase, client_cpu: float) -> dict[str, Any]:
    values = sorted(phase.latencies)
    seconds = phase.finished - phase.started
    ok = phase.statuses.get("200", 0)
    return {
        "requests": phase.issued, "ok": ok, "errors": phase.errors, "unexpected": phase.unexpected,
        "statuses": phase.statuses, "seconds": seconds, "rps": ok / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(values, 0.50) * 1000, "p95_ms": percentile(values, 0.95) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000, "max_ms": values[-1] * 1000 if values else float("nan"),
        "mean_bytes": phase.bytes_read / max(len(values), 1), "client_cpu_s": client_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--urls", required=True, help="file of request targets, one a line")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--expect", choices=("logged_in", "logged_out", "any"), default="any")
    parser.add_argument("--close", action="store_true", help="a new connection per request (Connection: close)")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--request-timeout", type=float, default=30.0)
    args = parser.parse_args()
    targets = Path(args.urls).read_text().splitlines()[args.start:args.start + args.count]
    if len(targets) < args.count:
        parser.error(f"{args.urls} has only {len(targets)} targets from line {args.start}")
    phase = Phase(targets=targets, deadline=time.monotonic() + args.max_seconds)
    client = Client(args.port, args.expect, args.request_timeout, args.close)
    before = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run(run_connections(phase, args.concurrency, lambda: client.connection(phase)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps(summary(phase, cpu)))


if __name__ == "__main__":
    main()

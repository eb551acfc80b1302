"""A small, bounded HTTP/1.1 load client (its own process; asyncio, keep-alive connections).

Sends exactly ``--requests`` signed Shopify webhook POSTs over ``--concurrency`` persistent
connections to 127.0.0.1, and prints one JSON object: throughput, latency percentiles, status
counts, how many responses said ``"duplicate": true``, and the client's own CPU time.  Every run is
bounded twice: by the request count and by ``--max-seconds``.  (A warm-up is just a first run.)

Webhook ids: ``--id-mode unique`` gives request *i* the id ``<prefix><i as 12 hex digits>``
(UUID-shaped: a 24-character prefix such as ``1f2e3d4c-0001-4000-8000-``), ``--id-mode same``
sends ``--same-id`` on every request (a redelivery storm).  The HMAC is over the body only, and the body
is the same for every request, so it is computed once.

Run by bench/webhook_ack.py; usable alone:
``.venv/bin/python bench/loadgen.py --port 8000 --path /webhooks/shopify --body order.json --secret S ...``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 response: (status, body, whether the server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = -1
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if length < 0:
        raise ValueError("response without Content-Length")
    return status, await reader.readexactly(length), close


@dataclass(kw_only=True)
class Tally:
    """What came back from one bounded batch of requests.  Shared with bench/loyalty_loadgen.py."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    started: float = 0.0
    finished: float = 0.0

    def count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def keep_alive(
    tally: Tally, host: str, port: int, timeout: float, next_request: Callable[[], bytes | None],
    answered: Callable[[int, bytes], None],
) -> None:
    """Send ``next_request()`` over one connection until it returns None, reconnecting after an error
    or a server close.  Failures and non-200 answers count as errors; ``answered(status, body)`` sees
    every answer.  Shared with bench/loyalty_loadgen.py."""
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    try:
        while (payload := next_request()) is not None:
            start = time.perf_counter()
            try:
                if stream is None:
                    stream = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                reader, writer = stream
                writer.write(payload)
                status, body, close = await asyncio.wait_for(read_response(reader), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError, IndexError) as error:
                tally.errors += 1
                tally.count(type(error).__name__)
                if stream is not None:
                    stream[1].close()
                stream = None
                continue
            tally.latencies.append(time.perf_counter() - start)
            tally.count(str(status))
            if status != 200:
                tally.errors += 1
            answered(status, body)
            if close:
                writer.close()
                stream = None
    finally:
        if stream is not None:
            stream[1].close()


async def run_connections(tally: Tally, concurrency: int, connection: Callable[[], Awaitable[None]]) -> None:
    tally.started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    tally.finished = time.perf_counter()


@dataclass(kw_only=True)
class Phase(Tally):
    """One bounded batch of requests and what came back."""

    total: int
    prefix: str
    deadline: float
    issued: int = 0
    duplicates: int = 0
    client_cpu: float = 0.0

    def take(self) -> int | None:
        if self.issued >= self.total or time.monotonic() > self.deadline:
            return None
        self.issued += 1
        return self.issued - 1


class Client:
    def __init__(self, args: argparse.Namespace) -> None:
        self.host = "127.0.0.1"
        self.port: int = args.port
        self.path: str = args.path
        self.body = Path(args.body).read_bytes()
        signature = base64.b64encode(hmac.new(args.secret.encode(), self.body, hashlib.sha256).digest()).decode()
        self.head_fixed = (
            f"POST {self.path} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            "User-Agent: Shopify-Captain-Hook\r\n"
            "Accept: */*\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            f"X-Shopify-Topic: {args.topic}\r\n"
            f"X-Shopify-Hmac-Sha256: {signature}\r\n"
            f"X-Shopify-Shop-Domain: {args.shop_domain}\r\n"
            "X-Shopify-API-Version: 2025-10\r\n"
            "X-Shopify-Triggered-At: 2026-01-10T15:15:00.000000000Z\r\n"
        )
        if args.close:  # a new connection per request, as Shopify's deliveries mostly arrive
            self.head_fixed += "Connection: close\r\n"
        self.id_mode: str = args.id_mode
        self.same_id: str = args.same_id
        self.timeout: float = args.request_timeout

    def request(self, phase: Phase, index: int) -> bytes:
        delivery = self.same_id if self.id_mode == "same" else f"{phase.prefix}{index:012x}"
        return (
            f"{self.head_fixed}X-Shopify-Webhook-Id: {delivery}\r\n"
            f"X-Shopify-Event-Id: {phase.prefix}{index:012x}\r\n\r\n"
        ).encode() + self.body

    async def connection(self, phase: Phase) -> None:
        def next_request() -> bytes | None:
            index = phase.take()
            return None if index is None else self.request(phase, index)

        def answered(status: int, body: bytes) -> None:
            if status == 200 and b'"duplicate": true' in body:
                phase.duplicates += 1

        await keep_alive(phase, self.host, self.port, self.timeout, next_request, answered)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def summary(phase: Phase) -> dict[str, Any]:
    values = sorted(phase.latencies)
    seconds = phase.finished - phase.started
    ok = phase.statuses.get("200", 0)
    return {
        "requests": phase.issued,
        "ok": ok,
        "errors": phase.errors,
        "duplicates": phase.duplicates,
        "statuses": phase.statuses,
        "seconds": seconds,
        "rps": ok / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(values, 0.50) * 1000,
        "p95_ms": percentile(values, 0.95) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
        "max_ms": (values[-1] * 1000) if values else float("nan"),
        "prefix": phase.prefix,
        "client_cpu_s": phase.client_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/webhooks/shopify")
    parser.add_argument("--body", required=True, help="file holding the request body")
    parser.add_argument("--secret", required=True, help="SHOPIFY_API_SECRET of the server")
    parser.add_argument("--shop-domain", default="bench-store.myshopify.com")
    parser.add_argument("--topic", default="orders/create")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--id-mode", choices=("unique", "same"), default="unique")
    parser.add_argument("--same-id", default="")
    parser.add_argument("--prefix", required=True, help="UUID-shaped prefix (24 chars) of the measured ids")
    parser.add_argument("--close", action="store_true", help="one connection per request (Connection: close)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="give up issuing requests after this")
    parser.add_argument("--request-timeout", type=float, default=30.0)
    args = parser.parse_args()
    if args.id_mode == "same" and not args.same_id:
        parser.error("--id-mode same needs --same-id")
    client = Client(args)

    phase = Phase(total=args.requests, prefix=args.prefix, deadline=time.monotonic() + args.max_seconds)
    before = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run(run_connections(phase, args.concurrency, lambda: client.connection(phase)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    phase.client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps(summary(phase)))


if __name__ == "__main__":
    main()

"""The sender of bench/pipeline.py: replays prepared webhook deliveries at a set rate (its own process).

Reads a pickled list of complete HTTP/1.1 requests (head and body, signed by bench/pipeline.py),
sends request *i* no earlier than ``start + i / rate`` over ``--concurrency`` keep-alive
connections to 127.0.0.1, and retries a delivery that got no 200 (a socket error or another
status) up to ``--attempts`` times with a short backoff, as Shopify does (there: for hours).
Prints one JSON object: per delivery the wall-clock time (``time.time()``, the clock the bench's
database poller uses too) of its 200, its latency, status, whether the server said
``"duplicate": true`` and the attempts it took; totals; and the sender's own CPU time.  Bounded
by the request count and by ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.loadgen import percentile, read_response  # noqa: E402


class Replay:
    def __init__(self, requests: list[bytes], args: argparse.Namespace) -> None:
        self.requests = requests
        self.port: int = args.port
        self.rate: float = args.rate
        self.attempts: int = args.attempts
        self.timeout: float = args.request_timeout
        count = len(requests)
        self.acked_at: list[float] = [0.0] * count
        self.latency: list[float] = [0.0] * count
        self.status: list[int] = [0] * count
        self.duplicate: list[bool] = [False] * count
        self.tries: list[int] = [0] * count
        self.errors: dict[str, int] = {}
        self.issued = 0
        self.start = 0.0
        self.deadline = 0.0
        self.behind = 0.0  # the largest lag behind the schedule when a request was taken

    def take(self) -> int | None:
        if self.issued >= len(self.requests) or time.monotonic() > self.deadline:
            return None
        self.issued += 1
        return self.issued - 1

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    async def connection(self) -> None:
        stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (index := self.take()) is not None:
                if self.rate > 0:  # 0: as fast as the server answers
                    wait = self.start + index / self.rate - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    else:
                        self.behind = max(self.behind, -wait)
                for attempt in range(1, self.attempts + 1):
                    self.tries[index] = attempt
                    began = time.perf_counter()
                    try:
                        if stream is None:
                            stream = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port),
                                                            self.timeout)
                        reader, writer = stream
                        writer.write(self.requests[index])
                        status, body, close = await asyncio.wait_for(read_response(reader), self.timeout)
                    except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                            ValueError, IndexError) as failure:
                        self.error(type(failure).__name__)
                        if stream is not None:
                            stream[1].close()
                        stream = None
                        await asyncio.sleep(0.2 * attempt)
                        continue
                    if close:
                        writer.close()
                        stream = None
                    self.status[index] = status
                    if status == 200:
                        self.acked_at[index] = time.time()
                        self.latency[index] = time.perf_counter() - began
                        self.duplicate[index] = b'"duplicate": true' in body or b'"duplicate":true' in body
                        break
                    self.error(str(status))
                    await asyncio.sleep(0.2 * attempt)
        finally:
            if stream is not None:
                stream[1].close()

    async def run(self, concurrency: int, max_seconds: float) -> None:
        self.start = time.monotonic() + 0.05
        self.deadline = self.start + max_seconds
        await asyncio.gather(*(self.connection() for _ in range(concurrency)))

    def summary(self, seconds: float, cpu: float) -> dict[str, Any]:
        done = sorted(v for v, s in zip(self.latency, self.status, strict=True) if s == 200)
        ok = len(done)
        return {
            "requests": len(self.requests), "issued": self.issued, "ok": ok, "seconds": seconds,
            "rps": ok / seconds if seconds > 0 else 0.0,
            "p50_ms": percentile(done, 0.50) * 1000, "p95_ms": percentile(done, 0.95) * 1000,
            "p99_ms": percentile(done, 0.99) * 1000, "max_ms": (done[-1] * 1000) if done else float("nan"),
            "errors": self.errors, "retried": sum(1 for t in self.tries if t > 1), "behind_s": self.behind,
            "duplicates": sum(self.duplicate), "cpu_s": cpu,
            "acked_at": self.acked_at, "status": self.status, "duplicate": self.duplicate,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", required=True, help="pickled list of complete HTTP requests (bytes)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second (0: unscheduled)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--attempts", type=int, default=5, help="tries per delivery until a 200")
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--out", required=True, help="where the JSON summary goes")
    args = parser.parse_args()
    requests: list[bytes] = pickle.loads(Path(args.requests).read_bytes())  # noqa: S301 - our own file
    replay = Replay(requests, args)
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    asyncio.run(replay.run(args.concurrency, args.max_seconds))
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    Path(args.out).write_text(json.dumps(replay.summary(seconds, cpu)))


if __name__ == "__main__":
    main()

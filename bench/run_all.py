"""Run the benches one after the other (``make bench``), each in its own process.

``.venv/bin/python bench/run_all.py``                       all of them, default sizes (about 45 min here)
``.venv/bin/python bench/run_all.py --only webhook --requests 2000 --concurrency 16``
``.venv/bin/python bench/run_all.py --only history --orders 20000 --batch-sizes 500``
``.venv/bin/python bench/run_all.py --only award``         loyalty points for paid orders (bench/loyalty_award.py)
``.venv/bin/python bench/run_all.py --only widget``        widget API latency (bench/loyalty_widget.py)
``.venv/bin/python bench/run_all.py --only retention``     retention report on 1M orders, PostgreSQL beside DuckDB
                                                            (bench/retention_report.py, ~6-9 min)
``.venv/bin/python bench/run_all.py --only scans``         campaign daily scans over 1M customers
                                                            (bench/campaign_scans.py, ~8 min; 100,000: ~1.5 min)
``.venv/bin/python bench/run_all.py --only send``          campaign send pipeline, messages/s (bench/campaign_send.py)
``.venv/bin/python bench/run_all.py --only pipeline --orders 5000``  the whole pipeline: signed webhooks at
                                                            200/s to points, with its oracle (bench/pipeline.py)

Each bench starts its own PostgreSQL and Redis on 127.0.0.1 (or uses ``DATABASE_URL`` /
``CELERY_BROKER_URL``) and stops them when it ends, also on Ctrl-C.  Exit status: non-zero if a
bench failed or one of its checks (rows stored, counts ingested) did not match.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def run(name: str, command: list[str]) -> int:
    print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=REPO)
    try:
        code = child.wait()
    finally:
        if child.poll() is None:  # we were interrupted: let the bench stop its services, then go
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    print(f"=== {name}: exit {code} after {time.monotonic() - started:.0f}s", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run just one bench",
                        choices=("webhook", "history", "award", "widget", "retention", "scans", "send", "vitals",
                                 "woosync", "pipeline"))
    parser.add_argument("--customers", type=int, help="scans: customers in the shop (default 1000000)")
    parser.add_argument("--steps", type=int, help="send: due steps per email/SMS run (default 20000)")
    parser.add_argument("--requests", type=int, help="webhook: measured requests per row (default 5000)")
    parser.add_argument("--concurrency", help="webhook: comma-separated connection counts (default 16,64)")
    parser.add_argument("--orders", type=int,
                        help="history: orders in the JSONL (default 100000); pipeline: paid orders (default 5000)")
    parser.add_argument("--batch-sizes", help="history: ingest_file batch sizes (default: the app's, then 2000)")
    parser.add_argument("--pg-fast", action="store_true", help="PostgreSQL with CI's non-durable settings")
    args = parser.parse_args(argv)

    def signalled(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, signalled)
    python = sys.executable
    common = ["--pg-fast"] if args.pg_fast else []
    failures = []
    if args.only in (None, "webhook"):
        command = [python, str(BENCH / "webhook_ack.py"), *common]
        if args.requests:
            command += ["--requests", str(args.requests)]
        if args.concurrency:
            command += ["--concurrency", args.concurrency]
        if run("webhook ack", command):
            failures.append("webhook ack")
    if args.only in (None, "history"):
        command = [python, str(BENCH / "history_ingest.py"), *common]
        if args.orders:
            command += ["--orders", str(args.orders)]
        if args.batch_sizes:
            command += ["--batch-sizes", args.batch_sizes]
        if run("history ingest", command):
            failures.append("history ingest")
    if args.only in (None, "award"):
        if run("loyalty award", [python, str(BENCH / "loyalty_award.py"), *common]):
            failures.append("loyalty award")
    if args.only in (None, "widget"):
        if run("loyalty widget", [python, str(BENCH / "loyalty_widget.py"), *common]):
            failures.append("loyalty widget")
    if args.only in (None, "retention"):
        if run("retention report", [python, str(BENCH / "retention_report.py"), *common]):
            failures.append("retention report")
    if args.only in (None, "scans"):
        command = [python, str(BENCH / "campaign_scans.py"), *common]
        if args.customers:
            command += ["--customers", str(args.customers)]
        if run("campaign scans", command):
            failures.append("campaign scans")
    if args.only in (None, "send"):
        command = [python, str(BENCH / "campaign_send.py"), *common]
        if args.steps:
            command += ["--steps", str(args.steps)]
        if run("campaign send", command):
            failures.append("campaign send")
    if args.only in (None, "vitals"):  # the dashboard's Web Vitals and the app embed's Lighthouse cost
        if run("web vitals", [python, str(BENCH / "web_vitals.py")]):
            failures.append("web vitals")
    if args.only in (None, "woosync"):  # the WooCommerce history sync over the official client
        if run("woocommerce sync", [python, str(BENCH / "woocommerce_sync.py")]):
            failures.append("woocommerce sync")
    if args.only in (None, "pipeline"):  # webhooks -> gunicorn -> celery -> points, checked by an oracle
        command = [python, str(BENCH / "pipeline.py"), *common]
        if args.orders and args.only == "pipeline":
            command += ["--orders", str(args.orders)]
        if run("pipeline", command):
            failures.append("pipeline")
    if failures:
        print(f"\nFAILED: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    os.chdir(REPO)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)

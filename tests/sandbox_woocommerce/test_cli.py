"""``python -m sandbox.woocommerce``: a process the demo runs, stopped by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests


def test_the_process_serves_its_store_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.woocommerce", "--port", "0", "--store", "corner-shop", "--customers", "20",
         "--orders", "40", "--products", "8", "--currency", "ILS"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        health = requests.get(f"{base}/_sandbox/health", timeout=10).json()
        assert health == {"ok": True, "stores": ["corner-shop"]}
        site = requests.get(f"{base}/stores/corner-shop/wp-json/", timeout=10).json()
        assert site["timezone_string"] == "Asia/Jerusalem"
        assert requests.get(f"{base}/stores/corner-shop/", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0

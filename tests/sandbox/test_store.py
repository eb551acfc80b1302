"""Store mutations (the Python API), the control API over HTTP, live mode and the server CLI."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox.shopify import SandboxError, ShopifySandbox
from sandbox.shopify.sandbox import live_tick
from sandbox.shopify.store import Shop

REPO = Path(__file__).resolve().parents[2]


def test_refunds_are_validated_and_add_up(shop: Shop) -> None:
    order = shop.place_order(line_items=[(shop.products[0].variants[0].id, 3)])
    line = order.line_items[0]
    with pytest.raises(SandboxError):
        shop.refund_order(order.id, [(line.id, 4)])
    first = shop.refund_order(order.id, [(line.id, 1)])
    assert order.financial_status == "PARTIALLY_REFUNDED"
    rest = shop.refund_order(order.id)  # everything left, shipping included
    assert first.total + rest.total == order.total_price == order.total_refunded
    assert order.financial_status == "REFUNDED"
    with pytest.raises(SandboxError):
        shop.refund_order(order.id)


def test_updated_at_strictly_increases(shop: Shop) -> None:
    customer = shop.customers[0]
    stamps = []
    for n in range(4):
        shop.update_customer(customer.id, note=str(n))
        stamps.append(customer.updated_at)
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False))


def test_pending_cancel_voids(shop: Shop) -> None:
    order = shop.place_order(financial_status="pending")
    assert order.financial_status == "PENDING"
    shop.cancel_order(order.id, "declined")
    assert order.financial_status == "VOIDED" and order.refunds == []
    assert order.cancel_reason == "DECLINED" and order.closed_at is not None


def test_fulfil_and_mark_paid(shop: Shop) -> None:
    order = shop.place_order(financial_status="pending")
    shop.mark_paid(order.id)
    shop.fulfil_order(order.id)
    assert order.financial_status == "PAID" and order.fulfillment == "FULFILLED"
    with pytest.raises(SandboxError):
        shop.fulfil_order(order.id)


def test_new_customer_order(shop: Shop) -> None:
    before = len(shop.customers)
    order = shop.place_order(new_customer=True)
    assert len(shop.customers) == before + 1
    assert order.customer_id == shop.customers[-1].id
    assert shop.orders[-1] is order and order.number == 1001 + len(shop.orders) - 1


def test_live_tick_keeps_the_store_consistent(shop: Shop) -> None:
    rng = random.Random(1)
    for _ in range(40):
        live_tick(shop, rng)
    for order in shop.orders[-40:]:
        assert order.total_price == order.subtotal + order.shipping + order.total_tax
        assert order.total_refunded <= order.total_price


def test_control_api(sandbox: ShopifySandbox, shop: Shop) -> None:
    base = f"{sandbox.base_url}/_sandbox/shops/{shop.domain}"
    placed = requests.post(f"{base}/orders", json={}, timeout=5)
    assert placed.status_code == 201
    order = placed.json()
    assert order["financial_status"] == "paid" and order["name"].startswith("#")
    line = order["line_items"][0]
    refund = requests.post(f"{base}/orders/{order['id']}/refund", timeout=5,
                           json={"line_items": [[line["id"], 1]], "shipping": "0"})
    assert refund.status_code == 200 and refund.json()["order_id"] == order["id"]
    fulfilled = requests.post(f"{base}/orders/{order['id']}/fulfil", timeout=5)
    assert fulfilled.json()["fulfillment_status"] == "fulfilled"
    cancelled = requests.post(f"{base}/orders/{order['id']}/cancel", timeout=5).json()
    assert cancelled["cancel_reason"] == "customer" and cancelled["financial_status"] == "refunded"
    again = requests.post(f"{base}/orders/{order['id']}/cancel", timeout=5)
    assert again.status_code == 400 and "already cancelled" in again.json()["error"]
    privacy = requests.post(f"{base}/privacy/customers/redact", timeout=5,
                            json={"customer_id": shop.customers[0].id})
    assert privacy.json()["customer"]["id"] == shop.customers[0].id
    deliveries = requests.get(f"{sandbox.base_url}/_sandbox/deliveries", timeout=5)
    assert deliveries.status_code == 200
    assert requests.get(f"{base}/orders/1", timeout=5).status_code == 400
    assert requests.get(f"{sandbox.base_url}/_sandbox/shops/nope.myshopify.com",
                        timeout=5).status_code == 404


def test_server_cli_starts_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.shopify", "--port", "0", "--customers",
         "20", "--orders", "40", "--api-key", "K", "--api-secret", "S", "--live-interval",
         "0.2"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        health = requests.get(f"{base_url}/_sandbox/health", timeout=5).json()
        assert health["shops"] == ["demo-store.myshopify.com"]
        deadline = time.monotonic() + 10
        orders = 40
        while orders == 40 and time.monotonic() < deadline:  # live mode places more
            time.sleep(0.1)
            orders = requests.get(f"{base_url}/_sandbox/shops/demo-store.myshopify.com",
                                  timeout=5).json()["orders"]
        assert orders > 40
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_rate_limit_control(sandbox: ShopifySandbox, shop: Shop) -> None:
    url = f"{sandbox.base_url}/_sandbox/shops/{shop.domain}/rate_limit"
    status = requests.post(url, json={"bucket_size": 50, "restore_rate": 5}, timeout=5).json()
    assert status == {"maximumAvailable": 50.0, "currentlyAvailable": 50, "restoreRate": 5.0}
    assert shop.bucket.maximum == 50

"""Faults for the client's resilience: 429 with Retry-After, 5xx, a steady rate limit."""

from __future__ import annotations

from woocommerce import API

from sandbox.woocommerce import WooCommerceSandbox, WooStore


def test_fail_next_answers_429_with_retry_after_then_recovers(sandbox: WooCommerceSandbox, store: WooStore,
                                                              wc: API) -> None:
    sandbox.fail_next(store.name, 2, status=429, retry_after=3)
    for _ in range(2):
        answer = wc.get("orders")
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
        assert answer.json()["data"]["status"] == 429
    assert wc.get("orders").status_code == 200


def test_a_5xx_is_wordpress_s_critical_error(sandbox: WooCommerceSandbox, store: WooStore, wc: API) -> None:
    sandbox.fail_next(store.name, 1, status=503)
    answer = wc.get("orders")
    assert answer.status_code == 503 and "Retry-After" not in answer.headers
    assert wc.get("orders").status_code == 200


def test_a_steady_rate_limit(sandbox: WooCommerceSandbox, store: WooStore, wc: API) -> None:
    sandbox.rate_limit(store.name, per_second=0.5, burst=2)
    codes = [wc.get("coupons").status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and 429 in codes[2:]
    sandbox.rate_limit(store.name, per_second=None)
    assert wc.get("coupons").status_code == 200

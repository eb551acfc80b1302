"""Calculated query cost, the leaky bucket and the single-query cost limit."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from sandbox.shopify import API_VERSION, ShopifySandbox
from sandbox.shopify.store import Shop


@pytest.fixture
def tight() -> Iterator[tuple[ShopifySandbox, Shop, str]]:
    box = ShopifySandbox(bucket_size=100, restore_rate=50)
    box.start()
    shop = box.add_shop("tight-store", seed=2, customers=60, orders=60)
    try:
        yield box, shop, box.install(shop.domain)
    finally:
        box.stop()


def post(shop: Shop, token: str, query: str) -> dict:
    response = requests.post(f"{shop.origin}/admin/api/{API_VERSION}/graphql.json", timeout=5,
                             json={"query": query}, headers={"X-Shopify-Access-Token": token})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


# 2 + 20 × (1 customer + 1 consent object) = 42
QUERY = "{ customers(first: 20) { nodes { id emailMarketingConsent { marketingState } } } }"


def test_cost_is_reported_and_refunded(tight: tuple[ShopifySandbox, Shop, str]) -> None:
    _, shop, token = tight
    body = post(shop, token, QUERY)
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 42
    assert cost["actualQueryCost"] <= 42
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 100 and status["restoreRate"] == 50
    assert status["currentlyAvailable"] >= 100 - cost["actualQueryCost"] - 1


def test_throttled_then_recovers(tight: tuple[ShopifySandbox, Shop, str]) -> None:
    _, shop, token = tight
    shop.bucket.drain()
    body = post(shop, token, QUERY)
    assert body["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    assert "data" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 42
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 42
    time.sleep(0.9)  # 50 points/s
    assert "errors" not in post(shop, token, QUERY)


def test_nested_connections_multiply(tight: tuple[ShopifySandbox, Shop, str]) -> None:
    _, shop, token = tight
    shop.set_rate_limit(10**6, 10**6)
    body = post(shop, token, "{ products(first: 3) { edges { node { id variants(first: 5) {"
                             " nodes { id inventoryItem { unitCost { amount } } } } } } } }")
    # 2 + 3 × (1 + (2 + 5 × (1 + 1 + 1)))
    assert body["extensions"]["cost"]["requestedQueryCost"] == 56


def test_single_query_over_1000_is_refused(tight: tuple[ShopifySandbox, Shop, str]) -> None:
    _, shop, token = tight
    shop.set_rate_limit(10**6, 10**6)
    # 2 + 250 × (1 + 3 objects) = 1002, like CUSTOMERS_PAGE_QUERY at first: 250
    body = post(shop, token, "{ customers(first: 250) { nodes { id emailMarketingConsent {"
                             " marketingState } smsMarketingConsent { marketingState }"
                             " defaultEmailAddress { emailAddress } } } }")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 1002
    assert "data" not in body


def test_mutations_cost_ten(tight: tuple[ShopifySandbox, Shop, str]) -> None:
    _, shop, token = tight
    body = post(shop, token, 'mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, '
                             'webhookSubscription: {uri: "https://x.example/h"}) '
                             '{ userErrors { message } } }')
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10

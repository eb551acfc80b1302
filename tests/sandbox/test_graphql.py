"""The GraphQL Admin endpoint: auth, the contract queries, pagination, filters, scopes."""

from __future__ import annotations

import urllib.error
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from integrations.shopify import queries
from sandbox.shopify import API_VERSION, ShopifySandbox
from sandbox.shopify.common import iso
from sandbox.shopify.store import Shop

from .conftest import GraphQL


def test_missing_or_wrong_token_is_401(shop: Shop, gql: GraphQL) -> None:
    url = f"{shop.origin}/admin/api/{API_VERSION}/graphql.json"
    anonymous = requests.post(url, json={"query": "{ shop { name } }"}, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    with pytest.raises(urllib.error.HTTPError) as caught:
        gql("{ shop { name } }", as_token="shpat_" + "0" * 32)
    assert caught.value.code == 401


def test_token_of_another_shop_is_refused(sandbox: ShopifySandbox, shop: Shop) -> None:
    other = sandbox.add_shop("other-store", seed=1, customers=3, orders=3)
    token = sandbox.install(other.domain)
    response = requests.post(f"{shop.origin}/admin/api/{API_VERSION}/graphql.json", timeout=5,
                             json={"query": "{ shop { name } }"},
                             headers={"X-Shopify-Access-Token": token})
    assert response.status_code == 401


def test_any_api_version_is_accepted(shop: Shop, token: str) -> None:
    for version, status in (("2024-04", 200), ("unstable", 200), ("latest", 404)):
        response = requests.post(f"{shop.origin}/admin/api/{version}/graphql.json", timeout=5,
                                 json={"query": "{ shop { name } }"},
                                 headers={"X-Shopify-Access-Token": token})
        assert response.status_code == status, version


def test_shop_query(shop: Shop, gql: GraphQL) -> None:
    body = gql(queries.SHOP_QUERY)
    assert body["data"]["shop"]["myshopifyDomain"] == shop.domain
    assert body["data"]["shop"]["currencyCode"] == "USD"
    assert {"locale": "en", "primary": True} in body["data"]["shopLocales"]
    cost = body["extensions"]["cost"]
    assert set(cost) == {"requestedQueryCost", "actualQueryCost", "throttleStatus"}
    assert cost["throttleStatus"]["maximumAvailable"] == 2000


def test_every_contract_query_is_answered() -> None:
    """Each page query runs without errors (with a bucket big enough for their cost)."""
    box = ShopifySandbox(bucket_size=10**7, restore_rate=10**6, max_query_cost=None)
    box.start()
    try:
        shop = box.add_shop("contract-store", seed=3, customers=40, orders=150)
        token = box.install(shop.domain)
        url = f"{shop.origin}/admin/api/{API_VERSION}/graphql.json"
        for name in ("SHOP_QUERY", "CUSTOMERS_PAGE_QUERY", "PRODUCTS_PAGE_QUERY",
                     "ORDERS_PAGE_QUERY", "WEBHOOK_SUBSCRIPTIONS_QUERY", "CURRENT_BULK_QUERY"):
            body = requests.post(url, timeout=10, headers={"X-Shopify-Access-Token": token},
                                 json={"query": getattr(queries, name),
                                       "variables": {"first": 50}}).json()
            assert "errors" not in body, (name, body.get("errors"))
            assert body["data"], name
    finally:
        box.stop()


def _walk(gql: GraphQL, query: str, first: int, search: str | None = None
          ) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = gql(query, {"first": first, "after": after, "query": search})
        assert "errors" not in body, body
        page = next(iter(body["data"].values()))
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_pagination_visits_every_customer_once(shop: Shop, gql: GraphQL) -> None:
    seen = [n["id"] for n in _walk(gql, queries.CUSTOMERS_PAGE_QUERY, 37)]
    assert len(seen) == len(set(seen)) == len(shop.customers)
    assert set(seen) == {c.gid for c in shop.customers}


def test_sorted_by_updated_at_and_filtered(shop: Shop, gql: GraphQL) -> None:
    stamps = sorted(c.updated_at for c in shop.customers)
    pivot = stamps[len(stamps) // 2]
    nodes = _walk(gql, queries.CUSTOMERS_PAGE_QUERY, 50, f"updated_at:>'{iso(pivot)}'")
    expected = {c.gid for c in shop.customers if c.updated_at > pivot}
    assert {n["id"] for n in nodes} == expected
    assert [n["updatedAt"] for n in nodes] == sorted(n["updatedAt"] for n in nodes)
    inclusive = _walk(gql, queries.CUSTOMERS_PAGE_QUERY, 50, f"updated_at:>={iso(pivot)}")
    assert len(inclusive) == sum(1 for c in shop.customers if c.updated_at >= pivot)


def test_search_syntax(shop: Shop, gql: GraphQL) -> None:
    query = """query($q: String) { orders(first: 250, query: $q) { nodes { id name
      displayFinancialStatus createdAt } } }"""
    refunded = gql(query, {"q": "financial_status:refunded OR financial_status:partially_refunded"})
    truth = {o.gid for o in shop.orders if "REFUNDED" in o.financial_status}
    assert {n["id"] for n in refunded["data"]["orders"]["nodes"]} == truth
    day = shop.orders[10].created_at
    until = day + timedelta(days=30)
    window = gql(query, {"q": f"created_at:>={iso(day)} AND created_at:<{iso(until)}"})
    got = {n["id"] for n in window["data"]["orders"]["nodes"]}
    assert got == {o.gid for o in shop.orders if day <= o.created_at < until}
    by_name = gql(query, {"q": "name:#1005"})
    assert [n["name"] for n in by_name["data"]["orders"]["nodes"]] == ["#1005"]


def test_reverse_and_sort_keys(shop: Shop, gql: GraphQL) -> None:
    body = gql("{ orders(first: 3, sortKey: CREATED_AT, reverse: true) { nodes { name } } }")
    newest = sorted(shop.orders, key=lambda o: (o.created_at, o.id), reverse=True)[:3]
    assert [n["name"] for n in body["data"]["orders"]["nodes"]] == [o.name for o in newest]


def test_first_over_250_is_an_error(gql: GraphQL) -> None:
    body = gql("{ customers(first: 251) { nodes { id } } }")
    assert "data" not in body or body["data"] is None
    assert "250" in body["errors"][0]["message"]


def test_money_is_decimal_strings(shop: Shop, gql: GraphQL) -> None:
    body = gql("{ orders(first: 5) { nodes { legacyResourceId totalPriceSet { shopMoney {"
               " amount currencyCode } } } } }")
    for node in body["data"]["orders"]["nodes"]:
        money = node["totalPriceSet"]["shopMoney"]
        assert isinstance(money["amount"], str) and money["currencyCode"] == "USD"
        order = shop.get_order(int(node["legacyResourceId"]))
        assert order is not None and Decimal(money["amount"]) == order.total_price


def test_metafield_birthday_and_node(shop: Shop, gql: GraphQL) -> None:
    customer = next(c for c in shop.customers if c.birth_date)
    body = gql("""query($id: ID!) { node(id: $id) { ... on Customer { id
        birthDate: metafield(namespace: "facts", key: "birth_date") { value } } } }""",
               {"id": customer.gid})
    assert body["data"]["node"]["birthDate"]["value"] == customer.birth_date.isoformat()


def test_scopes_are_enforced(shop: Shop, gql: GraphQL) -> None:
    narrow = shop.issue_token("read_products")
    body = gql("{ customers(first: 1) { nodes { id } } }", as_token=narrow)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert "read_customers" in error["message"]


def test_orders_older_than_60_days_need_read_all_orders(sandbox: ShopifySandbox,
                                                         gql: GraphQL) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    fresh = sandbox.add_shop("fresh-store", seed=5, customers=50, orders=300, now=now)
    query = "{ orders(first: 250) { nodes { createdAt } } }"
    url = f"{fresh.origin}/admin/api/{API_VERSION}/graphql.json"

    def created(scopes: str) -> list[str]:
        token = fresh.issue_token(scopes)
        body = requests.post(url, json={"query": query}, timeout=5,
                             headers={"X-Shopify-Access-Token": token}).json()
        return [n["createdAt"] for n in body["data"]["orders"]["nodes"]]

    limited = created("read_orders")
    full = created("read_orders,read_all_orders")
    assert limited and min(limited) >= iso(now - timedelta(days=60))  # type: ignore[operator]
    assert len(full) == 250 and len(limited) < len(full)


def test_syntax_and_validation_errors(gql: GraphQL) -> None:
    assert "errors" in gql("{ shop { name ")
    body = gql("{ shop { nope } }")
    assert "nope" in body["errors"][0]["message"]

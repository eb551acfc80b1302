"""Bulk operations: lifecycle, Shopify's JSONL layout, equivalence with graphql-core, the CLI."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from graphql import execute, parse

from integrations.shopify import queries
from sandbox.shopify import API_VERSION, ShopifySandbox, StoreSpec
from sandbox.shopify.generate import main as generate_main
from sandbox.shopify.generate import write_jsonl
from sandbox.shopify.schema import Ctx
from sandbox.shopify.store import Shop

from .conftest import GraphQL


def run_bulk(gql: GraphQL, query: str, timeout: float = 20) -> dict[str, Any]:
    started = gql(queries.BULK_RUN_MUTATION, {"query": query})["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    operation = started["bulkOperation"]
    assert operation["status"] == "CREATED"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        node = gql(queries.BULK_STATUS_QUERY, {"id": operation["id"]})["data"]["node"]
        if node["status"] in ("COMPLETED", "FAILED", "CANCELED"):
            return node  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("bulk operation did not finish")


def download(url: str) -> bytes:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    return response.content


def test_bulk_orders_layout(shop: Shop, gql: GraphQL) -> None:
    done = run_bulk(gql, queries.BULK_ORDERS)
    assert done["status"] == "COMPLETED" and done["errorCode"] is None and done["completedAt"]
    raw = download(done["url"])
    lines = [json.loads(x) for x in raw.decode().splitlines()]
    assert int(done["objectCount"]) == len(lines)
    assert int(done["fileSize"]) == len(raw)

    roots = [x for x in lines if "__parentId" not in x]
    assert [r["id"] for r in roots] == [o.gid for o in shop.orders]
    parent = None
    for line in lines:
        if "__parentId" in line:
            assert line["__parentId"] == parent  # right after its own parent
            assert list(line)[-1] == "__parentId"
            assert line["id"].startswith("gid://shopify/LineItem/")
        else:
            parent = line["id"]
            assert "lineItems" not in line
            assert isinstance(line["refunds"], list)  # a list field stays inline
    children = sum(len(o.line_items) for o in shop.orders)
    assert len(lines) == len(roots) + children

    refunded = next(r for r in roots if r["refunds"])
    refund = refunded["refunds"][0]
    assert refund["refundLineItems"]["nodes"] or refund["refundShippingLines"]["nodes"]


def test_bulk_products_and_customers(shop: Shop, gql: GraphQL) -> None:
    products = [json.loads(x) for x in download(run_bulk(gql, queries.BULK_PRODUCTS)["url"])
                .decode().splitlines()]
    variants = [x for x in products if "__parentId" in x]
    assert len(variants) == sum(len(p.variants) for p in shop.products)
    assert all(v["inventoryItem"]["unitCost"]["amount"] for v in variants)
    customers = [json.loads(x) for x in download(run_bulk(gql, queries.BULK_CUSTOMERS)["url"])
                 .decode().splitlines()]
    assert len(customers) == len(shop.customers)
    with_birthday = [c for c in customers if c["birthDate"]]
    assert len(with_birthday) == sum(1 for c in shop.customers if c.birth_date)


def _graphql_core_orders(shop: Shop) -> list[dict[str, Any]]:
    query = (f"{{ orders(first: 250) {{ nodes {{ {queries.ORDER_FIELDS} "
             f"lineItems(first: 100) {{ nodes {{ {queries.LINE_ITEM_FIELDS} }} }} }} }} }}")
    from sandbox.shopify.sandbox import shared_schema

    result = execute(shared_schema(), parse(query), context_value=Ctx(lookup=shop, shop=shop))
    assert not result.errors, result.errors  # type: ignore[union-attr]
    return result.data["orders"]["nodes"]  # type: ignore[index,union-attr,no-any-return]


def test_bulk_lines_are_byte_identical_to_graphql_core(shop: Shop, gql: GraphQL) -> None:
    raw = download(run_bulk(gql, queries.BULK_ORDERS)["url"]).decode().splitlines()

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    expected = []
    for node in _graphql_core_orders(shop):
        items = node.pop("lineItems")["nodes"]
        expected.append(dumps(node))
        expected += [dumps({**item, "__parentId": node["id"]}) for item in items]
    assert raw[: len(expected)] == expected


def test_running_status_is_observable(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL) -> None:
    sandbox.bulk.min_duration = 3.0
    first = gql(queries.BULK_RUN_MUTATION, {"query": queries.BULK_CUSTOMERS})
    operation = first["data"]["bulkOperationRunQuery"]["bulkOperation"]
    deadline = time.monotonic() + 2.5
    current = gql(queries.CURRENT_BULK_QUERY)["data"]["currentBulkOperation"]
    while current["status"] == "CREATED" and time.monotonic() < deadline:
        time.sleep(0.02)
        current = gql(queries.CURRENT_BULK_QUERY)["data"]["currentBulkOperation"]
    assert current["id"] == operation["id"] and current["status"] == "RUNNING"
    for _ in range(4):  # from API 2026-01 an app may run five bulk queries per shop at once
        again = gql(queries.BULK_RUN_MUTATION, {"query": queries.BULK_ORDERS})
        assert again["data"]["bulkOperationRunQuery"]["userErrors"] == []
    sixth = gql(queries.BULK_RUN_MUTATION, {"query": queries.BULK_ORDERS})
    errors = sixth["data"]["bulkOperationRunQuery"]["userErrors"]
    assert errors[0]["message"] == ("A bulk query operation for this app and shop is already in "
                                    f"progress: {operation['id']}.")
    sandbox.bulk.wait()
    assert gql(queries.CURRENT_BULK_QUERY)["data"]["currentBulkOperation"]["status"] == \
        "COMPLETED"


def test_invalid_bulk_queries_get_user_errors(gql: GraphQL) -> None:
    cases = {
        "{ customers { edges { node { nope } } } }": "Invalid bulk query",
        "{ shop { name } }": "at least one connection",
        "{ products { edges { node { title variants { edges { node { id } } } } } } }":
            "must select the 'id' field",
        "{ customers { edges ": "Invalid bulk query",
    }
    for query, message in cases.items():
        body = gql(queries.BULK_RUN_MUTATION, {"query": query})["data"]["bulkOperationRunQuery"]
        assert body["bulkOperation"] is None
        assert message in body["userErrors"][0]["message"], query


def test_empty_result_has_no_url(gql: GraphQL) -> None:
    done = run_bulk(gql, '{ orders(query: "name:#999999") { edges { node { id } } } }')
    assert done["status"] == "COMPLETED" and done["objectCount"] == "0" and done["url"] is None


def test_cli_writes_what_the_sandbox_serves(tmp_path: Any, sandbox: ShopifySandbox) -> None:
    shop = sandbox.add_shop("cli-store", seed=9, customers=30, orders=90)
    token = sandbox.install(shop.domain)

    def client(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return requests.post(f"{shop.origin}/admin/api/{API_VERSION}/graphql.json", timeout=10,
                             json={"query": query, "variables": variables},
                             headers={"X-Shopify-Access-Token": token}).json()  # type: ignore[no-any-return]

    served = download(run_bulk(client, queries.BULK_ORDERS)["url"])
    out = tmp_path / "orders.jsonl"
    assert generate_main(["--orders", "90", "--customers", "30", "--seed", "9", "--out",
                          str(out), "--quiet"]) == 0
    assert out.read_bytes() == served


def test_generator_stream_is_deterministic(tmp_path: Any) -> None:
    spec = StoreSpec(seed=4, customers=50, orders=200)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with a.open("wb") as fa, b.open("wb") as fb:
        write_jsonl(fa, spec)
        write_jsonl(fb, spec)
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 0


UNGROUPED_RUN = """
mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id } userErrors { field message } }
}
"""


def bulk_lines(shop: Shop, token: str, version: str, mutation: str) -> list[dict[str, Any]]:
    def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return requests.post(f"{shop.origin}/admin/api/{version}/graphql.json", timeout=10,  # type: ignore[no-any-return]
                             json={"query": query, "variables": variables},
                             headers={"X-Shopify-Access-Token": token}).json()["data"]

    operation = post(mutation, {"query": queries.BULK_PRODUCTS})["bulkOperationRunQuery"]["bulkOperation"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        node = post(queries.BULK_STATUS_QUERY, {"id": operation["id"]})["node"]
        if node["status"] == "COMPLETED":
            return [json.loads(x) for x in download(node["url"]).decode().splitlines()]
        time.sleep(0.05)
    raise AssertionError("bulk operation did not finish")


def test_group_objects_defaults_to_false_from_2026_01(shop: Shop, token: str) -> None:
    # the pinned version: children may come after all parents unless groupObjects: true
    ungrouped = bulk_lines(shop, token, API_VERSION, UNGROUPED_RUN)
    kinds = ["child" if "__parentId" in line else "root" for line in ungrouped]
    assert kinds == sorted(kinds, key=lambda kind: kind == "child") and "child" in kinds
    grouped = bulk_lines(shop, token, API_VERSION, queries.BULK_RUN_MUTATION)
    assert "__parentId" in grouped[1] and sorted(map(json.dumps, grouped)) == sorted(map(json.dumps, ungrouped))
    # before 2026-01 grouping was the default
    assert "__parentId" in bulk_lines(shop, token, "2025-10", UNGROUPED_RUN)[1]

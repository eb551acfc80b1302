"""Discount code mutations: creation, uniqueness per shop (case-insensitive), lookup, redemption."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from integrations.shopify import queries
from sandbox.shopify import API_VERSION, ShopifySandbox
from sandbox.shopify.store import Shop

from .conftest import GraphQL


def basic(code: str, **extra: Any) -> dict[str, Any]:
    return {"basicCodeDiscount": {
        "title": f"Comeback {code}", "code": code, "startsAt": "2024-01-01T00:00:00Z",
        "customerSelection": {"all": True}, "appliesOncePerCustomer": True, "usageLimit": 1,
        "customerGets": {"value": {"percentage": 0.15}, "items": {"all": True}},
        "combinesWith": {"orderDiscounts": False, "productDiscounts": False,
                         "shippingDiscounts": True},
        **extra,
    }}


def create(gql: GraphQL, code: str, **extra: Any) -> dict[str, Any]:
    body = gql(queries.DISCOUNT_CODE_BASIC_CREATE, basic(code, **extra))
    assert "errors" not in body, body
    return body["data"]["discountCodeBasicCreate"]  # type: ignore[no-any-return]


def test_codes_are_unique_per_shop_case_insensitively(sandbox: ShopifySandbox, shop: Shop,
                                                       gql: GraphQL) -> None:
    made = create(gql, "BACK-15-X7")
    again = create(gql, "back-15-x7")

    assert made["userErrors"] == [] and made["codeDiscountNode"]["id"].startswith(
        "gid://shopify/DiscountCodeNode/")
    assert again == {"codeDiscountNode": None, "userErrors": [{
        "field": ["basicCodeDiscount", "code"], "code": "TAKEN",
        "message": "Code must be unique. Please try a different code."}]}
    assert [d.code for d in shop.discount_codes] == ["BACK-15-X7"]
    # the same code is fine in another shop
    other = sandbox.add_shop("other-store", seed=1, customers=3, orders=3)
    other_token = sandbox.install(other.domain)
    response = requests.post(f"{other.origin}/admin/api/{API_VERSION}/graphql.json", timeout=5, json={
        "query": queries.DISCOUNT_CODE_BASIC_CREATE, "variables": basic("BACK-15-X7")},
        headers={"X-Shopify-Access-Token": other_token}).json()
    assert response["data"]["discountCodeBasicCreate"]["userErrors"] == []


def test_merchant_codes_are_taken_too(gql: GraphQL) -> None:
    assert create(gql, "welcome10")["userErrors"][0]["code"] == "TAKEN"


def test_lookup_by_code(shop: Shop, gql: GraphQL) -> None:
    node_id = create(gql, "BDAY-ANNA")["codeDiscountNode"]["id"]
    body = gql("""query($code: String!) { codeDiscountNodeByCode(code: $code) { id
        codeDiscount { ... on DiscountCodeBasic { title status usageLimit
          codes(first: 1) { nodes { code } } } } } }""", {"code": "bday-anna"})
    node = body["data"]["codeDiscountNodeByCode"]
    assert node["id"] == node_id
    assert node["codeDiscount"] == {"title": "Comeback BDAY-ANNA", "status": "ACTIVE",
                                    "usageLimit": 1, "codes": {"nodes": [{"code": "BDAY-ANNA"}]}}
    assert gql('{ codeDiscountNodeByCode(code: "NOPE") { id } }')["data"] == {
        "codeDiscountNodeByCode": None}


def test_free_shipping_and_bxgy(shop: Shop, gql: GraphQL) -> None:
    free = gql(queries.DISCOUNT_CODE_FREE_SHIPPING_CREATE, {"freeShippingCodeDiscount": {
        "title": "Ship free", "code": "SHIPFREE-1", "startsAt": "2024-01-01T00:00:00Z",
        "customerSelection": {"all": True}, "destination": {"all": True},
        "minimumRequirement": {"subtotal": {"greaterThanOrEqualToSubtotal": "30.00"}}}})
    bxgy = gql(queries.DISCOUNT_CODE_BXGY_CREATE, {"bxgyCodeDiscount": {
        "title": "Buy 2 get 1", "code": "B2G1-1", "startsAt": "2024-01-01T00:00:00Z",
        "customerSelection": {"all": True},
        "customerBuys": {"value": {"quantity": "2"}, "items": {"all": True}},
        "customerGets": {"value": {"discountOnQuantity": {"quantity": "1", "effect": {
            "percentage": 1.0}}}, "items": {"products": {"productsToAdd": [
                shop.products[0].gid]}}}}})
    assert free["data"]["discountCodeFreeShippingCreate"]["userErrors"] == []
    assert bxgy["data"]["discountCodeBxgyCreate"]["userErrors"] == []
    assert {d.kind for d in shop.discount_codes} == {"free_shipping", "bxgy"}


def test_validation_errors(shop: Shop, gql: GraphQL) -> None:
    bad = create(gql, "BAD-1", customerGets={"value": {"percentage": 1.5},
                                             "items": {"all": True}})
    assert bad["userErrors"][0]["code"] == "VALUE_OUTSIDE_RANGE"
    blank = create(gql, "")
    assert blank["userErrors"][0]["field"] == ["basicCodeDiscount", "code"]
    ghost = create(gql, "GHOST-1", customerSelection={"customers": {"add": [
        "gid://shopify/Customer/1"]}})
    assert ghost["userErrors"][0]["code"] == "INVALID"
    assert shop.discount_codes == []


def test_a_customer_can_redeem_an_app_code(shop: Shop, gql: GraphQL) -> None:
    customer = shop.customers[0]
    create(gql, "ONLY-YOU", customerSelection={"customers": {"add": [customer.gid]}})
    variant = shop.products[0].variants[0]
    order = shop.place_order(customer.id, line_items=[(variant.id, 2)], discount_code="only-you")
    line = order.line_items[0]
    assert order.discounts[0].code == "ONLY-YOU"
    assert line.total_discount == (variant.price * 2 * Decimal("0.15")).quantize(Decimal("0.01"))
    assert order.subtotal == line.original_total - line.total_discount
    assert shop.discount_codes[0].usage_count == 1

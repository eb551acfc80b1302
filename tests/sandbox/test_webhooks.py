"""Webhook delivery: signing, headers, payload shapes, retries and the test controls."""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal

import pytest
import requests

from integrations.shopify import queries
from sandbox.shopify import API_VERSION, ShopifySandbox
from sandbox.shopify.store import Shop

from .conftest import API_SECRET, GraphQL, Receiver

TOPICS = ("ORDERS_CREATE", "ORDERS_PAID", "ORDERS_UPDATED", "ORDERS_CANCELLED", "REFUNDS_CREATE",
          "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "CUSTOMERS_DELETE", "PRODUCTS_UPDATE",
          "APP_UNINSTALLED")


def subscribe(gql: GraphQL, uri: str, topics: tuple[str, ...] = TOPICS) -> None:
    for topic in topics:
        body = gql(queries.WEBHOOK_SUBSCRIPTION_CREATE, {"topic": topic, "uri": uri})
        assert body["data"]["webhookSubscriptionCreate"]["userErrors"] == [], topic


def valid(received_body: bytes, signature: str, secret: str = API_SECRET) -> bool:
    digest = hmac.new(secret.encode(), received_body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature)


def test_subscriptions_are_listed_and_unique(shop: Shop, gql: GraphQL, receiver: Receiver
                                             ) -> None:
    subscribe(gql, receiver.url, ("ORDERS_CREATE",))
    again = gql(queries.WEBHOOK_SUBSCRIPTION_CREATE, {"topic": "ORDERS_CREATE",
                                                      "uri": receiver.url})
    assert again["data"]["webhookSubscriptionCreate"] == {"webhookSubscription": None,
                                                          "userErrors": [{
        "field": ["webhookSubscription", "callbackUrl"],
        "message": "Address for this topic has already been taken"}]}
    listed = gql(queries.WEBHOOK_SUBSCRIPTIONS_QUERY, {"first": 100})
    nodes = listed["data"]["webhookSubscriptions"]["nodes"]
    assert [(n["topic"], n["uri"]) for n in nodes] == [("ORDERS_CREATE", receiver.url)]


def test_new_order_is_delivered_signed(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                       receiver: Receiver) -> None:
    subscribe(gql, receiver.url)
    order = shop.place_order()
    assert sandbox.webhooks.wait_idle(5)
    got = {r.topic: r for r in receiver.requests}
    assert set(got) == {"orders/create", "orders/paid", "customers/update"}
    create = got["orders/create"]
    headers = create.headers
    assert valid(create.body, headers["X-Shopify-Hmac-Sha256"])
    assert headers["X-Shopify-Shop-Domain"] == shop.domain
    assert headers["X-Shopify-API-Version"] == API_VERSION
    assert headers["User-Agent"] == "Shopify-Captain-Hook"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Shopify-Webhook-Id"] and headers["X-Shopify-Triggered-At"]
    assert headers["X-Shopify-Webhook-Id"] != got["orders/paid"].headers["X-Shopify-Webhook-Id"]
    payload = create.json
    assert payload["id"] == order.id and payload["admin_graphql_api_id"] == order.gid
    assert payload["name"] == order.name and payload["order_number"] == order.number
    assert payload["financial_status"] == "paid" and payload["fulfillment_status"] is None
    assert Decimal(payload["total_price"]) == order.total_price
    assert isinstance(payload["total_price"], str)
    assert payload["customer"]["id"] == order.customer_id
    assert [li["id"] for li in payload["line_items"]] == [li.id for li in order.line_items]
    assert {"variant_id", "product_id", "sku", "price", "quantity", "total_discount"} <= set(
        payload["line_items"][0])


def test_refund_cancel_and_fulfil_topics(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                         receiver: Receiver) -> None:
    subscribe(gql, receiver.url)
    order = shop.place_order(line_items=[(shop.products[1].variants[0].id, 2)])
    before = order.updated_at
    line = order.line_items[0]
    refund = shop.refund_order(order.id, [(line.id, 1)], Decimal("0"), note="Leaking")
    shop.cancel_order(order.id, "customer")
    assert sandbox.webhooks.wait_idle(5)
    topics = receiver.topics()
    assert topics[-5:] == ["refunds/create", "orders/updated", "refunds/create",
                           "orders/cancelled", "orders/updated"]
    refund_body = next(r.json for r in receiver.requests if r.topic == "refunds/create")
    assert refund_body["id"] == refund.id and refund_body["order_id"] == order.id
    assert refund_body["refund_line_items"][0]["line_item_id"] == line.id
    assert refund_body["transactions"][0]["kind"] == "refund"
    assert Decimal(refund_body["transactions"][0]["amount"]) == refund.total
    cancelled = next(r.json for r in receiver.requests if r.topic == "orders/cancelled")
    assert cancelled["cancel_reason"] == "customer" and cancelled["financial_status"] == "refunded"
    assert order.total_refunded == order.total_price
    assert order.updated_at > before


def test_retries_until_accepted(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("PRODUCTS_UPDATE",))
    receiver.statuses = [500, 503]
    shop.update_product(shop.products[0].id, title="New title")
    assert sandbox.webhooks.wait_idle(5)
    attempts = receiver.requests
    assert len(attempts) == 3
    assert len({a.headers["X-Shopify-Webhook-Id"] for a in attempts}) == 1
    delivery = sandbox.webhooks.deliveries("products/update")[0]
    assert delivery.state == "delivered" and delivery.status_codes == [500, 503, 200]
    assert attempts[0].json["title"] == "New title"


def test_gives_up_after_the_retries(shop: Shop, gql: GraphQL, receiver: Receiver) -> None:
    box = ShopifySandbox(webhook_backoff=0.01, webhook_retries=2)
    box.start()
    try:
        other = box.add_shop("flaky-store", seed=1, customers=3, orders=3)
        other.subscriptions.clear()
        other.add_subscription("PRODUCTS_UPDATE", receiver.url, "JSON")
        receiver.statuses = [500] * 10
        other.update_product(other.products[0].id, title="x")
        assert box.webhooks.wait_idle(5)
        delivery = box.webhooks.deliveries("products/update")[0]
        assert delivery.state == "failed" and delivery.attempts == 3
    finally:
        box.stop()


def test_duplicates_with_new_or_same_id(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                        receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("CUSTOMERS_UPDATE",))
    customer = shop.customers[0]
    sandbox.webhooks.duplicate_next(1)
    shop.update_customer(customer.id, note="first")
    sandbox.webhooks.duplicate_next(1, same_id=True)
    shop.update_customer(customer.id, note="second")
    assert sandbox.webhooks.wait_idle(5)
    first, copy, second, same = receiver.requests
    assert first.body == copy.body
    assert first.headers["X-Shopify-Event-Id"] == copy.headers["X-Shopify-Event-Id"]
    assert first.headers["X-Shopify-Webhook-Id"] != copy.headers["X-Shopify-Webhook-Id"]
    assert second.headers["X-Shopify-Webhook-Id"] == same.headers["X-Shopify-Webhook-Id"]
    assert second.json["note"] == "second"


def test_hold_and_release_out_of_order(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                       receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("CUSTOMERS_UPDATE",))
    customer = shop.customers[1]
    sandbox.webhooks.hold()
    for n in range(3):
        shop.update_customer(customer.id, note=f"v{n}")
    assert sandbox.webhooks.wait_idle(1)
    assert receiver.requests == [] and len(sandbox.webhooks.held) == 3
    sandbox.webhooks.release("reverse")
    assert sandbox.webhooks.wait_idle(5)
    assert [r.json["note"] for r in receiver.requests] == ["v2", "v1", "v0"]
    stamps = [r.json["updated_at"] for r in receiver.requests]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 3


def test_drop_next_loses_a_delivery(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                    receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("ORDERS_CREATE", "ORDERS_PAID"))
    sandbox.webhooks.drop_next(1, topic="orders/create")
    shop.place_order()
    assert sandbox.webhooks.wait_idle(5)
    assert receiver.topics() == ["orders/paid"]
    assert sandbox.webhooks.deliveries("orders/create")[0].state == "dropped"


def test_secret_rotation(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                         receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("PRODUCTS_UPDATE",))
    sandbox.webhooks.set_secret("rotated")
    shop.update_product(shop.products[0].id, tags=["new"])
    assert sandbox.webhooks.wait_idle(5)
    (got,) = receiver.requests
    assert valid(got.body, got.headers["X-Shopify-Hmac-Sha256"], "rotated")
    assert not valid(got.body, got.headers["X-Shopify-Hmac-Sha256"])


def test_privacy_topics_go_to_the_app_address(sandbox: ShopifySandbox, shop: Shop,
                                              receiver: Receiver) -> None:
    sandbox.app_config(privacy_webhook_uri=receiver.url)
    customer = next(c for c in shop.customers if shop.orders_of(c.id))
    shop.request_customer_data(customer.id)
    shop.redact_customer(customer.id)
    shop.redact_shop()
    assert sandbox.webhooks.wait_idle(5)
    data_request, redact, shop_redact = (r.json for r in receiver.requests)
    assert receiver.topics() == ["customers/data_request", "customers/redact", "shop/redact"]
    orders = [o.id for o in shop.orders_of(customer.id)]
    assert data_request["orders_requested"] == orders
    assert data_request["customer"] == {"id": customer.id, "email": customer.email,
                                        "phone": customer.phone}
    assert set(data_request["data_request"]) == {"id"}
    assert redact["orders_to_redact"] == orders
    assert shop_redact == {"shop_id": shop.shop_id, "shop_domain": shop.domain}


def test_uninstall_revokes_and_notifies(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                        token: str, receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("APP_UNINSTALLED",))
    shop.uninstall()
    assert sandbox.webhooks.wait_idle(5)
    (got,) = receiver.requests
    assert got.topic == "app/uninstalled" and got.json["myshopify_domain"] == shop.domain
    response = requests.post(f"{shop.origin}/admin/api/{API_VERSION}/graphql.json", timeout=5,
                             json={"query": "{ shop { name } }"},
                             headers={"X-Shopify-Access-Token": token})
    assert response.status_code == 401
    assert shop.webhook_subscriptions == []


def test_customer_lifecycle_payloads(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                     receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "CUSTOMERS_DELETE"))
    customer = shop.create_customer(first_name="Dana", last_name="Cohen",
                                    email="dana@example.com", phone="+972500000001",
                                    tags=["vip", "b"], email_marketing="SUBSCRIBED",
                                    sms_marketing="SUBSCRIBED")
    shop.update_customer(customer.id, email_marketing="UNSUBSCRIBED")
    shop.delete_customer(customer.id)
    assert sandbox.webhooks.wait_idle(5)
    created, updated, deleted = (r.json for r in receiver.requests)
    assert created["tags"] == "b, vip" and created["email"] == "dana@example.com"
    assert created["email_marketing_consent"]["state"] == "subscribed"
    assert created["sms_marketing_consent"]["consent_collected_from"] == "OTHER"
    assert updated["email_marketing_consent"]["state"] == "unsubscribed"
    assert deleted == {"id": customer.id, "phone": None, "addresses": [], "tax_exemptions": [],
                       "email_marketing_consent": None, "sms_marketing_consent": None,
                       "admin_graphql_api_id": customer.gid}


@pytest.mark.parametrize("status", [404, 302])
def test_non_2xx_is_a_failure(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                              receiver: Receiver, status: int) -> None:
    subscribe(gql, receiver.url, ("PRODUCTS_UPDATE",))
    receiver.statuses = [status]
    shop.update_product(shop.products[0].id, vendor="Other")
    assert sandbox.webhooks.wait_idle(5)
    assert sandbox.webhooks.deliveries("products/update")[0].status_codes == [status, 200]


def test_bulk_operation_finish_is_announced(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                            receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("BULK_OPERATIONS_FINISH",))
    started = gql(queries.BULK_RUN_MUTATION, {"query": queries.BULK_CUSTOMERS})
    operation = started["data"]["bulkOperationRunQuery"]["bulkOperation"]
    sandbox.bulk.wait()
    assert sandbox.webhooks.wait_idle(5)
    (got,) = receiver.requests
    assert got.topic == "bulk_operations/finish"
    assert got.json["admin_graphql_api_id"] == operation["id"]
    assert got.json["status"] == "completed" and got.json["error_code"] is None

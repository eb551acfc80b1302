"""The sandbox's Billing API: appSubscriptionCreate, the approval page, activeSubscriptions,
appSubscriptionCancel and the signed ``app_subscriptions/update`` webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import requests

from integrations.shopify import queries
from sandbox.shopify import ShopifySandbox
from sandbox.shopify.store import Shop

from .conftest import API_KEY, API_SECRET, GraphQL, Receiver

CREATE = """
mutation Create($name: String!, $lineItems: [AppSubscriptionLineItemInput!]!, $returnUrl: URL!, $test: Boolean,
    $trialDays: Int) {
  appSubscriptionCreate(name: $name, lineItems: $lineItems, returnUrl: $returnUrl, test: $test, trialDays: $trialDays) {
    appSubscription { id name status test trialDays }
    confirmationUrl
    userErrors { field message }
  }
}
"""
ACTIVE = "{ currentAppInstallation { activeSubscriptions { id name status test currentPeriodEnd "\
         "lineItems { plan { pricingDetails { price { amount currencyCode } interval } } } } } }"
CANCEL = "mutation($id: ID!) { appSubscriptionCancel(id: $id) { appSubscription { id status } " \
         "userErrors { field message } } }"
LINE = [{"plan": {"appRecurringPricingDetails": {"price": {"amount": "29.00", "currencyCode": "USD"},
                                                  "interval": "EVERY_30_DAYS"}}}]


def create(gql: GraphQL, **overrides: object) -> dict:
    variables = {"name": "Comeback", "lineItems": LINE, "returnUrl": "https://app.example/plan/return?shop=x",
                 "test": True, "trialDays": 14, **overrides}
    return gql(CREATE, variables)["data"]["appSubscriptionCreate"]


def test_a_subscription_is_pending_until_the_merchant_approves_on_the_confirmation_page(
        sandbox: ShopifySandbox, shop: Shop, gql: GraphQL) -> None:
    created = create(gql)
    assert created["userErrors"] == []
    assert created["appSubscription"]["status"] == "PENDING" and created["appSubscription"]["test"] is True
    url = created["confirmationUrl"]
    assert url.startswith(f"{shop.origin}/admin/charges/{API_KEY}/")
    assert gql(ACTIVE)["data"]["currentAppInstallation"]["activeSubscriptions"] == []
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "USD 29.00" in page.text and "Free trial: 14 days" in page.text
    signature = parse_qs(urlparse(url).query)["signature"][0]
    approved = requests.post(url.split("?")[0], data={"signature": signature, "decision": "approve"},
                             allow_redirects=False, timeout=10)
    charge_id = created["appSubscription"]["id"].rsplit("/", 1)[-1]
    assert approved.headers["Location"] == f"https://app.example/plan/return?shop=x&charge_id={charge_id}"
    [active] = gql(ACTIVE)["data"]["currentAppInstallation"]["activeSubscriptions"]
    assert (active["id"], active["status"], active["name"]) == (created["appSubscription"]["id"], "ACTIVE", "Comeback")
    details = active["lineItems"][0]["plan"]["pricingDetails"]
    assert (Decimal(details["price"]["amount"]), details["price"]["currencyCode"], details["interval"]) == (
        Decimal("29"), "USD", "EVERY_30_DAYS")
    # a decided charge cannot be decided again
    again = requests.post(url.split("?")[0], data={"signature": signature, "decision": "decline"},
                          allow_redirects=False, timeout=10)
    assert again.status_code == 409


def test_declined_cancelled_and_invalid_input(shop: Shop, gql: GraphQL) -> None:
    assert create(gql, lineItems=[])["userErrors"][0]["field"] == ["lineItems"]
    assert create(gql, returnUrl="not a url")["userErrors"][0]["field"] == ["returnUrl"]
    created = create(gql)
    charge_id = int(created["appSubscription"]["id"].rsplit("/", 1)[-1])
    shop.billing.decide(charge_id, approve=False)
    assert gql(ACTIVE)["data"]["currentAppInstallation"]["activeSubscriptions"] == []
    refused = gql(CANCEL, {"id": created["appSubscription"]["id"]})["data"]["appSubscriptionCancel"]
    assert refused["appSubscription"] is None and "declined" in refused["userErrors"][0]["message"]
    second = create(gql)
    shop.billing.decide(int(second["appSubscription"]["id"].rsplit("/", 1)[-1]), approve=True)
    cancelled = gql(CANCEL, {"id": second["appSubscription"]["id"]})["data"]["appSubscriptionCancel"]
    assert cancelled == {"appSubscription": {"id": second["appSubscription"]["id"], "status": "CANCELLED"},
                         "userErrors": []}
    assert gql(ACTIVE)["data"]["currentAppInstallation"]["activeSubscriptions"] == []


def test_every_change_sends_a_signed_app_subscriptions_update(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                                               receiver: Receiver) -> None:
    body = gql(queries.WEBHOOK_SUBSCRIPTION_CREATE, {"topic": "APP_SUBSCRIPTIONS_UPDATE", "uri": receiver.url})
    assert body["data"]["webhookSubscriptionCreate"]["userErrors"] == []
    created = create(gql)
    charge_id = int(created["appSubscription"]["id"].rsplit("/", 1)[-1])
    shop.billing.decide(charge_id, approve=True)
    shop.billing.set_status(charge_id, "FROZEN")
    received = receiver.wait_for(3)
    assert [r.topic for r in received] == ["app_subscriptions/update"] * 3
    statuses = [r.json["app_subscription"]["status"] for r in received]
    assert statuses == ["PENDING", "ACTIVE", "FROZEN"]
    first = received[0]
    digest = base64.b64encode(hmac.new(API_SECRET.encode(), first.body, hashlib.sha256).digest()).decode()
    assert first.headers["X-Shopify-Hmac-Sha256"] == digest
    payload = received[-1].json["app_subscription"]
    assert set(payload) == {"admin_graphql_api_id", "name", "status", "admin_graphql_api_shop_id", "created_at",
                            "updated_at", "currency", "capped_amount"}
    assert payload["admin_graphql_api_id"] == created["appSubscription"]["id"]
    assert payload["updated_at"] > received[0].json["app_subscription"]["updated_at"]


def test_uninstalling_cancels_the_subscriptions(shop: Shop, gql: GraphQL) -> None:
    created = create(gql)
    charge_id = int(created["appSubscription"]["id"].rsplit("/", 1)[-1])
    shop.billing.decide(charge_id, approve=True)
    shop.uninstall()
    assert shop.billing.get(charge_id).status == "CANCELLED"

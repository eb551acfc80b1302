"""The upgrade over real HTTP against the Shopify sandbox: the dashboard creates the subscription, the
merchant approves or declines on Shopify's page, the return is verified with Shopify (never the query
string), webhooks keep the plan current and the reconciliation catches a lost one."""

import base64
import html
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from billing.models import ShopPlan, SubscriptionStatus
from billing.plans import PlanCode
from commerce.models import Shop
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.tasks import plan_sync_shop
from tests.e2e.conftest import install, wait_until
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "plan-store.myshopify.com"
HOST = base64.b64encode(b"admin.shopify.com/store/plan-store").decode().rstrip("=")


def embedded() -> dict[str, str]:
    return {"shop": DOMAIN, "host": HOST, "id_token": session_token(DOMAIN)}


def row() -> ShopPlan:
    return ShopPlan.objects.get(shop__domain=DOMAIN)


@pytest.fixture
def store(app: Any, sandbox: Any) -> Any:
    store = sandbox.add_shop(DOMAIN, seed=3, customers=5, orders=5)
    sandbox.app_config(app_url=app.url)
    install(app, DOMAIN)
    return store


def upgrade(app: Any, sandbox: Any, store: Any) -> tuple[str, str, str]:
    """Click Upgrade: the app answers with Shopify's confirmation URL (charge id, signature).  The
    sandbox's webhooks are held from here until the test releases them (SQLite's test database
    takes one writer at a time; on PostgreSQL they could run alongside)."""
    sandbox.webhooks.wait_idle(10)
    sandbox.webhooks.hold()
    response = requests.post(f"{app.url}/dashboard/plan/upgrade/", params=embedded(), allow_redirects=False,
                             timeout=60)
    assert response.status_code == 200, response.text[:300]
    link = re.search(r'href="([^"]+)" id="plan-continue"', response.text)
    assert link is not None, response.text[:300]
    location = html.unescape(link.group(1))
    assert f'content="0;url={html.escape(location)}"' in response.text
    assert location.startswith(f"{store.origin}/admin/charges/test-api-key/"), location
    charge_id = urlparse(location).path.split("/")[-3]
    return location, charge_id, parse_qs(urlparse(location).query)["signature"][0]


def decide(location: str, signature: str, decision: str) -> str:
    response = requests.post(location.split("?")[0], data={"signature": signature, "decision": decision},
                             allow_redirects=False, timeout=60)
    assert response.status_code == 302, response.text[:300]
    return response.headers["Location"]


def test_approving_the_subscription_makes_the_shop_paid_and_cancel_takes_it_back(app, sandbox, store) -> None:
    # when the merchant clicks Upgrade
    location, charge_id, signature = upgrade(app, sandbox, store)
    # then Shopify's page shows the plan as a test charge with its trial, and nothing is paid yet
    page = requests.get(location, timeout=60).text
    assert "Comeback" in page and "USD 29.00" in page and "every 30 days" in page
    assert "Free trial: 14 days" in page and "Test charge" in page
    subscription = store.billing.get(int(charge_id))
    assert (subscription.test, subscription.trial_days, subscription.return_url.startswith(app.url)) == (
        True, 14, True)
    assert (row().plan, row().subscription_status) == (PlanCode.FREE, SubscriptionStatus.PENDING)

    # when the merchant approves, Shopify sends them back with charge_id (its webhooks held back:
    # the return alone must get the plan right)
    back = decide(location, signature, "approve")
    assert back.startswith(f"{app.url}/dashboard/plan/return/") and f"charge_id={charge_id}" in back
    response = requests.get(back, allow_redirects=False, timeout=60)
    # then the app asked Shopify, stored the paid plan and sends the merchant back into the admin
    assert response.headers["Location"] == f"{store.origin}/admin/apps/test-api-key"  # the sandbox's admin
    plan = row()
    assert (plan.plan, plan.subscription_status, plan.is_test) == (PlanCode.PAID, SubscriptionStatus.ACTIVE, True)
    assert plan.subscription_id == f"gid://shopify/AppSubscription/{charge_id}"
    assert plan.current_period_end is not None
    # and Shopify's webhooks (ACTIVE, then the older PENDING: out of order) arrive signed and leave it paid
    sandbox.webhooks.release("reverse")
    assert wait_until(lambda: WebhookDelivery.objects.filter(
        topic="app_subscriptions/update", status=DeliveryStatus.PROCESSED).count() == 2)
    assert row().plan == PlanCode.PAID

    # when the merchant cancels on the Plan page
    sandbox.webhooks.hold()
    response = requests.post(f"{app.url}/dashboard/plan/cancel/", params=embedded(), allow_redirects=False,
                             timeout=60)
    assert response.status_code == 302
    # then Shopify has it cancelled and the shop is free again
    assert store.billing.get(int(charge_id)).status == "CANCELLED"
    assert (row().plan, row().subscription_status) == (PlanCode.FREE, SubscriptionStatus.CANCELLED)
    sandbox.webhooks.release()
    assert wait_until(lambda: WebhookDelivery.objects.filter(
        topic="app_subscriptions/update", status=DeliveryStatus.PROCESSED).count() == 3)
    assert row().plan == PlanCode.FREE


def test_declining_keeps_the_shop_free(app, sandbox, store) -> None:
    location, charge_id, signature = upgrade(app, sandbox, store)
    back = decide(location, signature, "decline")
    requests.get(back, allow_redirects=False, timeout=60)
    sandbox.webhooks.release()
    assert store.billing.get(int(charge_id)).status == "DECLINED"
    assert wait_until(lambda: row().subscription_status == SubscriptionStatus.DECLINED)
    assert row().plan == PlanCode.FREE


def test_a_forged_return_does_not_upgrade(app, sandbox, store) -> None:
    location, charge_id, _signature = upgrade(app, sandbox, store)
    sandbox.webhooks.release()
    sandbox.webhooks.wait_idle(10)
    # the merchant (or anyone) opens the return URL without approving, with the real charge id
    # and with invented ones: Shopify has nothing active, so the shop stays free
    for charge in (charge_id, "1", "29000000099"):
        response = requests.get(f"{app.url}/dashboard/plan/return/",
                                params={"shop": DOMAIN, "charge_id": charge, "status": "ACTIVE"},
                                allow_redirects=False, timeout=60)
        assert response.status_code == 302 and response.headers["Location"] == "/dashboard/plan/"
    assert row().plan == PlanCode.FREE
    # an approval page link without its signature opens nothing
    assert requests.get(location.split("?")[0], timeout=60).status_code == 404


def test_a_frozen_subscription_is_free_until_active_again_and_reconciliation_catches_a_lost_webhook(
        app, sandbox, store) -> None:
    location, charge_id, signature = upgrade(app, sandbox, store)
    requests.get(decide(location, signature, "approve"), allow_redirects=False, timeout=60)
    assert row().plan == PlanCode.PAID
    sandbox.webhooks.release()
    sandbox.webhooks.wait_idle(10)
    control = f"{sandbox.base_url}/_sandbox/shops/{DOMAIN}/app_subscriptions/{charge_id}"
    # the store's own bill is unpaid: Shopify freezes the subscription and tells us
    assert requests.post(control, json={"status": "FROZEN"}, timeout=60).json()["status"] == "FROZEN"
    assert wait_until(lambda: row().subscription_status == SubscriptionStatus.FROZEN)
    assert row().plan == PlanCode.FREE
    # paid again, but that webhook is lost: the periodic reconciliation asks Shopify
    sandbox.webhooks.drop_next(1, topic="app_subscriptions/update")
    requests.post(control, json={"status": "ACTIVE"}, timeout=60)
    sandbox.webhooks.wait_idle(10)
    assert row().plan == PlanCode.FREE
    assert plan_sync_shop(Shop.objects.get(domain=DOMAIN).pk) == "plan paid"
    assert (row().plan, row().subscription_status) == (PlanCode.PAID, SubscriptionStatus.ACTIVE)

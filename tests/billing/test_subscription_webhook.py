"""``app_subscriptions/update`` keeps the shop's plan current: signed, in order, only ACTIVE is paid."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from billing.models import ShopPlan, SubscriptionStatus
from billing.plans import PlanCode
from billing.selectors import plan_for
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.shopify import queries
from tests.factories import ShopFactory
from tests.integrations.helpers import post_webhook

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "app_subscriptions_update.json").read_text())
TOPIC = "app_subscriptions/update"


@pytest.fixture
def shop() -> Any:
    return ShopFactory(domain="billing-store.myshopify.com")


def update(*, status: str, updated_at: str, subscription: str = "1029266947", name: str = "Comeback") -> dict:
    """Shopify's sample payload (shopify.dev, webhook topic reference) with our plan's name."""
    payload = copy.deepcopy(FIXTURE)
    payload["app_subscription"].update(
        status=status, name=name, updated_at=updated_at,
        admin_graphql_api_id=f"gid://shopify/AppSubscription/{subscription}")
    return payload


def plan_row(shop: Any) -> ShopPlan:
    return ShopPlan.objects.get(shop=shop)


def test_the_topic_is_subscribed_at_install_and_declared_in_the_app_configuration() -> None:
    assert queries.WEBHOOK_TOPICS[TOPIC] == "APP_SUBSCRIPTIONS_UPDATE"
    toml = (Path(__file__).parents[2] / "shopify.app.toml").read_text()
    assert f'"{TOPIC}"' in toml


def test_shopifys_sample_payload_is_processed_and_a_pending_subscription_keeps_the_shop_free(client, shop) -> None:
    response = post_webhook(client, TOPIC, FIXTURE, shop_domain=shop.domain)
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED
    row = plan_row(shop)
    assert (row.plan, row.subscription_status, row.subscription_id) == (
        PlanCode.FREE, SubscriptionStatus.PENDING, "gid://shopify/AppSubscription/1029266947")


def test_an_active_subscription_makes_the_shop_paid_and_cancelled_takes_it_back_to_free(client, shop) -> None:
    post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00-05:00"),
                 shop_domain=shop.domain)
    assert plan_row(shop).plan == PlanCode.PAID
    assert plan_for(shop=shop).orders_per_month is None
    post_webhook(client, TOPIC, update(status="CANCELLED", updated_at="2026-12-05T10:00:00-05:00"),
                 shop_domain=shop.domain)
    row = plan_row(shop)
    assert (row.plan, row.subscription_status) == (PlanCode.FREE, SubscriptionStatus.CANCELLED)
    assert plan_for(shop=shop).orders_per_month == 200


@pytest.mark.parametrize("status", ["DECLINED", "EXPIRED", "FROZEN", "CANCELLED"])
def test_every_ending_status_is_free(client, shop, status) -> None:
    post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00Z"), shop_domain=shop.domain)
    post_webhook(client, TOPIC, update(status=status, updated_at="2026-12-02T10:00:00Z"), shop_domain=shop.domain)
    assert (plan_row(shop).plan, plan_row(shop).subscription_status) == (PlanCode.FREE, status)


def test_a_stale_update_arriving_late_changes_nothing(client, shop) -> None:
    # Shopify delivers the cancellation before the older activation
    post_webhook(client, TOPIC, update(status="CANCELLED", updated_at="2026-12-05T10:00:00-05:00"),
                 shop_domain=shop.domain)
    post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00-05:00"),
                 shop_domain=shop.domain)
    row = plan_row(shop)
    assert (row.plan, row.subscription_status) == (PlanCode.FREE, SubscriptionStatus.CANCELLED)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}


def test_a_pending_report_in_the_same_second_does_not_undo_the_activation(client, shop) -> None:
    post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00Z"), shop_domain=shop.domain)
    post_webhook(client, TOPIC, update(status="PENDING", updated_at="2026-12-01T10:00:00Z"), shop_domain=shop.domain)
    assert plan_row(shop).plan == PlanCode.PAID


def test_a_declined_second_subscription_does_not_end_the_paid_one(client, shop) -> None:
    post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00Z"), shop_domain=shop.domain)
    post_webhook(client, TOPIC, update(status="DECLINED", updated_at="2026-12-03T10:00:00Z", subscription="77"),
                 shop_domain=shop.domain)
    row = plan_row(shop)
    assert (row.plan, row.subscription_id) == (PlanCode.PAID, "gid://shopify/AppSubscription/1029266947")


def test_another_apps_plan_name_is_not_our_paid_plan(client, shop) -> None:
    post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00Z", name="Webhook Test"),
                 shop_domain=shop.domain)
    assert plan_row(shop).plan == PlanCode.FREE


def test_a_forged_update_is_refused_and_changes_nothing(client, shop) -> None:
    response = post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00Z"),
                            shop_domain=shop.domain, secret="not-the-app-secret-but-long-enough-32")
    assert response.status_code == 401
    assert not ShopPlan.objects.filter(shop=shop).exists()
    assert not WebhookDelivery.objects.exists()


def test_uninstalling_ends_the_paid_plan(client, shop) -> None:
    post_webhook(client, TOPIC, update(status="ACTIVE", updated_at="2026-12-01T10:00:00Z"), shop_domain=shop.domain)
    assert plan_row(shop).plan == PlanCode.PAID
    post_webhook(client, "app/uninstalled", {"id": 548380009, "domain": shop.domain, "myshopify_domain": shop.domain},
                 shop_domain=shop.domain)
    assert (plan_row(shop).plan, plan_row(shop).subscription_status) == (PlanCode.FREE, SubscriptionStatus.CANCELLED)

"""One event, two delivery ids: Shopify sends an event once per subscription, and a topic can be
subscribed app-wide (shopify.app.toml) and per shop; the second copy is recorded and skipped."""

import pytest

from commerce.models import Order
from integrations.models import DeliveryStatus, WebhookDelivery
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_event_under_two_delivery_ids_is_applied_once(client):
    shop = ShopFactory(domain="twice.myshopify.com")
    for webhook_id in ("app-wide-1", "per-shop-1"):
        response = post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain,
                                webhook_id=webhook_id, event_id="evt-7001")
        assert response.status_code == 200
    first, second = WebhookDelivery.objects.order_by("pk")
    assert (first.status, second.status) == (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED)
    assert second.error == f"the same event as delivery {first.pk}"
    assert Order.objects.filter(shop=shop).count() == 1


def test_same_event_id_in_another_shop_or_topic_is_its_own_event(client):
    alpha, beta = ShopFactory(domain="alpha-e.myshopify.com"), ShopFactory(domain="beta-e.myshopify.com")
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=alpha.domain, event_id="e1")
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=beta.domain, event_id="e1")
    post_webhook(client, "orders/updated", fixture("shopify_order.json"), shop_domain=alpha.domain, event_id="e1")
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    assert Order.objects.filter(shop=beta).count() == 1

"""``shop/update`` keeps the shop's name, currency, time zone and locale current, in order."""

import copy
import json
import logging

import pytest

from commerce.models import Shop
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.shopify import queries
from integrations.shopify import webhooks as shopify_webhooks
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook, sign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    return ShopFactory(domain="inbox-store.myshopify.com", name="Old Name", currency="USD",
                       timezone="America/New_York", locale="en")


def details(shop: Shop) -> tuple[str, str, str, str, str]:
    shop.refresh_from_db()
    return shop.name, shop.email, shop.currency, shop.timezone, shop.locale


def test_the_topic_is_subscribed_at_install():
    assert queries.WEBHOOK_TOPICS["shop/update"] == "SHOP_UPDATE"


def test_a_signed_shop_update_changes_the_shop_details(client, shop):
    # when the merchant changes the store's settings and Shopify tells us
    response = post_webhook(client, "shop/update", fixture("shopify_shop.json"), shop_domain=shop.domain)
    # then the delivery is processed and the shop is current
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED
    assert details(shop) == ("Super Toys", "super@supertoys.com", "EUR", "Europe/Berlin", "de")


def test_an_older_delivery_arriving_late_changes_nothing(client, shop):
    newer = fixture("shopify_shop.json")
    older = copy.deepcopy(newer)
    older.update(name="Older Name", currency="GBP", iana_timezone="Europe/London",
                 updated_at="2026-12-07T09:00:00-05:00")
    post_webhook(client, "shop/update", newer, shop_domain=shop.domain)
    post_webhook(client, "shop/update", older, shop_domain=shop.domain)
    assert details(shop) == ("Super Toys", "super@supertoys.com", "EUR", "Europe/Berlin", "de")
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PROCESSED).count() == 2


def test_missing_or_unusable_values_keep_what_the_shop_had(client, shop):
    # Shopify's documentation sample leaves iana_timezone and updated_at null
    payload = fixture("shopify_shop.json")
    payload.update(iana_timezone=None, updated_at=None, currency="not-a-currency", primary_locale="")
    post_webhook(client, "shop/update", payload, shop_domain=shop.domain)
    assert details(shop) == ("Super Toys", "super@supertoys.com", "USD", "America/New_York", "en")


def test_a_forged_shop_update_is_refused(client, shop):
    response = post_webhook(client, "shop/update", fixture("shopify_shop.json"), shop_domain=shop.domain,
                            secret="not-our-secret-but-just-as-long-as-ours")
    assert response.status_code == 401
    assert details(shop) == ("Old Name", "", "USD", "America/New_York", "en")


def test_webhooks_in_another_api_version_are_noted_once(client, shop, caplog):
    # helpers.post_webhook sends the pinned version; a delivery in another one is worth a warning
    shopify_webhooks._VERSIONS_NOTED.discard("2025-07")  # noted once per process: start afresh
    # a Celery worker started by an earlier test leaves the root logger at ERROR: ask for warnings
    caplog.set_level(logging.WARNING, logger=shopify_webhooks.logger.name)
    body = json.dumps(fixture("shopify_shop.json")).encode()
    for webhook_id in ("v-1", "v-2"):
        client.post("/webhooks/shopify", data=body, content_type="application/json", headers={
            "X-Shopify-Topic": "shop/update", "X-Shopify-Hmac-Sha256": sign(body),
            "X-Shopify-Shop-Domain": shop.domain, "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-API-Version": "2025-07"})
    notes = [r for r in caplog.records if "arrive in API version 2025-07" in r.getMessage()]
    assert len(notes) == 1
    assert WebhookDelivery.objects.count() == 2  # still stored and processed


def test_a_new_primary_domain_moves_the_storefront_links(client, shop):
    """The merchant connects a custom domain: referral and cart links follow it."""
    post_webhook(client, "shop/update", fixture("shopify_shop.json"), shop_domain=shop.domain)
    shop.refresh_from_db()
    assert shop.storefront_url == "https://supertoys.example"
    payload = fixture("shopify_shop.json")
    payload.update(domain="www.supertoys.example", updated_at="2099-01-01T00:00:00-05:00")
    post_webhook(client, "shop/update", payload, shop_domain=shop.domain)
    shop.refresh_from_db()
    assert shop.storefront_url == "https://www.supertoys.example"


@pytest.mark.parametrize("domain", ["evil.example/path?x=1", "a..b", "", None, 42, "x" * 300])
def test_an_unusable_domain_keeps_the_storefront_url(client, shop, domain):
    shop.storefront_url = "https://shop.example"
    shop.save(update_fields=["storefront_url"])
    payload = fixture("shopify_shop.json")
    payload["domain"] = domain
    post_webhook(client, "shop/update", payload, shop_domain=shop.domain)
    shop.refresh_from_db()
    assert shop.storefront_url == "https://shop.example"
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED

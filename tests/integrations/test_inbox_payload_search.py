"""Finding a shopper's raw payloads in the inbox: by id as a whole number, by email or phone in
any case and any script, only within the shop -- on SQLite and PostgreSQL alike."""

import json

import pytest

from integrations.models import WebhookDelivery
from integrations.privacy import deliveries_mentioning
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_the_search_matches_whole_ids_emails_and_phones_of_the_shop_only():
    # given
    shop = ShopFactory(domain="alpha.myshopify.com")
    other = ShopFactory(domain="beta.myshopify.com")
    bodies = {
        "by-id": {"customer": {"id": 5001, "admin_graphql_api_id": "gid://shopify/Customer/5001"}},
        "by-gid-only": {"node": "gid://shopify/Customer/5001"},
        "longer-id": {"customer": {"id": 150012}, "order_number": 25001},
        "by-email": {"email": "Jose.Nunez+promo@Example.com"},
        "by-unicode-email": {"contact_email": "josé@exámple.com"},
        "by-phone": {"billing_address": {"phone": "+972 50-123-4567"}},
        "someone-else": {"email": "jose.nunez@example.org", "phone": "+972 50-123-4568"},
    }
    for name, body in bodies.items():
        WebhookDelivery.objects.create(platform="shopify", delivery_id=name, shop=shop, shop_domain=shop.domain,
                                       topic="orders/create", body=json.dumps(body, ensure_ascii=False).encode())
    WebhookDelivery.objects.create(platform="shopify", delivery_id="before-install", shop=None,
                                   shop_domain=shop.domain, topic="orders/create", body=b'{"customer": {"id": 5001}}')
    WebhookDelivery.objects.create(platform="shopify", delivery_id="other-shop", shop=other, shop_domain=other.domain,
                                   topic="orders/create", body=b'{"customer": {"id": 5001}}')
    # when
    found = deliveries_mentioning(shop=shop, ids=["5001"],
                                  texts=["jose.nunez+promo@example.com", "JOSÉ@EXÁMPLE.COM", "+972 50-123-4567"])
    # then
    assert sorted(found.values_list("delivery_id", flat=True)) == [
        "before-install", "by-email", "by-gid-only", "by-id", "by-phone", "by-unicode-email"]


def test_nothing_to_look_for_finds_nothing():
    shop = ShopFactory()
    WebhookDelivery.objects.create(platform="shopify", delivery_id="d1", shop=shop, shop_domain=shop.domain,
                                   topic="orders/create", body=b"{}")
    assert not deliveries_mentioning(shop=shop, ids=[], texts=["", ""]).exists()

"""POST /webhooks/woocommerce: WooCommerce's headers and signature, its creation ping, and the
inbox's once-per-delivery rule."""

import base64
import hashlib
import hmac
import json

import pytest

from integrations.models import WebhookDelivery
from integrations.woocommerce.models import WooWebhook
from tests.integrations.woocommerce_connect.helpers import connected_shop

pytestmark = pytest.mark.django_db

SECRET = "f" * 64
ORDER = {"id": 727, "parent_id": 0, "status": "processing", "currency": "USD", "total": "29.35",
         "customer_id": 7, "date_modified_gmt": "2026-03-01T10:00:00", "line_items": []}


@pytest.fixture
def shop():
    shop = connected_shop("127.0.0.1:8123/stores/acme")
    WooWebhook.objects.create(shop=shop, topic="order.updated", platform_id="12", secret=SECRET)
    return shop


def deliver(client, body: bytes, *, secret: str = SECRET, webhook_id: str = "12", delivery_id: str = "9f2e1c",
            source: str = "http://127.0.0.1:8123/stores/acme/", topic: str = "order.updated", signature=None):
    headers = {
        "HTTP_USER_AGENT": "WooCommerce/9.9.0 Hookshot (WordPress/6.8)",
        "HTTP_X_WC_WEBHOOK_SOURCE": source,
        "HTTP_X_WC_WEBHOOK_TOPIC": topic,
        "HTTP_X_WC_WEBHOOK_RESOURCE": topic.split(".")[0],
        "HTTP_X_WC_WEBHOOK_EVENT": topic.split(".")[-1],
        "HTTP_X_WC_WEBHOOK_SIGNATURE": signature if signature is not None else
        base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode(),
        "HTTP_X_WC_WEBHOOK_ID": webhook_id,
        "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery_id,
    }
    return client.post("/webhooks/woocommerce", body, content_type="application/json", **headers)


def test_a_signed_delivery_is_stored_once(client, shop):
    body = json.dumps(ORDER).encode()
    response = deliver(client, body)
    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get()
    assert (delivery.platform, delivery.shop_id, delivery.shop_domain, delivery.topic) == (
        "woocommerce", shop.pk, shop.domain, "order.updated")
    assert bytes(delivery.body) == body
    # the same delivery again changes nothing
    again = deliver(client, body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert WebhookDelivery.objects.count() == 1


def test_two_events_in_the_same_second_share_woocommerces_delivery_id_but_both_count(client, shop):
    # WooCommerce's delivery id is a hash of the webhook id and the current second
    deliver(client, json.dumps(ORDER).encode(), delivery_id="same")
    deliver(client, json.dumps({**ORDER, "id": 728}).encode(), delivery_id="same")
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.parametrize("case", ["wrong_secret", "no_signature", "garbage_signature", "unknown_webhook",
                                  "other_store", "tampered_body", "not_ascii"])
def test_forged_deliveries_are_401_and_nothing_is_stored(client, shop, case):
    body = json.dumps(ORDER).encode()
    response = {
        "wrong_secret": lambda: deliver(client, body, secret="0" * 64),
        "no_signature": lambda: deliver(client, body, signature=""),
        "garbage_signature": lambda: deliver(client, body, signature="!!not base64!!"),
        "unknown_webhook": lambda: deliver(client, body, webhook_id="99"),
        "other_store": lambda: deliver(client, body, source="https://elsewhere.example/"),
        "tampered_body": lambda: deliver(client, body.replace(b"29.35", b"2935.00"),
                                         signature=base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256)
                                                                    .digest()).decode()),
        "not_ascii": lambda: deliver(client, body, signature="זה לא"),
    }[case]()
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_the_creation_ping_is_answered_200_and_not_stored(client, shop):
    response = client.post("/webhooks/woocommerce", "webhook_id=12", content_type="application/x-www-form-urlencoded",
                           HTTP_USER_AGENT="WooCommerce/9.9.0 Hookshot (WordPress/6.8)")
    assert response.status_code == 200
    assert not WebhookDelivery.objects.exists()


def test_a_signed_delivery_with_a_malformed_topic_is_a_400(client, shop):
    response = deliver(client, json.dumps(ORDER).encode(), topic="order/updated")
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_a_store_whose_wordpress_address_has_www_is_still_recognised(client):
    # given a shop connected as shop.example whose WordPress calls itself www.shop.example
    shop = connected_shop("shop.example")
    WooWebhook.objects.create(shop=shop, topic="order.updated", platform_id="3", secret=SECRET)
    # when a delivery comes from https://www.shop.example/
    response = deliver(client, json.dumps(ORDER).encode(), webhook_id="3", source="https://www.shop.example/")
    # then it is the shop's delivery
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().shop_domain == "shop.example"


def test_a_genuine_body_replayed_under_another_topic_is_refused(client, shop):
    # the signature covers the body, not the headers: order.updated's body sent as order.deleted
    response = deliver(client, json.dumps(ORDER).encode(), topic="order.deleted")
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()

"""The plugin's endpoints, correctly signed, with arbitrary content: a clear 4xx (or 200), never a
5xx or a traceback.  The signature check is the door; this is the code behind it."""

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from integrations.models import WebhookDelivery
from integrations.webhooks import delivery_process
from integrations.woocommerce.models import WooWebhook
from tests.integrations.woocommerce_connect.helpers import connected_shop, now, plugin_signature
from tests.security import fuzzing

pytestmark = pytest.mark.django_db
FUZZ = hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture],
                           deadline=None)
WEBHOOK_SECRET = "w" * 64


@pytest.fixture
def shop():
    shop = connected_shop()
    WooWebhook.objects.create(shop=shop, topic="order.updated", platform_id="5", secret=WEBHOOK_SECRET)
    return shop


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])


def _signed(pairs: list[tuple[str, str]]) -> str:
    return urlencode([*pairs, ("signature", plugin_signature(pairs))])


@FUZZ
@given(pairs=fuzzing.query_pairs, user=fuzzing.text_values, email=fuzzing.text_values)
def test_the_admin_link_signed_with_anything_in_it(shop, pairs, user, email):
    client = Client(raise_request_exception=True)
    query = _signed([*pairs, ("shop", shop.domain), ("user", user), ("email", email), ("timestamp", now())])
    with transaction.atomic():
        _check(client.get(f"/woocommerce/admin?{query}"), "admin link")
        transaction.set_rollback(True)


@FUZZ
@given(path=st.sampled_from(["privacy/export", "privacy/erase", "plugin/disconnect"]),
       body=fuzzing.json_bodies(["email", "erase"]), pairs=fuzzing.query_pairs)
def test_signed_privacy_and_disconnect_requests_with_any_body(shop, path, body, pairs):
    client = Client(raise_request_exception=True)
    query = _signed([*pairs, ("shop", shop.domain), ("timestamp", now()),
                     ("body_sha256", hashlib.sha256(body).hexdigest())])
    with transaction.atomic():
        _check(client.post(f"/woocommerce/{path}?{query}", body, content_type="application/json"), path)
        transaction.set_rollback(True)


@FUZZ
@given(path=st.sampled_from(["plugin/claim", "callback"]), body=fuzzing.json_bodies(
    ["code", "store_url", "key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"]))
def test_unsigned_plugin_and_wc_auth_posts_with_any_body(shop, path, body):
    client = Client(raise_request_exception=True)
    with transaction.atomic():
        _check(client.post(f"/woocommerce/{path}", body, content_type="application/json"), path)
        transaction.set_rollback(True)


@FUZZ
@given(pairs=fuzzing.query_pairs, customer=fuzzing.text_values)
def test_the_widget_through_the_plugin_with_any_query(shop, pairs, customer):
    client = Client(raise_request_exception=True)
    query = _signed([*pairs, ("platform", "woocommerce"), ("shop", shop.domain),
                     ("logged_in_customer_id", customer), ("timestamp", now())])
    with transaction.atomic():
        _check(client.get(f"/proxy/loyalty?{query}"), "proxy")
        transaction.set_rollback(True)


@FUZZ
@given(pairs=fuzzing.query_pairs)
def test_the_return_from_wc_auth_with_any_query(shop, pairs):
    client = Client(raise_request_exception=True)
    _check(client.get(f"/woocommerce/connected?{urlencode(pairs)}"), "connected")


@FUZZ
@given(body=fuzzing.json_bodies(["id", "status", "line_items", "customer_id", "date_modified_gmt", "billing"]),
       topic=st.one_of(st.sampled_from(["order.updated", "order.created", "order.deleted", "customer.updated",
                                        "product.updated", "coupon.created"]), fuzzing.header_text),
       delivery_id=fuzzing.header_text)
def test_a_signed_webhook_with_any_content_is_answered_and_processed_without_a_traceback(shop, body, topic,
                                                                                         delivery_id):
    client = Client(raise_request_exception=True)
    signature = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {"X-WC-Webhook-Source": f"https://{shop.domain}/", "X-WC-Webhook-ID": "5",
               "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-ID": delivery_id,
               "X-WC-Webhook-Signature": signature}
    with transaction.atomic():
        response = client.post("/webhooks/woocommerce", data=body, content_type="application/json", headers=headers)
        _check(response, f"webhook {topic!r}")
        if response.status_code == 200 and "delivery" in response.json():
            delivery_pk = response.json()["delivery"]
            outcome = delivery_process(delivery_pk=delivery_pk)
            stored = WebhookDelivery.objects.get(pk=delivery_pk)
            assert stored.status in ("processed", "ignored") or stored.error, outcome
        transaction.set_rollback(True)


def test_the_signature_helper_matches_the_apps(shop):
    # the fuzz above only means something if its requests pass the door
    client = Client()
    query = _signed([("shop", shop.domain), ("user", "1"), ("email", "a@b.c"), ("timestamp", now())])
    assert client.get(f"/woocommerce/admin?{query}").status_code == 302

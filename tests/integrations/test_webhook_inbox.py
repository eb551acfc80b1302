"""The inbox: verify -> store once -> process; nothing lost, nothing counted twice."""

import copy
import json
from decimal import Decimal

import pytest
from django.test import override_settings

from commerce.models import Customer, DomainEvent, Order, OrderLine, Refund
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.tasks import retry_due_deliveries
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook, sign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    return ShopFactory(domain="inbox-store.myshopify.com")


def test_forged_signature_is_refused_and_nothing_is_stored(client, shop):
    # given a body signed with another secret
    body = json.dumps(fixture("shopify_order.json")).encode()
    # when
    response = post_webhook(client, "orders/create", body, shop_domain=shop.domain,
                            signature=sign(body, "not-our-secret"))
    # then
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    assert Order.objects.count() == 0


def test_missing_signature_is_refused(client, shop):
    response = post_webhook(client, "orders/create", fixture("shopify_order.json"),
                            shop_domain=shop.domain, signature="")
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_a_tampered_body_is_refused(client, shop):
    body = json.dumps(fixture("shopify_order.json")).encode()
    signature = sign(body)
    response = post_webhook(client, "orders/create", body.replace(b"403.00", b"4.00"),
                            shop_domain=shop.domain, signature=signature)
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_order_webhook_is_stored_raw_and_processed(client, shop):
    body = json.dumps(fixture("shopify_order.json")).encode()
    response = post_webhook(client, "orders/create", body, shop_domain=shop.domain, webhook_id="w-1")
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body
    assert delivery.status == DeliveryStatus.PROCESSED
    assert delivery.headers["X-Shopify-Topic"] == "orders/create"
    order = Order.objects.get(shop=shop)
    assert order.platform_id == "820982911946154508"
    assert order.total == Decimal("403.000")
    assert order.total_shipping == Decimal("15.000")
    assert order.discount_codes == ["WELCOME10"]
    assert order.customer.platform_id == "115310627314723954"
    assert OrderLine.objects.filter(order=order).count() == 2
    paid = DomainEvent.objects.get(shop=shop, name="order.paid")
    assert paid.payload["is_first_order"] is True
    assert paid.payload["total"] == "403.000"


def test_duplicate_delivery_changes_nothing(client, shop):
    payload = fixture("shopify_order.json")
    first = post_webhook(client, "orders/create", payload, shop_domain=shop.domain, webhook_id="dup-1")
    order_before = Order.objects.values().get()
    second = post_webhook(client, "orders/create", payload, shop_domain=shop.domain, webhook_id="dup-1")
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    assert WebhookDelivery.objects.count() == 1
    assert Order.objects.values().get() == order_before
    assert DomainEvent.objects.filter(name="order.paid").count() == 1


def test_same_change_under_another_id_is_absorbed(client, shop):
    payload = fixture("shopify_order.json")
    post_webhook(client, "orders/create", payload, shop_domain=shop.domain, webhook_id="a")
    post_webhook(client, "orders/paid", payload, shop_domain=shop.domain, webhook_id="b")
    assert WebhookDelivery.objects.count() == 2
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
    assert DomainEvent.objects.filter(name="order.paid").count() == 1


def test_out_of_order_delivery_keeps_the_newest_version(client, shop):
    # given the newer version (cancelled) arrives before the older one (paid)
    older = fixture("shopify_order.json")
    newer = copy.deepcopy(older)
    newer["updated_at"] = "2026-01-11T10:15:00-05:00"
    newer["cancelled_at"] = "2026-01-11T10:15:00-05:00"
    newer["cancel_reason"] = "customer"
    newer["financial_status"] = "voided"
    post_webhook(client, "orders/cancelled", newer, shop_domain=shop.domain)
    # when the older one arrives late
    post_webhook(client, "orders/create", older, shop_domain=shop.domain)
    # then the newer state stands
    order = Order.objects.get()
    assert order.financial_status == "voided"
    assert order.cancel_reason == "customer"
    assert order.cancelled_at is not None
    assert not DomainEvent.objects.filter(name="order.paid").exists()
    assert DomainEvent.objects.filter(name="order.cancelled").count() == 1


def test_refund_webhook_records_refund_once_and_emits_event(client, shop):
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)
    refund = fixture("shopify_refund.json")
    post_webhook(client, "refunds/create", refund, shop_domain=shop.domain, webhook_id="r1")
    post_webhook(client, "refunds/create", refund, shop_domain=shop.domain, webhook_id="r2")
    stored = Refund.objects.get()
    assert stored.amount == Decimal("199.000")
    assert stored.lines.get().order_line.platform_id == "866550311766439020"
    assert DomainEvent.objects.filter(name="order.refunded").count() == 1


def test_refund_before_its_order_fails_then_succeeds_on_retry(client, shop):
    # given a refund whose order is not known yet
    post_webhook(client, "refunds/create", fixture("shopify_refund.json"), shop_domain=shop.domain)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "not known yet" in delivery.error
    # when the order arrives and the retry job runs
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at="2000-01-01T00:00:00Z")
    retry_due_deliveries()
    # then
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert delivery.attempts == 2
    assert Refund.objects.count() == 1


def test_malformed_payload_is_kept_failed_with_reason_and_scheduled_for_retry(client, shop):
    response = post_webhook(client, "orders/create", b'{"id": 1, "line_items": [', shop_domain=shop.domain)
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "JSONDecodeError" in delivery.error
    assert delivery.next_attempt_at is not None
    assert bytes(delivery.body) == b'{"id": 1, "line_items": ['
    assert Order.objects.count() == 0


def test_payload_without_required_fields_is_reported(client, shop):
    post_webhook(client, "orders/create", {"name": "#1"}, shop_domain=shop.domain)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "missing id" in delivery.error


@override_settings(WEBHOOK_MAX_ATTEMPTS=2)
def test_a_delivery_that_keeps_failing_is_given_up_after_max_attempts(client, shop):
    post_webhook(client, "orders/create", b"not json", shop_domain=shop.domain)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at="2000-01-01T00:00:00Z")
    retry_due_deliveries()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempts == 2


def test_previous_secret_is_accepted_during_rotation(client, shop, settings):
    settings.SHOPIFY_API_SECRET = "new-secret"
    settings.SHOPIFY_API_SECRET_PREVIOUS = "test-api-secret-with-at-least-32-bytes"
    old = post_webhook(client, "customers/create", fixture("shopify_customer.json"),
                       shop_domain=shop.domain, secret="test-api-secret-with-at-least-32-bytes")
    new = post_webhook(client, "customers/update", fixture("shopify_customer.json"),
                       shop_domain=shop.domain, secret="new-secret")
    other = post_webhook(client, "customers/update", fixture("shopify_customer.json"),
                         shop_domain=shop.domain, secret="older-secret")
    assert (old.status_code, new.status_code, other.status_code) == (200, 200, 401)


def test_customer_webhook_maps_consent_tags_and_emits_created(client, shop):
    post_webhook(client, "customers/create", fixture("shopify_customer.json"), shop_domain=shop.domain)
    customer = Customer.objects.get(shop=shop)
    assert customer.email == "bob@biller.com"
    assert customer.tags == ["vip", "newsletter"]
    assert customer.email_consent == "subscribed"
    assert customer.sms_consent == "not_subscribed"
    assert DomainEvent.objects.filter(name="customer.created").count() == 1


def test_customer_delete_flags_the_customer(client, shop):
    post_webhook(client, "customers/create", fixture("shopify_customer.json"), shop_domain=shop.domain)
    post_webhook(client, "customers/delete", {"id": 706405506930370084, "phone": None, "addresses": []},
                 shop_domain=shop.domain)
    assert Customer.objects.get().is_deleted is True


def test_product_webhook_keeps_known_unit_cost(client, shop):
    product = fixture("shopify_product.json")
    post_webhook(client, "products/create", product, shop_domain=shop.domain)
    from commerce.models import Variant

    Variant.objects.filter(platform_id="642667041472713922").update(unit_cost=Decimal("7.5"))
    product["updated_at"] = "2026-01-02T12:00:00-05:00"
    product["variants"][0]["price"] = "21.00"
    post_webhook(client, "products/update", product, shop_domain=shop.domain)
    variant = Variant.objects.get(platform_id="642667041472713922")
    assert variant.price == Decimal("21.000")
    assert variant.unit_cost == Decimal("7.500")


def test_delivery_for_unknown_shop_is_kept_and_ignored(client):
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain="nobody.myshopify.com")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.IGNORED
    assert Order.objects.count() == 0


def test_a_delivery_without_webhook_id_is_rejected(client, shop):
    body = json.dumps({"id": 1}).encode()
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(body),
                                    "X-Shopify-Shop-Domain": shop.domain})
    assert response.status_code == 400
    assert WebhookDelivery.objects.count() == 0


def test_operator_retries_a_failed_delivery_from_the_admin(client, shop, admin_user):
    # given a refund that failed because its order had not arrived yet
    post_webhook(client, "refunds/create", fixture("shopify_refund.json"), shop_domain=shop.domain)
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)
    failed = WebhookDelivery.objects.get(topic="refunds/create")
    assert failed.status == DeliveryStatus.FAILED
    # when the operator picks "retry" in the admin
    client.force_login(admin_user)
    listing = client.get("/admin/integrations/webhookdelivery/", {"status__exact": "failed"})
    assert failed.delivery_id in listing.content.decode()
    response = client.post("/admin/integrations/webhookdelivery/",
                           {"action": "retry", "_selected_action": [failed.pk]}, follow=True)
    # then it is processed at once
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PROCESSED
    assert Refund.objects.count() == 1

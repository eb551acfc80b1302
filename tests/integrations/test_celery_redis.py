"""The production shape: the webhook is acked, a real Celery worker takes it from Redis."""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import caches

from commerce.models import Order
from integrations import inbox_waker
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.tasks import retry_due_deliveries
from retention_app.celery import app as celery_app
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_worker():
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://... (CI starts Redis)")
    previous = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = broker
    caches["default"].delete(inbox_waker.WAKE_PENDING_KEY)  # no wake-up left queued by another test
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous


def test_webhook_is_acked_then_processed_by_a_worker(client, redis_worker):
    shop = ShopFactory(domain="worker-store.myshopify.com")
    response = post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)
    assert response.status_code == 200
    deadline = time.monotonic() + 20
    delivery = WebhookDelivery.objects.get()
    while delivery.status == DeliveryStatus.RECEIVED and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED, delivery.error
    assert Order.objects.filter(shop=shop).count() == 1


def test_broker_down_still_acks_and_the_sweep_processes_the_delivery_later(client):
    # given the broker cannot be reached
    shop = ShopFactory(domain="no-broker.myshopify.com")
    previous = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        started = time.monotonic()
        response = post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)
        elapsed = time.monotonic() - started
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
    # then the delivery is acknowledged and kept, waiting
    assert response.status_code == 200
    assert elapsed < 5
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RECEIVED
    # when the broker is back and the sweep runs after the grace period
    WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at="2000-01-01T00:00:00Z")
    assert retry_due_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert Order.objects.filter(shop=shop).count() == 1

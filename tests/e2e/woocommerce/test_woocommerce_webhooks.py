"""WooCommerce webhooks over the wire: what a real store sends (and fails to send) and what the
inbox keeps.  WooCommerce signs each webhook with its own secret, pings it unsigned on creation,
never retries, may deliver late or twice, and disables a webhook after more than 5 failures."""

import base64
import hashlib
import hmac
import time

import pytest
import requests

from commerce.models import DomainEvent, Order, Refund
from integrations.models import WebhookDelivery
from integrations.platforms import adapter_for
from tests.e2e.conftest import wait_until
from tests.e2e.woocommerce.conftest import add_store, connect, db_totals, truth_totals

pytestmark = pytest.mark.django_db(transaction=True)


def webhook_for(store, topic: str):
    return next(w for w in store.webhooks.values() if w.topic == topic)


def repost(app, delivery) -> requests.Response:
    """The same POST again, byte for byte (what a store does when its queue runner fires twice)."""
    return requests.post(f"{app.url}/webhooks/woocommerce", data=delivery.body, headers=delivery.headers, timeout=10)


def signed_post(app, store, webhook, body: bytes, secret: str, **headers: str) -> requests.Response:
    sent = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": f"{store.url}/",
        "X-WC-Webhook-Topic": webhook.topic,
        "X-WC-Webhook-Resource": webhook.topic.split(".")[0],
        "X-WC-Webhook-Event": webhook.topic.split(".")[1],
        "X-WC-Webhook-ID": str(webhook.id),
        "X-WC-Webhook-Delivery-ID": hashlib.md5(body).hexdigest(),
        "X-WC-Webhook-Signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode(),
        **headers,
    }
    return requests.post(f"{app.url}/webhooks/woocommerce", data=body, headers=sent, timeout=10)


def test_forged_signature_is_401_and_nothing_is_stored(app, woo_sandbox):
    store = add_store(woo_sandbox, "forged", seed=1, customers=5, orders=5)
    shop = connect(app, store, woo_sandbox)
    webhook = webhook_for(store, "order.created")
    body = b'{"id":9999,"status":"processing","total":"1.00","currency":"USD","line_items":[]}'
    before = WebhookDelivery.objects.count()
    # signed with a secret that is not this webhook's
    forged = signed_post(app, store, webhook, body, "not-the-webhook-secret")
    assert forged.status_code == 401
    # another webhook's secret does not sign this one
    other = webhook_for(store, "customer.created")
    assert signed_post(app, store, webhook, body, other.secret).status_code == 401
    # the right secret over another body: the signature covers every byte
    genuine = base64.b64encode(hmac.new(webhook.secret.encode(), body, hashlib.sha256).digest()).decode()
    tampered = signed_post(app, store, webhook, body.replace(b"1.00", b"0.01"), webhook.secret,
                           **{"X-WC-Webhook-Signature": genuine})
    assert tampered.status_code == 401
    # no signature at all, a webhook id we never made, a store we do not know
    assert signed_post(app, store, webhook, body, webhook.secret, **{"X-WC-Webhook-Signature": ""}).status_code == 401
    assert signed_post(app, store, webhook, body, webhook.secret, **{"X-WC-Webhook-ID": "424242"}).status_code == 401
    assert signed_post(app, store, webhook, body, webhook.secret,
                       **{"X-WC-Webhook-Source": "http://127.0.0.1:1/stores/nobody/"}).status_code == 401
    assert WebhookDelivery.objects.count() == before
    assert not Order.objects.filter(shop=shop, platform_id="9999").exists()
    # and the real secret is accepted (the refusals above were about the signature)
    assert signed_post(app, store, webhook, body, webhook.secret).status_code == 200
    assert WebhookDelivery.objects.count() == before + 1


def test_the_creation_ping_gets_200_and_stores_nothing(app, woo_sandbox):
    store = add_store(woo_sandbox, "ping", seed=2, customers=5, orders=5)
    connect(app, store, woo_sandbox)
    before = WebhookDelivery.objects.count()
    # every webhook we created was pinged by the store and answered 200 (else it stays pending)
    pings = woo_sandbox.deliveries(store.name, kind="ping")
    assert {p.webhook_id for p in pings} == set(store.webhooks)
    assert all(p.status == 200 for p in pings) and not any(w.pending_delivery for w in store.webhooks.values())
    # the ping exactly as WooCommerce sends it: a form body, no signature, no topic
    ping = requests.post(f"{app.url}/webhooks/woocommerce", data={"webhook_id": "17"}, timeout=10,
                         headers={"User-Agent": pings[0].headers["User-Agent"]})
    assert ping.status_code == 200
    assert WebhookDelivery.objects.count() == before
    # something that only looks like a ping but carries more is not waved through
    sneaky = requests.post(f"{app.url}/webhooks/woocommerce", data=b'webhook_id=1&{"id":5}', timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert sneaky.status_code == 401
    assert WebhookDelivery.objects.count() == before


def test_duplicate_and_out_of_order_deliveries_change_nothing(app, woo_sandbox):
    store = add_store(woo_sandbox, "dupes", seed=11, customers=30, orders=80)
    shop = connect(app, store, woo_sandbox)
    shopper = next(iter(store.customers.values()))
    order = store.place_order(customer_id=shopper.id, items=[(p.variations[0].id if p.variations else p.id, 2)
                                                            for p in list(store.products.values())[:2]])
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").exists())

    # duplicates: every delivery of that checkout arrives a second time, byte for byte
    first = [d for d in woo_sandbox.deliveries(store.name) if d.resource_id in (order.id, shopper.id)]
    assert first
    for delivery in first:
        again = repost(app, delivery)
        assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Order.objects.filter(shop=shop, platform_id=str(order.id)).count() == 1
    assert DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").count() == 1

    # out of order: a refund's order.updated is held up on the way and arrives after the
    # cancellation that followed it (a later second, so WooCommerce gives it another delivery id)
    woo_sandbox.drop_next_delivery(store.name, 1)
    line = order.lines[0]
    store.refund_order(order.id, lines=[(line.id, 1)], reason="damaged")
    assert woo_sandbox.wait_idle(20)
    late = woo_sandbox.deliveries(store.name)[-1]
    assert late.dropped and late.topic == "order.updated" and late.json["refunds"]
    time.sleep(1.1)
    store.cancel_order(order.id)
    assert woo_sandbox.wait_idle(20)
    newest = woo_sandbox.deliveries(store.name)[-1]
    assert newest.ok and newest.json["status"] == "cancelled"
    assert newest.delivery_id != late.delivery_id
    assert wait_until(lambda: Order.objects.get(shop=shop, platform_id=str(order.id)).cancelled_at is not None)
    assert repost(app, late).status_code == 200
    assert wait_until(lambda: WebhookDelivery.objects.filter(
        shop=shop, status="received").count() == 0)

    stored = Order.objects.get(shop=shop, platform_id=str(order.id))
    truth = store.orders[order.id]
    assert stored.cancelled_at is not None
    assert stored.total_refunded == truth.total_refunded
    assert Refund.objects.filter(order=stored).count() == len(truth.refunds) == 1
    assert DomainEvent.objects.filter(shop=shop, key__startswith="order.refunded:").count() == 1
    assert DomainEvent.objects.filter(shop=shop, key=f"order.cancelled:{order.id}").count() == 1
    assert db_totals(shop) == truth_totals(store)


def test_two_changes_in_one_second_share_a_delivery_id_and_both_are_kept(app, woo_sandbox):
    # WooCommerce's delivery id is wp_hash(webhook id + the current second): two orders created in
    # the same second reach us under the same X-WC-Webhook-Delivery-ID
    store = add_store(woo_sandbox, "same-second", seed=12, customers=20, orders=30)
    shop = connect(app, store, woo_sandbox)
    woo_sandbox.webhooks.stop()  # the store's queue runner pauses; both deliveries go out together
    woo_sandbox.webhooks.mode = "manual"
    for attempt in range(3):
        pair = [store.place_order(customer_id=None, email=f"{attempt}-{n}@example.com") for n in range(2)]
        # held on the way (recorded as the store sent them), then both arrive at once
        woo_sandbox.drop_next_delivery(store.name, 2)
        woo_sandbox.flush_webhooks()
        sent = [d for d in woo_sandbox.deliveries(store.name) if d.topic == "order.created"][-2:]
        assert {d.resource_id for d in sent} == {o.id for o in pair} and all(d.dropped for d in sent)
        if sent[0].delivery_id == sent[1].delivery_id:
            break
    else:
        pytest.fail("three pairs of deliveries never fell in the same second")
    answers = [repost(app, delivery) for delivery in sent]
    assert [a.json()["duplicate"] for a in answers] == [False, False]
    assert wait_until(lambda: Order.objects.filter(shop=shop, platform_id__in=[str(o.id) for o in pair])
                      .count() == 2)


def test_a_lost_webhook_is_caught_by_reconciliation(app, woo_sandbox):
    store = add_store(woo_sandbox, "lost", seed=5, customers=30, orders=80)
    shop = connect(app, store, woo_sandbox)
    # given the store's next deliveries never reach us (WooCommerce will not retry them)
    woo_sandbox.drop_next_delivery(store.name, 10)
    shopper = next(iter(store.customers.values()))
    order = store.place_order(customer_id=shopper.id)
    assert woo_sandbox.wait_idle(20)
    assert not Order.objects.filter(shop=shop, platform_id=str(order.id)).exists()
    # when the periodic reconciliation runs
    counts = adapter_for("woocommerce").reconcile(shop=shop)
    # then the order is here, announced once, as if the webhook had arrived
    assert counts["orders"] >= 1
    assert Order.objects.get(shop=shop, platform_id=str(order.id)).total == order.total
    assert DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").count() == 1
    assert db_totals(shop) == truth_totals(store)
    # and a second pass changes nothing
    adapter_for("woocommerce").reconcile(shop=shop)
    assert DomainEvent.objects.filter(shop=shop, key=f"order.paid:{order.id}").count() == 1
    assert db_totals(shop) == truth_totals(store)


def test_a_webhook_the_store_disabled_is_re_enabled_and_what_it_missed_is_fetched(app, woo_sandbox, settings):
    store = add_store(woo_sandbox, "outage", seed=6, customers=30, orders=60)
    shop = connect(app, store, woo_sandbox)
    created = webhook_for(store, "order.created")
    # given our app answers every delivery with an error for a while (a bad deploy: 400 for every host)
    settings.ALLOWED_HOSTS = ["nowhere.invalid"]
    missed = [store.place_order(customer_id=None, email=f"guest{n}@example.com") for n in range(7)]
    assert woo_sandbox.wait_idle(30)
    # then WooCommerce disabled the webhook after more than 5 failures in a row, as it does
    assert created.status == "disabled"
    settings.ALLOWED_HOSTS = ["*"]
    after = store.place_order(customer_id=None, email="after@example.com")
    assert woo_sandbox.wait_idle(20)
    assert not any(d.resource_id == after.id for d in woo_sandbox.deliveries(store.name) if d.topic == "order.created")
    # when the reconciliation runs
    adapter_for("woocommerce").reconcile(shop=shop)
    # then the webhook is on again (and its ping answered), and every missed order is here
    assert created.status == "active" and created.failure_count == 0 and not created.pending_delivery
    assert all(w.status == "active" for w in store.webhooks.values())
    assert set(Order.objects.filter(shop=shop).values_list("platform_id", flat=True)) >= {
        str(o.id) for o in [*missed, after]}
    assert db_totals(shop) == truth_totals(store)
    # and the next order comes by webhook again
    live = store.place_order(customer_id=None, email="live@example.com")
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Order.objects.filter(shop=shop, platform_id=str(live.id)).exists())

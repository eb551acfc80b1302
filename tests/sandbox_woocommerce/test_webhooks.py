"""Webhooks as class-wc-webhook.php delivers them: ping, signature, headers, no retries, disabling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from woocommerce import API

from sandbox.woocommerce import WooCommerceSandbox, WooStore
from tests.sandbox_woocommerce.conftest import Receiver


def _hook(wc: API, receiver: Receiver, topic: str = "order.updated", **extra: str) -> dict:
    answer = wc.post("webhooks", {"name": "Comeback", "topic": topic, "secret": "s3cret",
                                  "delivery_url": f"{receiver.url}/webhooks/woocommerce", **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_creating_a_webhook_pings_it_unsigned(wc: API, receiver: Receiver) -> None:
    created = _hook(wc, receiver)
    assert (created["status"], created["resource"], created["event"]) == ("active", "order", "updated")
    assert "secret" not in created
    (ping,) = receiver.requests
    assert ping.body == f"webhook_id={created['id']}".encode()
    assert ping.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert not any(h.lower().startswith("x-wc-webhook") for h in ping.headers)
    assert ping.headers["User-Agent"].startswith("WooCommerce/")


def test_a_delivery_is_signed_and_carries_the_rest_resource(sandbox: WooCommerceSandbox, store: WooStore,
                                                            wc: API, receiver: Receiver) -> None:
    created = _hook(wc, receiver)
    order = store.place_order(customer_id=next(iter(store.customers)))
    store.complete_order(order.id)
    assert sandbox.flush_webhooks() == 1
    delivery = receiver.requests[-1]
    expected = base64.b64encode(hmac.new(b"s3cret", delivery.body, hashlib.sha256).digest()).decode()
    assert delivery.headers["X-WC-Webhook-Signature"] == expected
    assert delivery.headers["X-WC-Webhook-Topic"] == "order.updated"
    assert delivery.headers["X-WC-Webhook-Resource"] == "order"
    assert delivery.headers["X-WC-Webhook-Event"] == "updated"
    assert delivery.headers["X-WC-Webhook-ID"] == str(created["id"])
    assert delivery.headers["X-WC-Webhook-Source"] == store.url + "/"
    assert len(delivery.headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert delivery.headers["Content-Type"] == "application/json"
    assert b"\\/" in delivery.body  # wp_json_encode escapes slashes
    assert delivery.json == json.loads(json.dumps(store.order_json(store.order(order.id))))
    assert delivery.json["status"] == "completed"
    log = sandbox.deliveries(store.name)
    assert [d.topic for d in log] == ["order.updated"] and log[0].status == 200


def test_topics_follow_the_changes(sandbox: WooCommerceSandbox, store: WooStore, wc: API,
                                   receiver: Receiver) -> None:
    for topic in ("order.created", "customer.created", "coupon.created", "order.deleted"):
        _hook(wc, receiver, topic)
    customer = store.create_customer(email="dana@example.com", first_name="Dana")
    order = store.place_order(customer_id=customer.id)
    store.create_coupon(code="THANKS", amount="5")
    store.trash_order(order.id)
    sandbox.flush_webhooks()
    topics = {d.headers["X-WC-Webhook-Topic"]: d for d in receiver.requests[4:]}
    assert set(topics) == {"order.created", "customer.created", "coupon.created", "order.deleted"}
    assert topics["order.deleted"].json == {"id": order.id}
    assert topics["customer.created"].json["email"] == "dana@example.com"


def test_changes_waiting_in_the_queue_coalesce(sandbox: WooCommerceSandbox, store: WooStore, wc: API,
                                               receiver: Receiver) -> None:
    _hook(wc, receiver)
    order = store.place_order(customer_id=None, email="guest@example.com", paid=False)
    store.mark_paid(order.id)
    store.complete_order(order.id)
    assert sandbox.flush_webhooks() == 1  # one delivery, built when it runs
    assert receiver.requests[-1].json["status"] == "completed"


def test_failures_are_not_retried_and_the_seventh_in_a_row_disables(sandbox: WooCommerceSandbox, store: WooStore,
                                                                    wc: API, receiver: Receiver) -> None:
    created = _hook(wc, receiver)
    receiver.default = 500
    orders = list(store.orders)[:8]
    for count, order_id in enumerate(orders[:6], start=1):
        store.update_order(order_id, customer_note="leave at the door")
        sandbox.flush_webhooks()
        assert store.webhooks[created["id"]].failure_count == count
    assert store.webhooks[created["id"]].status == "active"
    store.update_order(orders[6], customer_note="leave at the door")
    sandbox.flush_webhooks()
    assert wc.get(f"webhooks/{created['id']}").json()["status"] == "disabled"
    store.update_order(orders[7], customer_note="leave at the door")
    assert sandbox.flush_webhooks() == 0 and len(receiver.requests) == 1 + 7  # nothing sent once disabled
    assert all(d.status == 500 for d in sandbox.deliveries(store.name))


def test_a_success_resets_the_failure_count(sandbox: WooCommerceSandbox, store: WooStore, wc: API,
                                            receiver: Receiver) -> None:
    created = _hook(wc, receiver)
    receiver.statuses = [503, 503]
    for order_id in list(store.orders)[:3]:
        store.update_order(order_id, customer_note="gift")
        sandbox.flush_webhooks()
    assert store.webhooks[created["id"]].failure_count == 0


def test_a_dropped_delivery_never_arrives(sandbox: WooCommerceSandbox, store: WooStore, wc: API,
                                          receiver: Receiver) -> None:
    _hook(wc, receiver)
    sandbox.drop_next_delivery(store.name, 1)
    first, second = list(store.orders)[:2]
    store.update_order(first, customer_note="gift")
    store.update_order(second, customer_note="gift")
    sandbox.flush_webhooks()
    assert [r.json["id"] for r in receiver.requests[1:]] == [second]
    assert [d.dropped for d in sandbox.deliveries(store.name)] == [True, False]


def test_paused_webhooks_do_not_deliver_and_reactivating_pings(sandbox: WooCommerceSandbox, store: WooStore,
                                                               wc: API, receiver: Receiver) -> None:
    created = _hook(wc, receiver)
    assert wc.put(f"webhooks/{created['id']}", {"status": "paused"}).json()["status"] == "paused"
    store.update_order(next(iter(store.orders)), customer_note="gift")
    assert sandbox.flush_webhooks() == 0
    wc.put(f"webhooks/{created['id']}", {"status": "active"})
    assert [r.body for r in receiver.requests] == [f"webhook_id={created['id']}".encode()] * 2


def test_webhook_crud_validates_like_the_controller(wc: API, receiver: Receiver) -> None:
    bad_topic = wc.post("webhooks", {"topic": "order.exploded", "delivery_url": receiver.url})
    assert bad_topic.status_code == 400 and bad_topic.json()["code"] == "woocommerce_rest_webhook_invalid_topic"
    bad_url = wc.post("webhooks", {"topic": "order.created", "delivery_url": "ftp://nope"})
    assert bad_url.json()["code"] == "woocommerce_rest_webhook_invalid_delivery_url"
    created = _hook(wc, receiver)
    assert [w["id"] for w in wc.get("webhooks").json()] == [created["id"]]
    assert wc.delete(f"webhooks/{created['id']}").status_code == 501  # no trash for webhooks
    assert wc.delete(f"webhooks/{created['id']}", params={"force": "true"}).status_code == 200
    assert wc.get("webhooks").json() == []


def test_draft_orders_send_nothing(sandbox: WooCommerceSandbox, store: WooStore, wc: API,
                                   receiver: Receiver) -> None:
    _hook(wc, receiver, "order.created")
    store.place_order(customer_id=None, email="draft@example.com", status="checkout-draft")
    assert sandbox.flush_webhooks() == 0 and len(receiver.requests) == 1  # the ping only


def test_a_variation_s_change_delivers_the_variation(sandbox: WooCommerceSandbox, store: WooStore, wc: API,
                                                     receiver: Receiver) -> None:
    _hook(wc, receiver, "product.updated")
    variation = next(iter(store.variations.values()))
    answer = wc.put(f"products/{variation.parent_id}/variations/{variation.id}",
                    {"regular_price": "21.00", "meta_data": [{"key": "_wc_cog_cost", "value": "8.40"}]})
    assert answer.status_code == 200 and answer.json()["price"] == "21.00"
    sandbox.flush_webhooks()
    body = receiver.requests[-1].json
    assert (body["id"], body["type"], body["parent_id"]) == (variation.id, "variation", variation.parent_id)
    assert body["meta_data"][0] == {"id": variation.id * 10 + 1, "key": "_wc_cog_cost", "value": "8.40"}


def test_trash_and_restore_send_deleted_and_restored(sandbox: WooCommerceSandbox, store: WooStore, wc: API,
                                                     receiver: Receiver) -> None:
    for topic in ("product.deleted", "product.restored", "coupon.deleted", "coupon.restored", "order.restored"):
        _hook(wc, receiver, topic)
    product_id = next(iter(store.products))
    coupon_id = next(iter(store.coupons))
    order_id = next(iter(store.orders))
    assert wc.delete(f"products/{product_id}").json()["status"] == "trash"
    assert wc.delete(f"coupons/{coupon_id}").json()["status"] == "trash"
    store.trash_order(order_id)
    store.restore_product(product_id)
    store.restore_coupon(coupon_id)
    store.restore_order(order_id)
    sandbox.flush_webhooks()
    got = {r.headers["X-WC-Webhook-Topic"]: r.json for r in receiver.requests[5:]}
    assert got["product.deleted"] == {"id": product_id} and got["coupon.deleted"] == {"id": coupon_id}
    assert got["product.restored"]["status"] == store.products[product_id].status != "trash"
    assert got["coupon.restored"]["status"] == "publish"
    assert got["order.restored"]["id"] == order_id and got["order.restored"]["status"] != "trash"


def test_a_paused_queue_runner_holds_deliveries_until_it_resumes(store: WooStore, receiver: Receiver) -> None:
    box = WooCommerceSandbox(webhook_mode="async")
    box.start()
    try:
        live = box.add_store("busy", spec=store.spec)
        box.create_webhook(live, topic="order.updated", delivery_url=f"{receiver.url}/hooks", secret="s")
        box.pause_webhooks()
        order_id = next(iter(live.orders))
        live.update_order(order_id, customer_note="one")
        live.update_order(order_id, customer_note="two")
        assert box.webhooks.pending(live.name) == 1 and len(receiver.requests) == 1  # the ping
        box.resume_webhooks()
        assert box.wait_idle(10)
        assert [r.json["customer_note"] for r in receiver.requests[1:]] == ["two"]
    finally:
        box.stop()

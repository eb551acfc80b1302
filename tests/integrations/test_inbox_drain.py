"""The inbox without a publish per webhook: a one-statement ack, a waker that coalesces wake-ups,
and drainers that claim batches with SKIP LOCKED, one savepoint per delivery."""

import copy
import os
import threading
import time
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.db import connection, connections, transaction
from django.test import override_settings

from commerce.models import DomainEvent, Order
from integrations import inbox_waker, webhooks
from integrations.models import DeliveryStatus, WebhookDelivery
from retention_app.celery import app as celery_app
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIP LOCKED row claims need PostgreSQL (CI runs them there)")


@pytest.fixture
def not_eager() -> Iterator[None]:
    """As in production: the ack only stores and wakes; nothing is processed on the request."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    caches["default"].delete(inbox_waker.WAKE_PENDING_KEY)  # no wake-up left queued by another test
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous
        caches["default"].delete(inbox_waker.WAKE_PENDING_KEY)


def order(number: int) -> dict:
    payload = copy.deepcopy(fixture("shopify_order.json"))
    payload["id"] = 900_000_000 + number
    payload["admin_graphql_api_id"] = f"gid://shopify/Order/{payload['id']}"
    payload["name"] = f"#{number}"
    for line in payload["line_items"]:
        line["id"] = int(f"{line['id']}"[:9] + f"{number:06d}")
    return payload


def post_orders(client, shop_domain: str, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        response = post_webhook(client, "orders/create", order(number), shop_domain=shop_domain,
                                webhook_id=f"order-{number}")
        assert response.status_code == 200


# --- the ack ------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_new_delivery_is_one_statement_and_a_redelivery_two(client, not_eager, django_assert_num_queries):
    # given a shop
    shop = ShopFactory(domain="ack-count.myshopify.com")
    # when a delivery arrives, then again
    with django_assert_num_queries(1):
        first = post_webhook(client, "orders/create", order(1), shop_domain=shop.domain, webhook_id="one")
    with django_assert_num_queries(2):
        again = post_webhook(client, "orders/create", order(1), shop_domain=shop.domain, webhook_id="one")
    # then it is stored once, for its shop, and waits for a drainer
    assert first.json() == {"delivery": again.json()["delivery"], "duplicate": False}
    assert again.json()["duplicate"] is True
    delivery = WebhookDelivery.objects.get()
    assert (delivery.shop_id, delivery.status, delivery.attempts) == (shop.pk, DeliveryStatus.RECEIVED, 0)
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_delivery_for_an_unknown_shop_is_stored_without_one(client, not_eager):
    response = post_webhook(client, "orders/create", order(1), shop_domain="nobody.myshopify.com")
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().shop_id is None


@pytest.mark.django_db(transaction=True)
def test_the_ack_wakes_the_drainers_and_a_redelivery_does_not(client, not_eager):
    shop = ShopFactory(domain="wake.myshopify.com")
    before = inbox_waker.publishes()
    post_webhook(client, "orders/create", order(1), shop_domain=shop.domain, webhook_id="w-1")
    deadline = time.monotonic() + 5
    while inbox_waker.publishes() == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert inbox_waker.publishes() == before + 1
    time.sleep(2 * 0.05 + 0.05)  # past the waker's interval: nothing else is pending
    post_webhook(client, "orders/create", order(1), shop_domain=shop.domain, webhook_id="w-1")
    time.sleep(2 * 0.05 + 0.05)
    assert inbox_waker.publishes() == before + 1


# --- the waker ----------------------------------------------------------------------------------

def test_the_waker_coalesces_a_burst_into_one_publish_per_interval():
    # given a waker whose publish takes a little time, as a broker round trip does
    published: list[float] = []

    def publish() -> bool:
        published.append(time.monotonic())
        time.sleep(0.002)
        return True

    waker = inbox_waker.Waker(publish, lambda: 0.05)
    # when 2,000 commits wake it within about half a second
    started = time.monotonic()
    for _ in range(2000):
        waker.wake()
        time.sleep(0.00025)
    elapsed = time.monotonic() - started
    time.sleep(0.2)
    # then it published about once per interval, not once per wake-up
    assert 1 <= waker.publishes == len(published) <= elapsed / 0.05 + 2
    assert all(later - earlier >= 0.05 for earlier, later in zip(published, published[1:], strict=False))


def test_every_wake_up_is_followed_by_a_publish_that_sees_it():
    # given a publish that records how many commits it could see
    committed = 0
    seen: list[int] = []

    def publish() -> bool:
        seen.append(committed)
        return True

    waker = inbox_waker.Waker(publish, lambda: 0.01)
    # when commits keep coming, each waking after it is made
    for _ in range(300):
        committed += 1
        waker.wake()
        time.sleep(0.0003)
    deadline = time.monotonic() + 2
    while (not seen or seen[-1] != committed) and time.monotonic() < deadline:
        time.sleep(0.01)
    # then the last publish came after the last commit (no lost wake-up), and there were far fewer
    assert seen[-1] == committed == 300
    assert len(seen) < 300


# --- the drain ----------------------------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the shared Redis cache (CI sets REDIS_URL)")
def test_a_wake_up_already_queued_is_not_published_again_until_a_drain_takes_it(not_eager):
    # given the shared cache production uses (Redis), and no wake-up waiting
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                               "LOCATION": os.environ["REDIS_URL"]}}
    with override_settings(CACHES=redis_cache):
        caches["default"].delete(inbox_waker.WAKE_PENDING_KEY)
        # when the web processes' wakers publish while a backlog waits
        first = inbox_waker.drain_publish()
        again = [inbox_waker.drain_publish() for _ in range(5)]
        # then one wake-up is queued, not one per interval per process
        assert (first, again) == (True, [False] * 5)
        # and once a drain has started, a row committed after its claim gets a wake-up of its own
        inbox_waker.wake_taken()
        assert inbox_waker.drain_publish() is True
        caches["default"].delete(inbox_waker.WAKE_PENDING_KEY)


@pytest.mark.django_db(transaction=True)
def test_a_batch_processes_every_delivery_in_order_and_a_poison_one_fails_alone(client, not_eager):
    # given new orders with a malformed delivery between them
    shop = ShopFactory(domain="batch.myshopify.com")
    post_orders(client, shop.domain, 3)
    post_webhook(client, "orders/create", b'{"id": 1, "line_items": [', shop_domain=shop.domain, webhook_id="bad")
    post_orders(client, shop.domain, 3, start=3)
    # when one drain runs
    result = webhooks.inbox_drain(batch_size=50, seconds=10)
    # then every good one is processed, the bad one is failed with its reason and a retry time
    assert (result.batches, result.deliveries, result.more) == (1, 7, False)
    statuses = dict(WebhookDelivery.objects.values_list("delivery_id", "status"))
    assert statuses.pop("bad") == DeliveryStatus.FAILED
    assert set(statuses.values()) == {DeliveryStatus.PROCESSED}
    bad = WebhookDelivery.objects.get(delivery_id="bad")
    assert bad.attempts == 1 and "JSONDecodeError" in bad.error and bad.next_attempt_at is not None
    assert bad.processed_at is None
    assert Order.objects.filter(shop=shop).count() == 6
    assert set(WebhookDelivery.objects.exclude(pk=bad.pk).values_list("attempts", flat=True)) == {1}
    # and a second drain has nothing to do (the failed one is not due yet)
    assert webhooks.inbox_drain(batch_size=50, seconds=10).deliveries == 0


@pytest.mark.django_db(transaction=True)
def test_the_drain_goes_batch_after_batch_and_stops_when_its_time_is_up(client, not_eager):
    shop = ShopFactory(domain="budget.myshopify.com")
    post_orders(client, shop.domain, 7)
    assert webhooks.inbox_drain(batch_size=3, seconds=0) == webhooks.DrainResult(batches=1, deliveries=3, more=True)
    assert webhooks.inbox_drain(batch_size=3, seconds=10) == webhooks.DrainResult(batches=2, deliveries=4, more=False)
    assert Order.objects.filter(shop=shop).count() == 7


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_due_again_is_retried_by_the_drain(client, not_eager):
    shop = ShopFactory(domain="retry.myshopify.com")
    post_webhook(client, "refunds/create", fixture("shopify_refund.json"), shop_domain=shop.domain)
    webhooks.inbox_drain(batch_size=50, seconds=10)
    refund = WebhookDelivery.objects.get()
    assert refund.status == DeliveryStatus.FAILED  # its order is not known yet
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)
    WebhookDelivery.objects.filter(pk=refund.pk).update(next_attempt_at="2000-01-01T00:00:00Z")
    assert webhooks.inbox_drain(batch_size=50, seconds=10).deliveries == 2
    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.error, refund.next_attempt_at) == (
        DeliveryStatus.PROCESSED, 2, "", None)


@pytest.mark.django_db(transaction=True)
def test_duplicates_and_copies_of_one_event_in_a_batch_are_applied_once(client, not_eager):
    shop = ShopFactory(domain="dup-batch.myshopify.com")
    for webhook_id in ("a", "a", "b"):  # a redelivery of "a", and "b": the same event under another id
        post_webhook(client, "orders/create", order(1), shop_domain=shop.domain, webhook_id=webhook_id,
                     event_id="evt-1")
    webhooks.inbox_drain(batch_size=50, seconds=10)
    a, b = WebhookDelivery.objects.order_by("pk")
    assert (a.status, b.status) == (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED)
    assert b.error == f"the same event as delivery {a.pk}"
    assert Order.objects.filter(shop=shop).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_order_twice_in_a_batch_is_applied_in_turn(client, not_eager):
    # given an order paid, then cancelled, with other orders of the shop around it
    shop = ShopFactory(domain="twice-batch.myshopify.com")
    post_orders(client, shop.domain, 2)
    post_webhook(client, "orders/create", order(7), shop_domain=shop.domain)
    post_orders(client, shop.domain, 2, start=2)
    cancelled = order(7) | {"cancelled_at": "2026-01-11T10:00:00Z", "updated_at": "2026-01-11T10:00:00Z"}
    post_webhook(client, "orders/cancelled", cancelled, shop_domain=shop.domain)
    # when one batch takes them all
    assert webhooks.inbox_drain_batch(batch_size=50) == 6
    # then both of its states were applied, each with its event
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    assert Order.objects.get(shop=shop, platform_id=str(order(7)["id"])).cancelled_at is not None
    events = DomainEvent.objects.filter(shop=shop, key__endswith=str(order(7)["id"]))
    assert sorted(events.values_list("name", flat=True)) == ["order.cancelled", "order.paid"]
    assert Order.objects.filter(shop=shop).count() == 5


@pytest.mark.django_db(transaction=True)
def test_the_drain_task_dispatches_each_batch_s_events_before_it_takes_the_next(client, not_eager, settings):
    from integrations.tasks import drain_inbox

    # given more waiting order deliveries than one batch takes
    settings.INBOX_DRAIN_BATCH = 2
    shop = ShopFactory(domain="dispatch-after.myshopify.com")
    post_orders(client, shop.domain, 3)
    # when a worker runs the drain task
    assert drain_inbox() == 3
    # then every order's paid event went out with the drain, not after a publish and another task
    paid = DomainEvent.objects.filter(shop=shop, name="order.paid")
    assert paid.count() == 3
    assert not paid.filter(dispatched_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_process_webhook_delivery_still_processes_one(client, not_eager):
    from integrations.tasks import process_webhook_delivery

    shop = ShopFactory(domain="one.myshopify.com")
    post_webhook(client, "orders/create", order(1), shop_domain=shop.domain)
    pk = WebhookDelivery.objects.get().pk
    assert process_webhook_delivery(pk).startswith("order ")
    assert process_webhook_delivery(pk) == "already processed"
    assert Order.objects.filter(shop=shop).count() == 1


@pytest.mark.django_db
def test_a_batch_of_fifty_orders_stays_within_its_statement_budget(client, not_eager,
                                                                   django_assert_max_num_queries):
    """The inbox's own work is per batch (the claim, the same-event check, the status writes), and
    a shop's run of orders is one set-based upsert: the statements do not grow with the orders
    as much as commerce's upserts allow (one by one it was about 25 per order; the outbox's
    subscribers run after the commit)."""
    shop = ShopFactory(domain="budget-50.myshopify.com")
    for number in range(50):
        post_webhook(client, "orders/create", order(number), shop_domain=shop.domain, webhook_id=f"o-{number}",
                     event_id=f"e-{number}")
    with django_assert_max_num_queries(300) as captured:  # 1,260 one by one
        assert webhooks.inbox_drain_batch(batch_size=50) == 50
    statements = [query["sql"] for query in captured.captured_queries]
    inbox = [sql for sql in statements if "integrations_webhookdelivery" in sql]
    assert len(inbox) == 3  # the claim (a full batch: no room for retries), events already seen, one UPDATE
    assert Order.objects.filter(shop=shop).count() == 50
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}


# --- two drainers (PostgreSQL) ------------------------------------------------------------------

def _in_thread(target) -> threading.Thread:  # type: ignore[no-untyped-def]
    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_drainer_skips_the_rows_another_one_holds(client, not_eager):
    # given ten waiting deliveries, the first four locked by another drainer's transaction
    shop = ShopFactory(domain="skip.myshopify.com")
    post_orders(client, shop.domain, 10)
    held = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True)[:4])
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            list(WebhookDelivery.objects.select_for_update().filter(pk__in=held))
            locked.set()
            release.wait(10)

    holder = _in_thread(hold)
    assert locked.wait(10)
    try:
        # when this drainer runs, it does not wait for them: it takes the other six
        started = time.monotonic()
        assert webhooks.inbox_drain_batch(batch_size=50) == 6
        assert time.monotonic() - started < 5
        assert set(WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).values_list("pk", flat=True)) \
            == set(held)
    finally:
        release.set()
        holder.join(10)
    # then, once released, the next drain takes the four
    assert webhooks.inbox_drain_batch(batch_size=50) == 4
    assert Order.objects.filter(shop=shop).count() == 10


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_drainers_at_once_process_every_delivery_exactly_once(client, not_eager):
    shop = ShopFactory(domain="two.myshopify.com")
    post_orders(client, shop.domain, 40)
    results: list[webhooks.DrainResult] = []
    drainers = [_in_thread(lambda: results.append(webhooks.inbox_drain(batch_size=4, seconds=30)))
                for _ in range(2)]
    for drainer in drainers:
        drainer.join(60)
    assert sum(result.deliveries for result in results) == 40
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.PROCESSED, 1)}
    assert Order.objects.filter(shop=shop).count() == 40

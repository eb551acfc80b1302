"""A poison event never stalls the outbox: a subscriber that raises for one shop's events is
isolated, retried with backoff and dead-lettered, while every other shop's events (and the other
subscribers of the same event) go on; operators retry or resolve it in the admin; a flood from
one shop cannot starve another.  Runs on PostgreSQL in CI (the whole suite does)."""

import copy
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from commerce import events
from commerce.models import Customer, DeliveryState, DomainEvent, EventDelivery, Order
from commerce.privacy import customer_erase
from commerce.tasks import dispatch_pending_events
from integrations.models import DeliveryStatus, WebhookDelivery
from loyalty.models import LedgerEntry, Program
from segments.models import CustomerScore, Segment, SegmentKind
from segments.rules import RuleContext, conditions_q
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook

POISON = {"all": [{"field": "days_since_last_order", "op": "gte", "value": "1e12"}]}
SUBSCRIBER = "tests.security.test_poison_events.segment_refresh_unguarded"


def segment_refresh_unguarded(event: DomainEvent) -> None:
    """The segment refresh as it was before the bounds: evaluates every stored merchant rule as
    is, so a rule saved with 1e12 days raises on each order event of its shop (``OverflowError`` in
    the reported version, ``ValueError`` from today's evaluator)."""
    for segment in Segment.objects.filter(shop_id=event.shop_id, kind=SegmentKind.MERCHANT).order_by("pk"):
        conditions_q(segment.conditions, context=RuleContext(shop=event.shop, now=timezone.now(), churn_days=365,
                                                             top_count=1))


@pytest.fixture
def unguarded_subscriber() -> Iterator[None]:
    events.subscribe(DomainEvent.Name.ORDER_PAID, segment_refresh_unguarded)
    yield
    events.unsubscribe(DomainEvent.Name.ORDER_PAID, segment_refresh_unguarded)


def order_webhook(client, shop, number: int) -> None:
    """A real Shopify ``orders/create`` body through the signed inbox (processed on commit)."""
    payload = copy.deepcopy(fixture("shopify_order.json"))
    payload["id"] = payload["admin_graphql_api_id"] = 820982911946154508 + number
    payload["admin_graphql_api_id"] = f"gid://shopify/Order/{payload['id']}"
    payload["name"] = f"#{1000 + number}"
    payload["order_number"] = 1000 + number
    response = post_webhook(client, "orders/create", json.dumps(payload).encode(), shop_domain=shop.domain)
    assert response.status_code == 200


def beat() -> int:
    """The beat's minute: ``commerce.tasks.dispatch_pending_events`` with its retries."""
    return dispatch_pending_events.apply().get()


def gap(delivery: EventDelivery) -> timedelta:
    """How long after its last attempt the delivery is tried again."""
    assert delivery.next_attempt_at is not None and delivery.last_attempt_at is not None
    return delivery.next_attempt_at - delivery.last_attempt_at


def make_due() -> None:
    """Time passes: every retrying delivery is due now."""
    EventDelivery.objects.filter(state=DeliveryState.RETRYING).update(next_attempt_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_a_poisoned_shop_is_dead_lettered_while_the_other_shop_is_dispatched(client, settings, caplog,
                                                                            unguarded_subscriber):
    # given the reported case: a segment saved with 1e12 days (the API refuses it now, so the row
    # is written directly), and a bystander shop
    settings.EVENT_MAX_ATTEMPTS = 3
    poisoned = ShopFactory(domain="poisoned.myshopify.com")
    bystander = ShopFactory(domain="bystander.myshopify.com")
    Segment.objects.create(shop=poisoned, key="poison", name="Poison", kind=SegmentKind.MERCHANT, conditions=POISON)
    Program.objects.filter(shop__in=[poisoned, bystander]).update(is_enabled=True, pending_days=0)

    # when an order arrives for each through the webhook inbox (processed and dispatched on commit)
    order_webhook(client, poisoned, 1)
    order_webhook(client, bystander, 1)

    # then both webhooks were processed and every event left the outbox
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()
    # only the poisoned shop's order.paid failed, in the one subscriber, with its error kept
    delivery = EventDelivery.objects.get()
    paid = DomainEvent.objects.get(shop=poisoned, name=DomainEvent.Name.ORDER_PAID)
    assert (delivery.shop_id, delivery.event_id, delivery.subscriber) == (poisoned.pk, paid.pk, SUBSCRIBER)
    assert (delivery.state, delivery.attempts) == (DeliveryState.RETRYING, 1)
    assert delivery.error_class == "builtins.ValueError" and "1e12" in delivery.error_message
    assert "segment_refresh_unguarded" in delivery.error_traceback
    assert timedelta(seconds=59) < gap(delivery) <= timedelta(seconds=60)
    # the other subscribers of the poisoned event still ran: segment scores and loyalty points
    for shop in (poisoned, bystander):
        customer = Customer.objects.get(shop=shop, platform_id="115310627314723954")
        assert CustomerScore.objects.get(shop=shop, customer=customer).orders_count == 1
        assert list(LedgerEntry.objects.filter(shop=shop).values_list("source", "source_id", "points")) == [
            ("order", "820982911946154509", 388)]

    # when time passes and the beat runs, with new orders arriving for the bystander each time
    with caplog.at_level(logging.WARNING, logger="commerce.events"):
        for number in (2, 3):
            make_due()
            order_webhook(client, bystander, number)  # dispatched on commit
            beat()  # the minute's dispatch: pending events, then the retries that are due
            # then the bystander's new order went out
            assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()
            assert Order.objects.filter(shop=bystander).count() == number

    # and the poisoned delivery is dead after three attempts, logged at ERROR, not retried again
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (DeliveryState.DEAD, 3, None)
    assert delivery.dead_at is not None
    dead_logs = [r for r in caplog.records if r.levelno == logging.ERROR and "dead-lettered" in r.getMessage()]
    assert len(dead_logs) == 1 and SUBSCRIBER in dead_logs[0].getMessage()
    make_due()
    assert beat() == 0
    assert EventDelivery.objects.get().attempts == 3
    assert EventDelivery.objects.filter(shop=bystander).count() == 0


@pytest.mark.django_db
def test_a_failing_subscriber_is_rolled_back_alone_and_the_others_run(settings):
    # given three subscribers of one event; the middle one writes, then raises
    shop = ShopFactory(domain="isolated.myshopify.com")
    ran: list[str] = []

    def first(event: DomainEvent) -> None:
        ran.append("first")

    def broken(event: DomainEvent) -> None:
        events.emit(shop=event.shop, name="test.half_done", key=f"half-{event.pk}", payload={})
        raise ValueError("absurd value")

    def last(event: DomainEvent) -> None:
        ran.append("last")

    for subscriber in (first, broken, last):
        events.subscribe("test.isolation", subscriber)
    try:
        events.emit(shop=shop, name="test.isolation", key="iso-1", payload={})
        # when
        assert events.dispatch_pending() == 1
    finally:
        for subscriber in (first, broken, last):
            events.unsubscribe("test.isolation", subscriber)

    # then the other two ran (in the isolated pass, once each after the rolled-back first try),
    # the broken one's write was rolled back, and the event is marked dispatched
    assert ran.count("last") >= 1 and ran.count("first") >= 1
    assert not DomainEvent.objects.filter(key="half-1").exists()
    assert not DomainEvent.objects.filter(name="test.half_done").exists()
    assert DomainEvent.objects.get(key="iso-1").dispatched_at is not None
    delivery = EventDelivery.objects.get()
    assert delivery.subscriber.endswith("test_a_failing_subscriber_is_rolled_back_alone_and_the_others_run"
                                        ".<locals>.broken")
    assert (delivery.error_class, delivery.error_message) == ("builtins.ValueError", "absurd value")


@pytest.mark.django_db
def test_a_flood_from_one_shop_does_not_starve_another(settings):
    # given shop A with 300 pending events and shop B with one, created after them
    settings.EVENT_DISPATCH_PER_SHOP = 100
    flood = ShopFactory(domain="flood.myshopify.com")
    quiet = ShopFactory(domain="quiet.myshopify.com")
    DomainEvent.objects.bulk_create(
        DomainEvent(shop=flood, name="test.flood", key=f"f-{n}", occurred_at=timezone.now()) for n in range(300)
    )
    events.emit(shop=quiet, name="test.flood", key="q-1", payload={})
    seen: list[int] = []

    def record(event: DomainEvent) -> None:
        seen.append(event.shop_id)

    events.subscribe("test.flood", record)
    try:
        # when one small dispatch call runs
        dispatched = events.dispatch_pending(limit=10, rounds=1)
    finally:
        events.unsubscribe("test.flood", record)

    # then B's event went out in the first round, right after A's first, and A waits its turn
    assert dispatched == 10
    assert seen[:2] == [flood.pk, quiet.pk]
    assert DomainEvent.objects.get(key="q-1").dispatched_at is not None
    assert DomainEvent.objects.filter(shop=flood, dispatched_at__isnull=True).count() == 291


@pytest.mark.django_db
def test_each_round_takes_at_most_the_per_shop_share(settings):
    settings.EVENT_DISPATCH_PER_SHOP = 2
    first, second = ShopFactory(domain="a-shop.myshopify.com"), ShopFactory(domain="b-shop.myshopify.com")
    for shop in (first, second):
        DomainEvent.objects.bulk_create(
            DomainEvent(shop=shop, name="test.none", key=f"{shop.pk}-{n}", occurred_at=timezone.now())
            for n in range(5)
        )
    # one round: two of each shop
    assert events._dispatch_round(limit=500) == 4
    for shop in (first, second):
        assert DomainEvent.objects.filter(shop=shop, dispatched_at__isnull=False).count() == 2
    # the following rounds of a full call drain the rest, oldest first
    assert events.dispatch_pending() == 6
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_superuser("operator", "ops@example.com", "a-long-password-1")


@pytest.mark.django_db(transaction=True)
def test_the_admin_retry_action_reruns_a_dead_letter_and_it_succeeds_once_fixed(client, settings, operator,
                                                                              unguarded_subscriber):
    # given a dead letter from the poisoned segment
    settings.EVENT_MAX_ATTEMPTS = 1
    shop = ShopFactory(domain="fixable.myshopify.com")
    segment = Segment.objects.create(shop=shop, key="poison", name="Poison", kind=SegmentKind.MERCHANT,
                                     conditions=POISON)
    order_webhook(client, shop, 1)
    delivery = EventDelivery.objects.get()
    assert delivery.state == DeliveryState.DEAD
    # it shows in both admin lists
    client.force_login(operator)
    listing = client.get("/admin/commerce/eventdelivery/", {"state__exact": "dead"}).content.decode()
    assert "ValueError" in listing and "poisoned" not in listing and SUBSCRIBER in listing
    events_page = client.get("/admin/commerce/domainevent/", {"delivery": "dead"}).content.decode()
    assert "1 dead" in events_page and delivery.event.key in events_page
    link = f"/admin/commerce/eventdelivery/?event__id__exact={delivery.event_id}"
    assert link in events_page
    assert SUBSCRIBER in client.get(link).content.decode()
    assert client.get(f"/admin/commerce/domainevent/{delivery.event_id}/change/").status_code == 200

    # when the operator retries before the row is fixed, it fails again and is dead again
    client.post("/admin/commerce/eventdelivery/", {"action": "retry_now", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DEAD, 1)

    # when the rule is fixed and the operator retries
    Segment.objects.filter(pk=segment.pk).update(
        conditions={"all": [{"field": "days_since_last_order", "op": "gte", "value": "30"}]})
    response = client.post("/admin/commerce/eventdelivery/", {"action": "retry_now",
                                                               "_selected_action": [delivery.pk]})
    # then it ran again on commit and succeeded
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.dead_at) == (DeliveryState.SUCCEEDED, 1, None)
    assert delivery.resolved_at is not None
    assert "delivered (after failures, resolved)" in client.get("/admin/commerce/domainevent/").content.decode()


@pytest.mark.django_db
def test_the_admin_resolves_a_failure_with_a_note_and_it_is_not_retried(client, operator, settings):
    shop = ShopFactory(domain="ignored.myshopify.com")
    event = DomainEvent.objects.create(shop=shop, name="test.gone", key="gone-1", occurred_at=timezone.now(),
                                       dispatched_at=timezone.now())
    delivery = EventDelivery.objects.create(shop=shop, event=event, subscriber="app.module.handler", attempts=2,
                                            error_class="builtins.KeyError", error_message="'x'",
                                            next_attempt_at=timezone.now() - timedelta(minutes=1))
    client.force_login(operator)
    # the action asks for a note first
    asked = client.post("/admin/commerce/eventdelivery/", {"action": "resolve", "_selected_action": [delivery.pk]})
    assert asked.status_code == 200 and b'name="note"' in asked.content
    # when given
    done = client.post("/admin/commerce/eventdelivery/", {"action": "resolve", "_selected_action": [delivery.pk],
                                                          "apply": "1", "note": "fixed the points by hand"})
    assert done.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.resolution_note, delivery.next_attempt_at) == (
        DeliveryState.IGNORED, "fixed the points by hand", None)
    # the dispatcher leaves it alone
    beat()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.IGNORED, 2)


@pytest.mark.django_db
def test_a_delivery_whose_subscriber_was_removed_is_retried_then_dead(settings):
    settings.EVENT_MAX_ATTEMPTS = 2
    shop = ShopFactory(domain="removed.myshopify.com")
    event = DomainEvent.objects.create(shop=shop, name="test.old", key="old-1", occurred_at=timezone.now(),
                                       dispatched_at=timezone.now())
    EventDelivery.objects.create(shop=shop, event=event, subscriber="app.module.gone", attempts=1,
                                 next_attempt_at=timezone.now())
    beat()
    delivery = EventDelivery.objects.get()
    assert (delivery.state, delivery.error_class) == (DeliveryState.DEAD, "commerce.events.SubscriberMissing")


@pytest.mark.django_db
def test_retries_wait_for_their_time_and_back_off(settings):
    settings.EVENT_MAX_ATTEMPTS = 5
    settings.EVENT_RETRY_BASE_SECONDS = 60
    shop = ShopFactory(domain="backoff.myshopify.com")
    calls: list[int] = []

    def broken(event: DomainEvent) -> None:
        calls.append(event.pk)
        raise RuntimeError("still broken")

    events.subscribe("test.backoff", broken)
    try:
        events.emit(shop=shop, name="test.backoff", key="b-1", payload={})
        events.dispatch_pending()
        delivery = EventDelivery.objects.get()
        gaps = [gap(delivery)]
        # not due yet: nothing runs
        beat()
        assert EventDelivery.objects.get().attempts == 1
        for _ in range(3):
            make_due()
            beat()
            delivery.refresh_from_db()
            gaps.append(gap(delivery))
    finally:
        events.unsubscribe("test.backoff", broken)
    assert [round(gap.total_seconds()) for gap in gaps] == [60, 120, 240, 480]
    assert delivery.attempts == 4


@pytest.mark.django_db
def test_the_normal_path_costs_no_more_statements(django_assert_num_queries):
    """One event, one subscriber that reads nothing: pick the round, lock, mark, and the next
    (empty) round -- as before isolation: no savepoint per subscriber, no retry lookup after a
    commit.  (The event's own transaction is a SAVEPOINT/RELEASE pair inside the test's.)"""
    shop = ShopFactory(domain="fast.myshopify.com")
    events.emit(shop=shop, name="test.fast", key="fast-1", payload={})

    def quiet(event: DomainEvent) -> None:
        pass

    events.subscribe("test.fast", quiet)
    try:
        with django_assert_num_queries(6):
            assert events.dispatch_pending() == 1
    finally:
        events.unsubscribe("test.fast", quiet)
    assert not EventDelivery.objects.exists()


@pytest.mark.django_db
def test_resolved_failures_are_pruned_open_ones_kept():
    shop = ShopFactory(domain="prune.myshopify.com")
    old = timezone.now() - timedelta(days=40)
    for number, (state, resolved_at) in enumerate([
        (DeliveryState.SUCCEEDED, old), (DeliveryState.IGNORED, old), (DeliveryState.SUCCEEDED, timezone.now()),
        (DeliveryState.DEAD, None), (DeliveryState.RETRYING, None),
    ]):
        event = DomainEvent.objects.create(shop=shop, name="test.p", key=f"p-{number}", occurred_at=old,
                                           dispatched_at=old)
        EventDelivery.objects.create(shop=shop, event=event, subscriber="m.f", state=state, resolved_at=resolved_at)
    from commerce.tasks import prune_resolved_event_deliveries

    assert prune_resolved_event_deliveries.apply().get() == 2
    assert sorted(EventDelivery.objects.values_list("state", flat=True)) == sorted(
        [DeliveryState.SUCCEEDED, DeliveryState.DEAD, DeliveryState.RETRYING])


@pytest.mark.django_db
def test_erasing_a_customer_blanks_error_messages_about_them():
    shop = ShopFactory(domain="erase-errors.myshopify.com")
    customer = Customer.objects.create(shop=shop, platform_id="77", email="dana@example.com")
    about = DomainEvent.objects.create(shop=shop, name="order.paid", key="e-1", occurred_at=timezone.now(),
                                       payload={"customer_id": customer.pk})
    quoting = DomainEvent.objects.create(shop=shop, name="loyalty.tier_reached", key="e-2",
                                         occurred_at=timezone.now(), payload={"account_id": 5})
    other = DomainEvent.objects.create(shop=shop, name="order.paid", key="e-3", occurred_at=timezone.now(),
                                       payload={"customer_id": customer.pk + 1000})
    for event, message in ((about, "bad row"), (quoting, "duplicate key (email)=(dana@example.com)"),
                           (other, "unrelated")):
        EventDelivery.objects.create(shop=shop, event=event, subscriber="m.f", error_message=message)
    customer_erase(shop=shop, platform_id="77")
    assert dict(EventDelivery.objects.values_list("event__key", "error_message")) == {
        "e-1": "", "e-2": "", "e-3": "unrelated"}


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_run_the_same_event_or_retry_twice(settings):
    """Two dispatchers at once (PostgreSQL: SKIP LOCKED), as two Celery workers would be."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    settings.EVENT_DISPATCH_PER_SHOP = 10
    shops = [ShopFactory(domain=f"busy-{n}.myshopify.com", defaults=False) for n in range(3)]
    for shop in shops:
        DomainEvent.objects.bulk_create(
            DomainEvent(shop=shop, name="test.busy", key=f"{shop.pk}-{n}", occurred_at=timezone.now())
            for n in range(20)
        )
    handled: list[str] = []
    guard = threading.Lock()

    def slow(event: DomainEvent) -> None:
        time.sleep(0.002)
        with guard:
            handled.append(event.key)
        if event.key.endswith("-7"):
            raise RuntimeError("poison")

    def worker() -> None:
        try:
            events.dispatch_pending(limit=15)
            events.event_deliveries_retry_due(limit=15)
        finally:
            connection.close()

    events.subscribe("test.busy", slow)
    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first_pass = list(handled)
        handled.clear()
        make_due()
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        events.unsubscribe("test.busy", slow)

    # every healthy event ran once; a poisoned one at least twice (the unit that was rolled
    # back, then isolated -- the other worker may take it in between) but was recorded once
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()
    poisoned = {f"{shop.pk}-7" for shop in shops}
    counts = Counter(first_pass)
    assert len(counts) == 60
    assert {key for key, count in counts.items() if count != 1} == poisoned
    assert all(counts[key] >= 2 for key in poisoned)
    # and each failed delivery was retried by exactly one of the two workers
    assert sorted(handled) == sorted(poisoned)
    assert list(EventDelivery.objects.values_list("attempts", flat=True)) == [2, 2, 2]


@pytest.mark.django_db
def test_an_error_quoting_a_nul_byte_is_still_recorded():
    """PostgreSQL refuses NUL in text: the failure must be recorded all the same, not stall dispatch."""
    shop = ShopFactory(domain="nul.myshopify.com", defaults=False)

    def broken(event: DomainEvent) -> None:
        raise ValueError("tag 'vip\x00' is not valid")

    events.subscribe("test.nul", broken)
    try:
        events.emit(shop=shop, name="test.nul", key="nul-1", payload={})
        events.emit(shop=shop, name="test.after", key="after-1", payload={})
        assert events.dispatch_pending() == 2
    finally:
        events.unsubscribe("test.nul", broken)
    assert EventDelivery.objects.get().error_message == "tag 'vip\\x00' is not valid"
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()

"""The outbox in batches: one publish per transaction, one transaction and one mark per round,
batch subscribers that get a shop's run of events, and the isolation of a failing event kept."""

from collections.abc import Iterator

import pytest
from django.db import transaction
from django.utils import timezone

from commerce import events
from commerce.models import DeliveryState, DomainEvent, EventDelivery
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def publishes(callbacks: list) -> int:
    return sum(1 for callback in callbacks if callback is events._publish)


def test_one_publish_per_transaction_however_many_events(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            for n in range(5):
                events.emit(shop=shop, name="test.many", key=f"m-{n}", payload={})
                events.dispatch_soon()
    assert publishes(callbacks) == 1


def test_a_publish_registered_in_a_rolled_back_savepoint_is_registered_again(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    events.emit(shop=shop, name="test.gone", key="gone", payload={})
                    events.dispatch_soon()
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
            events.emit(shop=shop, name="test.kept", key="kept", payload={})
            events.dispatch_soon()
    assert publishes(callbacks) == 1
    assert list(DomainEvent.objects.values_list("key", flat=True)) == ["kept"]


def test_a_rolled_back_transaction_publishes_nothing(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                events.emit(shop=shop, name="test.none", key="none", payload={})
                events.dispatch_soon()
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert publishes(callbacks) == 0


def emit_many(shop, name: str, count: int, start: int = 0) -> None:
    DomainEvent.objects.bulk_create(DomainEvent(shop=shop, name=name, key=f"{name}-{n}", occurred_at=timezone.now())
                                    for n in range(start, start + count))


@pytest.fixture
def quiet() -> Iterator[list[int]]:
    seen: list[int] = []

    def subscriber(event: DomainEvent) -> None:
        seen.append(event.pk)

    events.subscribe("test.quiet", subscriber)
    yield seen
    events.unsubscribe("test.quiet", subscriber)


@pytest.mark.parametrize("count", [1, 50])
def test_a_round_costs_one_savepoint_pair_per_event_at_most(django_assert_num_queries, quiet, count):
    """Pick the round, lock its events, mark them in one UPDATE, and the next (empty) round; the
    round's transaction is a SAVEPOINT/RELEASE pair inside the test's, and with more than one
    event each event's unit is one more pair (no commit, no lock, no mark of its own)."""
    emit_many(ShopFactory(), "test.quiet", count)
    with django_assert_num_queries(6 if count == 1 else 6 + 2 * count):
        assert events.dispatch_pending() == count
    assert len(quiet) == count
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()


@pytest.fixture
def runs() -> Iterator[list[list[tuple[int, str]]]]:
    received: list[list[tuple[int, str]]] = []

    def batch(run: list[DomainEvent]) -> None:
        received.append([(event.shop_id, event.key) for event in run])

    events.subscribe_batch("test.batch", batch)
    yield received
    events.unsubscribe_batch("test.batch", batch)


@pytest.mark.parametrize("count", [1, 50])
def test_a_run_for_a_batch_subscriber_costs_the_same_for_one_event_and_for_fifty(django_assert_num_queries, runs,
                                                                                count):
    emit_many(ShopFactory(), "test.batch", count)
    with django_assert_num_queries(6):
        assert events.dispatch_pending() == count
    assert [len(run) for run in runs] == [count]


def test_a_batch_subscriber_gets_each_shops_consecutive_events_as_one_run(runs, quiet):
    first, second = ShopFactory(domain="first.myshopify.com"), ShopFactory(domain="second.myshopify.com")
    emit_many(first, "test.batch", 3)
    emit_many(second, "test.batch", 2, start=10)
    emit_many(first, "test.quiet", 1)  # another name in between ends the first shop's run
    emit_many(first, "test.batch", 2, start=20)

    assert events.dispatch_pending() == 8

    assert runs == [
        [(first.pk, "test.batch-0"), (first.pk, "test.batch-1"), (first.pk, "test.batch-2")],
        [(second.pk, "test.batch-10"), (second.pk, "test.batch-11")],
        [(first.pk, "test.batch-20"), (first.pk, "test.batch-21")],
    ]
    assert len(quiet) == 1


def test_events_emitted_during_a_round_go_out_in_the_next_round():
    shop = ShopFactory()
    emit_many(shop, "test.parent", 3)

    def child(event: DomainEvent) -> None:
        events.emit(shop=event.shop, name="test.child", key=f"child-{event.pk}", payload={})

    children: list[int] = []
    events.subscribe("test.parent", child)
    events.subscribe("test.child", lambda event: children.append(event.pk))
    try:
        assert events._dispatch_round(limit=500) == 3
        assert DomainEvent.objects.filter(name="test.child", dispatched_at__isnull=True).count() == 3
        assert events.dispatch_pending() == 3
    finally:
        events.unsubscribe("test.parent", child)
        events._SUBSCRIBERS.pop("test.child", None)
    assert len(children) == 3


def test_a_failing_event_in_a_run_is_isolated_and_the_rest_of_the_run_is_kept(runs):
    # given a run of four events whose third poisons the batch subscriber, and a second subscriber
    shop = ShopFactory()
    emit_many(shop, "test.batch", 4)
    handled: list[str] = []

    def fragile(run: list[DomainEvent]) -> None:
        for event in run:
            if event.key == "test.batch-2":
                raise ValueError("poison")
        handled.extend(event.key for event in run)

    def other(event: DomainEvent) -> None:
        DomainEvent.objects.create(shop=event.shop, name="test.side", key=f"side-{event.key}",
                                   occurred_at=timezone.now())

    events.subscribe_batch("test.batch", fragile)
    events.subscribe("test.batch", other)
    try:
        # when the round runs
        assert events.dispatch_pending() == 4 + 4  # the run, then the side events
    finally:
        events.unsubscribe_batch("test.batch", fragile)
        events.unsubscribe("test.batch", other)

    # then every event is dispatched, the healthy ones handled once each (the failed try rolled back)
    assert sorted(handled) == ["test.batch-0", "test.batch-1", "test.batch-3"]
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()
    assert DomainEvent.objects.filter(name="test.side").count() == 4  # the other subscriber ran for all four
    # and the poison is one delivery of the batch subscriber, to retry alone
    delivery = EventDelivery.objects.get()
    assert delivery.event.key == "test.batch-2"
    assert delivery.subscriber == events.subscriber_name(events.BatchSubscriber(fragile))
    assert delivery.subscriber.endswith("fragile")
    assert delivery.state == DeliveryState.RETRYING


def test_dispatch_publishes_nothing_for_what_its_own_next_rounds_take(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    emit_many(shop, "test.parent", 3)

    def child(event: DomainEvent) -> None:
        events.emit(shop=event.shop, name="test.child", key=f"child-{event.pk}", payload={})
        events.dispatch_soon()

    events.subscribe("test.parent", child)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            assert events.dispatch_pending() == 6  # the parents, then their children
        assert publishes(callbacks) == 0
        # a call that stops with work left publishes once, so another call takes the rest
        emit_many(shop, "test.parent", 3, start=10)
        with django_capture_on_commit_callbacks() as callbacks:
            assert events.dispatch_pending(limit=2, rounds=1) == 2
        assert publishes(callbacks) == 1
    finally:
        events.unsubscribe("test.parent", child)

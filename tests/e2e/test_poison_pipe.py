"""The reported case over the wire: two stores installed from the Shopify sandbox, one with a
segment saved with 1e12 days; orders placed in both come back as real webhooks.  The poisoned
store's failing subscriber is recorded and retried, and both stores' events are dispatched."""

import pytest

from commerce import events
from commerce.models import DeliveryState, DomainEvent, EventDelivery, Order, Shop
from segments.models import CustomerScore, Segment, SegmentKind
from tests.e2e.conftest import install, wait_until
from tests.security.test_poison_events import POISON, SUBSCRIBER, segment_refresh_unguarded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unguarded_subscriber():
    events.subscribe(DomainEvent.Name.ORDER_PAID, segment_refresh_unguarded)
    yield
    events.unsubscribe(DomainEvent.Name.ORDER_PAID, segment_refresh_unguarded)


def test_a_poisoned_store_does_not_stop_another_stores_orders(app, sandbox, unguarded_subscriber):
    # given two installed stores, one with the poisoned segment written directly
    poisoned_store = sandbox.add_shop("poisoned-e2e.myshopify.com", seed=31, customers=12, orders=15)
    other_store = sandbox.add_shop("other-e2e.myshopify.com", seed=32, customers=12, orders=15)
    install(app, "poisoned-e2e.myshopify.com")
    install(app, "other-e2e.myshopify.com")
    poisoned = Shop.objects.get(domain="poisoned-e2e.myshopify.com")
    other = Shop.objects.get(domain="other-e2e.myshopify.com")
    Segment.objects.create(shop=poisoned, key="poison", name="Poison", kind=SegmentKind.MERCHANT, conditions=POISON)

    # when shoppers place orders in both stores (webhooks over HTTP to the live app)
    placed = {poisoned.pk: poisoned_store.place_order(), other.pk: other_store.place_order()}
    sandbox.webhooks.wait_idle(15)

    # then both orders' events went out
    for shop in (poisoned, other):
        key = f"order.paid:{placed[shop.pk].id}"
        assert wait_until(lambda key=key, shop=shop: DomainEvent.objects.filter(
            shop=shop, key=key, dispatched_at__isnull=False).exists())
        order = Order.objects.get(shop=shop, platform_id=str(placed[shop.pk].id))
        assert order.customer is not None
        assert CustomerScore.objects.filter(shop=shop, customer=order.customer, orders_count__gte=1).exists()
    # and only the poisoned store's order.paid is waiting for a retry of the one failing subscriber
    delivery = EventDelivery.objects.get()
    assert (delivery.shop_id, delivery.event.key, delivery.subscriber, delivery.state) == (
        poisoned.pk, f"order.paid:{placed[poisoned.pk].id}", SUBSCRIBER, DeliveryState.RETRYING)

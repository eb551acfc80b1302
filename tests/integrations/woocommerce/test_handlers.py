"""Webhook deliveries and sync pages through the same upserts, into points: duplicates and
out-of-order deliveries change nothing, refunds and cancellations reverse points."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commerce import events
from commerce.consent import consent_change_record
from commerce.models import ConsentChange, ConsentSource, Customer, DomainEvent, Order, Refund
from integrations.webhooks import DeliveryIgnored, PayloadError
from integrations.woocommerce import normalise, sync
from integrations.woocommerce.handlers import webhook_handle
from loyalty.models import LedgerEntry
from loyalty.services.program import program_enable
from tests.integrations.woocommerce.helpers import delivery, payload, woo_shop
from tests.loyalty.helpers import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    shop = woo_shop(installed_at=T0 - timedelta(days=30))
    program_enable(shop=shop)
    return shop


def order_723(*, status="processing", modified="2017-03-21T19:20:00", refunds=()):
    """The documentation's order 723 (customer 26, lines 311 9.00 and 313 20.00, shipping 10.00)."""
    order = payload("orders_list.json")[1]
    order.update(status=status, date_modified_gmt=modified, date_paid_gmt="2017-03-21T19:17:00",
                 refunds=list(refunds))
    if status != "completed":
        order["date_completed_gmt"] = None
    return order


def handle(shop, topic, body):
    result = webhook_handle(delivery(shop, topic, body), body)
    events.dispatch_pending()
    return result


def test_a_paid_order_earns_points_once_however_often_it_is_delivered(shop):
    handle(shop, "order.created", order_723())
    order = Order.objects.get(shop=shop, platform_id="723")
    assert (order.financial_status, order.total, order.customer.platform_id) == ("paid", 39, "26")
    assert LedgerEntry.objects.get(idempotency_key="earn:order:723").points == 29  # merchandise only

    handle(shop, "order.updated", order_723())  # the same version again
    handle(shop, "order.updated", order_723())

    assert LedgerEntry.objects.filter(shop=shop, idempotency_key="earn:order:723").count() == 1
    assert DomainEvent.objects.filter(shop=shop, key="order.paid:723").count() == 1


def test_an_older_version_delivered_late_changes_nothing(shop):
    handle(shop, "order.updated", order_723(status="completed", modified="2017-03-21T19:54:51"))
    summary = handle(shop, "order.updated", order_723(status="processing", modified="2017-03-21T19:20:00"))

    assert "stale 1" in summary
    order = Order.objects.get(shop=shop, platform_id="723")
    assert (order.financial_status, order.fulfillment_status) == ("paid", "fulfilled")
    assert order.platform_updated_at.isoformat() == "2017-03-21T19:54:51+00:00"


def test_a_refund_with_lines_reverses_their_points(shop):
    created = order_723()
    created["line_items"][0].update(subtotal="10.00", total="10.00")
    created["line_items"][1].update(subtotal="30.00", total="30.00")
    created["total"] = "50.00"
    handle(shop, "order.created", created)
    assert LedgerEntry.objects.get(idempotency_key="earn:order:723").points == 40
    # the order now lists refund 724; its lines come from /orders/723/refunds (what the handler
    # and the sync fetch before the upsert)
    updated = {**created, "date_modified_gmt": "2017-03-21T19:55:40",
               "refunds": [{"id": 724, "reason": "", "total": "-10.00"}]}
    refund = payload("refunds_list.json")[1]
    refund.update(amount="10.00")
    refund["line_items"][0].update(subtotal="-10.00", total="-10.00")
    records = [normalise.order_from_rest(updated, refunds=[refund])]
    sync.records_upsert(shop=shop, resource="orders", records=records, live=True)
    events.dispatch_pending()

    assert Order.objects.get(platform_id="723").financial_status == "partially_refunded"
    assert Refund.objects.get(shop=shop, platform_id="724").amount == 10
    assert LedgerEntry.objects.get(idempotency_key="reverse:refund:724").points == -10


def test_a_paid_order_cancelled_reverses_its_points(shop):
    handle(shop, "order.created", order_723())
    handle(shop, "order.updated", order_723(status="cancelled", modified="2017-03-22T08:00:00"))

    order = Order.objects.get(platform_id="723")
    assert (order.financial_status, order.cancelled_at.isoformat()) == ("voided", "2017-03-22T08:00:00+00:00")
    assert LedgerEntry.objects.get(idempotency_key="reverse:cancel:723").points == -29


def test_a_guest_order_has_no_customer(shop):
    handle(shop, "order.created", payload("order.json"))
    order = Order.objects.get(platform_id="727")
    assert (order.customer, order.email) == (None, "john.doe@example.com")
    assert not Customer.objects.filter(shop=shop).exists()


def test_customers_are_created_updated_and_deleted_keeping_their_orders(shop):
    handle(shop, "customer.created", {**payload("customer.json"), "id": 26})
    handle(shop, "order.created", order_723())
    changed = {**payload("customer.json"), "id": 26, "first_name": "Johnny", "date_modified_gmt": "2017-04-01T00:00:00"}
    handle(shop, "customer.updated", changed)
    assert Customer.objects.get(shop=shop, platform_id="26").first_name == "Johnny"

    handle(shop, "customer.deleted", {"id": 26})

    customer = Customer.objects.get(shop=shop, platform_id="26")
    assert customer.is_deleted
    assert Order.objects.get(platform_id="723").customer == customer


def test_products_simple_and_their_single_variant(shop):
    handle(shop, "product.created", payload("product_simple.json"))
    handle(shop, "order.created", {**payload("order.json"), "line_items": [
        {**payload("order.json")["line_items"][0], "product_id": 794}]})
    line = Order.objects.get(platform_id="727").lines.get()
    assert (line.product.platform_id, line.variant.platform_id) == ("794", "794")


@pytest.mark.parametrize("topic", ["coupon.created", "coupon.updated", "action.woocommerce_add_to_cart",
                                   "order.archived"])
def test_topics_we_do_not_mirror_are_ignored(shop, topic):
    with pytest.raises(DeliveryIgnored):
        webhook_handle(delivery(shop, topic, {"id": 1}), {"id": 1})


def test_a_delivery_for_an_unknown_or_disconnected_shop_is_ignored(shop):
    other = woo_shop(domain="gone.example", status="uninstalled")
    with pytest.raises(DeliveryIgnored):
        webhook_handle(delivery(other, "order.created", order_723()), order_723())
    assert not Order.objects.exists()


@pytest.mark.parametrize("body", [["a list"], {"no": "id"}, {**payload("order.json"), "currency": None}])
def test_a_malformed_delivery_is_a_payload_error(shop, body):
    with pytest.raises(PayloadError):
        webhook_handle(delivery(shop, "order.updated", body), body)
    assert not Order.objects.exists()


def _orders_page(count: int, start: int = 1000) -> list:
    page = []
    for number in range(start, start + count):
        order = payload("orders_list.json")[1]
        order.update(id=number, number=str(number), customer_id=100 + number % 7, refunds=[])
        for position, line in enumerate(order["line_items"]):
            line["id"] = number * 10 + position
        page.append(order)
    return page


def test_a_page_of_orders_is_upserted_set_based(shop, django_assert_max_num_queries):
    """A page costs a fixed number of statements, not one per order or line: 3 orders and a full
    page of 100 (200 lines) take the same statements, give or take the insert batches SQLite
    needs for its 999-parameter limit."""
    small = [normalise.order_from_rest(o) for o in _orders_page(3)]
    with CaptureQueriesContext(connection) as small_page:
        sync.records_upsert(shop=shop, resource="orders", records=small, live=False, refresh_first_orders=False)
    full = [normalise.order_from_rest(o) for o in _orders_page(100, start=5000)]
    batches = 0 if connection.vendor == "postgresql" else 6
    with django_assert_max_num_queries(len(small_page.captured_queries) + batches):
        sync.records_upsert(shop=shop, resource="orders", records=full, live=False, refresh_first_orders=False)
    assert Order.objects.filter(shop=shop).count() == 103


def test_a_malformed_object_in_a_sync_page_is_skipped_with_a_note():
    good, bad = payload("order.json"), {**payload("order.json"), "id": 728, "currency": ""}
    kept, skipped = sync.usable(resource="orders", items=[good, bad, "junk"])
    assert kept == [good]
    assert skipped == ["orders 728: order without currency", "orders None: order is not a JSON object"]


def test_consent_meta_echoes_change_nothing_and_a_newer_store_opt_in_is_taken(shop):
    customer = {**payload("customer.json"), "id": 26}
    handle(shop, "customer.created", customer)
    stored = Customer.objects.get(shop=shop, platform_id="26")
    ours = consent_change_record(customer=stored, channel="email", state="unsubscribed",
                                 source=ConsentSource.UNSUBSCRIBE_LINK, at=T0)

    def delivered(state, at, modified):
        body = {**customer, "date_modified_gmt": modified, "meta_data": [
            {"id": 7, "key": "_comeback_email_consent", "value": {"state": state, "updated_at": at}}]}
        handle(shop, "customer.updated", body)
        return Customer.objects.get(pk=stored.pk).email_consent

    # the echo of our own write-back, then a store-side state older than ours: ours stands
    assert delivered("unsubscribed", "2026-03-01T12:00:00Z", "2026-03-01T12:00:05") == "unsubscribed"
    assert delivered("subscribed", "2026-02-01T00:00:00Z", "2026-03-02T00:00:00") == "unsubscribed"
    assert list(ConsentChange.objects.filter(customer=stored)) == [ours]
    # the shopper opts in again in the store, later than our change: taken
    assert delivered("subscribed", "2026-03-05T09:00:00Z", "2026-03-05T09:00:01") == "subscribed"
    assert ConsentChange.objects.filter(customer=stored, source=ConsentSource.PLATFORM, state="subscribed").exists()

"""WooCommerce REST payloads (the documentation's own examples) -> commerce records."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.webhooks import PayloadError
from integrations.woocommerce import normalise
from tests.integrations.woocommerce.helpers import payload


def test_a_paid_guest_order_with_a_simple_and_a_variable_line():
    # given the documentation's order 727: processing, guest (customer_id 0), bank transfer paid
    record = normalise.order_from_rest(payload("order.json"))

    assert record.platform_id == "727"
    assert record.name == "#727"
    assert record.currency == "USD"
    assert record.customer_platform_id == ""  # a guest: no customer, the email stays on the order
    assert record.email == "john.doe@example.com"
    assert record.phone == "(555) 555-5555"
    assert (record.financial_status, record.fulfillment_status) == ("paid", "unfulfilled")
    assert record.created_at == record.processed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)  # the _gmt time
    assert record.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert record.total == Decimal("29.35")
    assert record.total_tax == Decimal("1.35")
    assert record.total_shipping == Decimal("10.00")
    assert record.total_discounts == Decimal("0.00")
    assert record.subtotal == Decimal("18.00")
    assert record.cancelled_at is None
    assert record.refunds == ()
    simple, variable = record.lines
    assert (simple.platform_id, simple.product_platform_id, simple.variant_platform_id) == ("315", "93", "93")
    assert (simple.quantity, simple.unit_price, simple.total_discount) == (2, Decimal("3.000"), Decimal("0"))
    assert (variable.product_platform_id, variable.variant_platform_id, variable.sku) == ("22", "23", "Bar3")
    assert variable.title == "Ship Your Idea \u2013 Color: Black, Size: M Test"  # &ndash; decoded
    assert record.shipping_address_key and len(record.shipping_address_key) == 32


def test_a_completed_order_with_two_partial_refunds_from_its_refunds_endpoint():
    # given the documentation's order 723 (completed, 39.00) and its /orders/723/refunds
    order = payload("orders_list.json")[1]
    record = normalise.order_from_rest(order, refunds=payload("refunds_list.json"))

    assert record.customer_platform_id == "26"
    assert (record.financial_status, record.fulfillment_status) == ("partially_refunded", "fulfilled")
    assert record.total_refunded == Decimal("19.00")
    by_id = {r.platform_id: r for r in record.refunds}
    assert set(by_id) == {"726", "724"}
    assert by_id["724"].amount == Decimal("9.00")
    assert by_id["724"].processed_at == datetime(2017, 3, 21, 19, 55, 37, tzinfo=UTC)
    (line,) = by_id["724"].lines
    assert (line.line_platform_id, line.quantity, line.subtotal) == ("311", 1, Decimal("9.00"))  # _refunded_item_id
    assert by_id["726"].lines == ()  # an amount-only refund


def test_refunds_known_only_from_the_orders_summary_keep_their_amounts():
    record = normalise.order_from_rest(payload("orders_list.json")[1])
    assert sorted((r.platform_id, r.amount, r.processed_at) for r in record.refunds) == [
        ("724", Decimal("9.00"), None), ("726", Decimal("10.00"), None)]
    assert record.financial_status == "partially_refunded"


def test_refunds_adding_up_to_the_total_make_a_paid_order_refunded():
    order = payload("order.json")
    order["refunds"] = [{"id": 800, "reason": "damaged", "total": "-29.35"}]
    assert normalise.order_from_rest(order).financial_status == "refunded"


@pytest.mark.parametrize("status, paid, completed, expected", [
    ("checkout-draft", False, False, ("draft", "unfulfilled")),
    ("pending", False, False, ("pending", "unfulfilled")),
    ("on-hold", False, False, ("pending", "unfulfilled")),
    ("processing", True, False, ("paid", "unfulfilled")),
    ("completed", True, True, ("paid", "fulfilled")),
    ("cancelled", False, False, ("voided", "unfulfilled")),
    ("refunded", True, False, ("refunded", "unfulfilled")),
    ("refunded", True, True, ("refunded", "fulfilled")),
    ("failed", False, False, ("failed", "unfulfilled")),
    ("trash", True, False, ("voided", "unfulfilled")),
    ("shipped", True, False, ("paid", "unfulfilled")),  # a plugin's own status on a paid order
    ("awaiting-shipment", False, False, ("unknown", "unfulfilled")),
])
def test_status_mapping(status, paid, completed, expected):
    order = payload("order.json")
    order["status"] = status
    order["date_paid_gmt"] = "2017-03-22T19:28:08" if paid else None
    order["date_paid"] = None
    order["date_completed_gmt"] = "2017-03-23T10:00:00" if completed else None
    record = normalise.order_from_rest(order)
    assert (record.financial_status, record.fulfillment_status) == expected
    cancelled = status in ("cancelled", "trash")
    assert (record.cancelled_at is not None) == cancelled
    if cancelled:
        assert record.cancelled_at == record.updated_at


def test_coupon_lines_become_discount_codes_and_line_discounts():
    order = payload("order.json")
    order["coupon_lines"] = [{"id": 320, "code": "comeback-ab12", "discount": "1.20", "discount_tax": "0.09",
                              "meta_data": []}]
    order["discount_total"] = "1.20"
    order["line_items"][0]["total"] = "4.80"
    record = normalise.order_from_rest(order)
    assert record.discount_codes == ("comeback-ab12",)
    assert record.total_discounts == Decimal("1.20")
    assert record.lines[0].total_discount == Decimal("1.20")
    assert record.lines[0].unit_price == Decimal("3.000")  # before the discount, like Shopify's price


def test_a_customer():
    record = normalise.customer_from_rest(payload("customer.json"))
    assert record.platform_id == "25"
    assert (record.first_name, record.last_name, record.email) == ("John", "Doe", "john.doe@example.com")
    assert record.phone == "(555) 555-5555"
    assert record.created_at == datetime(2017, 3, 21, 19, 9, 28, tzinfo=UTC)
    assert record.updated_at == datetime(2017, 3, 21, 19, 9, 30, tzinfo=UTC)
    assert record.account_state == "enabled"
    assert (record.country_code, record.province_code, record.timezone) == ("US", "CA", "America/Los_Angeles")
    assert (record.email_consent, record.email_consent_updated_at) == ("not_subscribed", None)


def test_a_customer_never_modified_is_versioned_by_its_creation():
    customer = payload("customer.json")
    customer["date_modified"] = customer["date_modified_gmt"] = None
    assert normalise.customer_from_rest(customer).updated_at == datetime(2017, 3, 21, 19, 9, 28, tzinfo=UTC)


def test_consent_kept_in_the_customers_meta_is_read_back():
    customer = payload("customer.json")
    customer["meta_data"] = [
        {"id": 1, "key": "_comeback_email_consent",
         "value": {"state": "unsubscribed", "updated_at": "2026-03-01T10:00:00Z"}},
        {"id": 2, "key": "_comeback_sms_consent", "value": "subscribed"},
    ]
    record = normalise.customer_from_rest(customer)
    assert (record.email_consent, record.email_consent_updated_at) == (
        "unsubscribed", datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    assert (record.sms_consent, record.sms_consent_updated_at) == ("subscribed", None)


def test_a_simple_product_is_its_own_variant():
    record = normalise.product_from_rest(payload("product_simple.json"))
    assert (record.platform_id, record.title, record.status, record.handle) == (
        "794", "Premium Quality", "active", "premium-quality-19")
    assert record.category == "Clothing"
    (variant,) = record.variants
    assert (variant.platform_id, variant.price, variant.unit_cost) == ("794", Decimal("21.99"), None)
    assert record.image_url.startswith("https://")


def test_a_variable_product_takes_its_variations_and_their_cost():
    variations = payload("variations_list.json")
    variations[0]["meta_data"] = [{"id": 9, "key": "_wc_cog_cost", "value": "4.10"}]
    variations[1]["cost_of_goods_sold"] = {"values": [{"defined_value": 3.5, "effective_value": 3.5}],
                                           "total_value": 3.5}
    record = normalise.product_from_rest(payload("product_variable.json"), variations=variations)
    assert [(v.platform_id, v.title, v.price, v.unit_cost) for v in record.variants] == [
        ("733", "Green", Decimal("9.00"), Decimal("4.10")), ("732", "Black", Decimal("9.00"), Decimal("3.5"))]


def test_a_variable_product_without_its_variations_leaves_the_stored_ones():
    assert normalise.product_from_rest(payload("product_variable.json")).variants == ()


@pytest.mark.parametrize("change, reason", [
    (lambda o: o.pop("id"), "missing id"),
    (lambda o: o.update(id="abc"), "not a WooCommerce id"),
    (lambda o: o.update(currency=""), "order without currency"),
    (lambda o: o.update(total="twelve"), "not an amount"),
    (lambda o: o.update(date_modified_gmt="yesterday"), "not a date-time"),
    (lambda o: o.update(line_items={"id": 1}), "line_items is not a list"),
    (lambda o: o["line_items"][0].update(quantity="many"), "not a quantity"),
])
def test_a_malformed_order_is_a_payload_error(change, reason):
    order = payload("order.json")
    change(order)
    with pytest.raises(PayloadError, match=reason):
        normalise.order_from_rest(order)


def test_a_payload_that_is_not_an_object_is_a_payload_error():
    with pytest.raises(PayloadError):
        normalise.order_from_rest(["not", "an", "order"])
    with pytest.raises(PayloadError):
        normalise.customer_from_rest("webhook_id=12")


def test_a_refund_line_without_its_item_meta_is_matched_by_product():
    refund = payload("refunds_list.json")[1]
    refund["line_items"][0]["meta_data"] = []  # item meta hidden
    record = normalise.order_from_rest(payload("orders_list.json")[1], refunds=[refund])
    (line,) = next(r for r in record.refunds if r.platform_id == "724").lines
    assert (line.line_platform_id, line.quantity) == ("311", 1)

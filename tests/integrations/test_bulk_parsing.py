"""Bulk JSONL in Shopify's format -> parents with their children -> records."""

from decimal import Decimal

from integrations.shopify.normalise import customer_from_graphql, order_from_graphql, product_from_graphql
from integrations.shopify.sync import parents_with_children

MONEY = {"shopMoney": {"amount": "20.00", "currencyCode": "ILS"}}

LINES: list[dict] = [
    {"id": "gid://shopify/Order/1", "name": "#1001", "currencyCode": "ILS", "updatedAt": "2026-01-01T10:00:00Z",
     "processedAt": "2026-01-01T09:00:00Z", "displayFinancialStatus": "PARTIALLY_REFUNDED",
     "displayFulfillmentStatus": "FULFILLED", "discountCodes": ["VIP"], "customer": {"id": "gid://shopify/Customer/9"},
     "totalPriceSet": {"shopMoney": {"amount": "45.00", "currencyCode": "ILS"}}, "totalRefundedSet": MONEY,
     "refunds": [{"id": "gid://shopify/Refund/77", "createdAt": "2026-01-03T00:00:00Z", "note": None,
                  "totalRefundedSet": MONEY,
                  "refundShippingLines": {"nodes": []},
                  "refundLineItems": {"nodes": [{"lineItem": {"id": "gid://shopify/LineItem/11"}, "quantity": 1,
                                                 "subtotalSet": MONEY}]}}]},
    {"id": "gid://shopify/LineItem/11", "title": "Serum", "quantity": 2, "sku": "SER-1",
     "variant": {"id": "gid://shopify/ProductVariant/5"}, "product": {"id": "gid://shopify/Product/4"},
     "originalUnitPriceSet": MONEY, "totalDiscountSet": {"shopMoney": {"amount": "0.00", "currencyCode": "ILS"}},
     "__parentId": "gid://shopify/Order/1"},
    {"id": "gid://shopify/LineItem/12", "title": "Gift", "quantity": 1, "sku": None, "variant": None,
     "product": None, "originalUnitPriceSet": MONEY, "totalDiscountSet": MONEY,
     "__parentId": "gid://shopify/Order/1"},
    {"id": "gid://shopify/Order/2", "currencyCode": "ILS", "updatedAt": "2026-01-02T10:00:00Z", "refunds": []},
]


def test_children_are_attached_to_their_parent_in_file_order():
    grouped = list(parents_with_children(iter(enumerate([dict(line) for line in LINES]))))
    assert [(number, parent["id"]) for number, parent in grouped] == [
        (0, "gid://shopify/Order/1"), (3, "gid://shopify/Order/2")]
    assert [line["id"] for line in grouped[0][1]["lineItems"]["nodes"]] == [
        "gid://shopify/LineItem/11", "gid://shopify/LineItem/12"]
    assert "lineItems" not in grouped[1][1]


def test_order_node_becomes_a_record_with_lines_and_inline_refunds():
    _, parent = next(parents_with_children(iter(enumerate([dict(line) for line in LINES]))))
    record = order_from_graphql(parent)
    assert (record.platform_id, record.currency, record.total) == ("1", "ILS", Decimal("45.00"))
    assert record.financial_status == "partially_refunded"
    assert record.fulfillment_status == "fulfilled"
    assert record.customer_platform_id == "9"
    assert record.discount_codes == ("VIP",)
    assert [(line.platform_id, line.quantity, line.variant_platform_id) for line in record.lines] == [
        ("11", 2, "5"), ("12", 1, "")]
    assert record.refunds is not None
    refund = record.refunds[0]
    assert (refund.platform_id, refund.amount, refund.lines[0].line_platform_id) == ("77", Decimal("20.00"), "11")


def test_customer_and_product_nodes():
    customer = customer_from_graphql({
        "id": "gid://shopify/Customer/9", "email": "a@b.c", "tags": ["vip"], "updatedAt": "2026-01-01T00:00:00Z",
        "emailMarketingConsent": {"marketingState": "SUBSCRIBED"}, "smsMarketingConsent": None,
        "birthDate": {"value": "1990-05-17"}, "locale": "he"})
    assert (customer.email_consent, customer.sms_consent, str(customer.birthday)) == (
        "subscribed", "not_subscribed", "1990-05-17")
    product = product_from_graphql({
        "id": "gid://shopify/Product/4", "title": "Serum", "updatedAt": "2026-01-01T00:00:00Z",
        "category": {"name": "Hair Serums", "fullName": "Health & Beauty > Hair Care > Hair Serums"},
        "variants": {"nodes": [{"id": "gid://shopify/ProductVariant/5", "price": "89.90", "title": "50ml",
                                "sku": "SER-50", "inventoryItem": {"unitCost": {"amount": "21.5"}}}]}})
    assert product.category.endswith("Hair Serums")
    assert (product.variants[0].price, product.variants[0].unit_cost) == (Decimal("89.90"), Decimal("21.5"))


def test_rest_shipping_address_fingerprint_ignores_case_and_punctuation():
    from integrations.shopify.normalise import address_key

    first = address_key({"address1": "12 Herzl St.", "city": "Tel Aviv", "zip": "6100000", "country_code": "IL"})
    second = address_key({"address1": "12 herzl st", "city": "TEL-AVIV", "zip": "6100000", "country_code": "il"})
    other = address_key({"address1": "14 Herzl St.", "city": "Tel Aviv", "zip": "6100000", "country_code": "IL"})
    assert first == second != other
    assert address_key(None) == address_key({}) == ""

"""The REST client over real HTTP: pages, OAuth 1.0a over http, retries honouring Retry-After,
a revoked key, and the errors coupons and consent turn into the adapter's exceptions."""

import time
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime

import pytest

from commerce.models import Customer
from integrations.platforms import ConsentUpdate, DiscountCodeTaken, DiscountKind, DiscountSpec, PlatformUnavailable
from integrations.woocommerce import coupons, sync
from integrations.woocommerce.client import WooAuthError, WooClient, WooError, WooNotFound, retry_after_seconds
from integrations.woocommerce.consent import customer_consent_update
from integrations.woocommerce.credentials import Credentials
from tests.integrations.woocommerce.helpers import payload, woo_shop
from tests.integrations.woocommerce.stub import Answer, stub_store

KEY, SECRET = "ck_" + "a" * 40, "cs_" + "b" * 40


def client(url: str, **options) -> tuple[WooClient, list[float]]:
    pauses: list[float] = []
    return WooClient(Credentials(url, KEY, SECRET), sleep=pauses.append, backoff_seconds=0.01, **options), pauses


def test_pages_follow_x_wp_totalpages_100_at_a_time_signed_with_oauth_over_http():
    page = [{"id": n} for n in range(100)]
    with stub_store(Answer(body=page, headers={"X-WP-Total": "230", "X-WP-TotalPages": "3"}),
                    Answer(body=page, headers={"X-WP-Total": "230", "X-WP-TotalPages": "3"}),
                    Answer(body=page[:30], headers={"X-WP-Total": "230", "X-WP-TotalPages": "3"})) as store:
        woo, _ = client(store.url)
        pages = list(woo.pages("orders", params={"orderby": "id", "order": "asc"}))

    assert [(p.page, len(p.items), p.total, p.total_pages) for p in pages] == [
        (1, 100, 230, 3), (2, 100, 230, 3), (3, 30, 230, 3)]
    first = store.requests[0]
    assert first.path == "/wp-json/wc/v3/orders"
    assert first.args["per_page"][-1] == "100" and [r.args["page"][-1] for r in store.requests] == ["1", "2", "3"]
    assert first.args["oauth_consumer_key"] == [KEY] and first.args["oauth_signature_method"] == ["HMAC-SHA256"]
    assert "oauth_signature" in first.args and "consumer_secret" not in first.args


def test_a_429_is_retried_after_the_time_retry_after_asks():
    with stub_store(Answer(429, {"code": "too_many_requests", "message": "Slow down"}, {"Retry-After": "3"}),
                    Answer(200, {"id": 727})) as store:
        woo, pauses = client(store.url)
        assert woo.get("orders/727") == {"id": 727}
    assert len(store.requests) == 2
    assert pauses and pauses[0] >= 3.0


def test_a_real_pause_honours_retry_after():
    with stub_store(Answer(429, {}, {"Retry-After": "1"}), Answer(200, [])) as store:
        woo = WooClient(Credentials(store.url, KEY, SECRET), backoff_seconds=0.01)
        started = time.monotonic()
        woo.get("customers")
    assert time.monotonic() - started >= 1.0


def test_retry_after_as_an_http_date():
    when = datetime.fromtimestamp(time.time() + 30, tz=UTC)
    assert 25 <= (retry_after_seconds(format_datetime(when, usegmt=True)) or 0) <= 31
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("soon") is None


def test_a_store_that_keeps_failing_is_unavailable_after_the_last_try():
    with stub_store(Answer(503, {"code": "unavailable"})) as store:
        woo, pauses = client(store.url, attempts=4)
        with pytest.raises(PlatformUnavailable, match="HTTP 503"):
            woo.get("orders")
    assert len(store.requests) == 4
    assert pauses == sorted(pauses)  # exponential backoff


def test_an_unreachable_store_is_unavailable():
    woo, _ = client("http://127.0.0.1:9", attempts=2)
    with pytest.raises(PlatformUnavailable, match="ConnectionError"):
        woo.get("orders")


def test_a_retry_after_too_long_to_wait_in_process_gives_up_at_once():
    with stub_store(Answer(429, {}, {"Retry-After": "3600"})) as store:
        woo, pauses = client(store.url)
        with pytest.raises(PlatformUnavailable):
            woo.get("orders")
    assert (len(store.requests), pauses) == (1, [])


@pytest.mark.django_db
def test_a_revoked_key_is_a_clear_error_and_the_shop_must_reconnect():
    shop = woo_shop()
    with stub_store(Answer(401, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                                 "data": {"status": 401}})) as store:
        woo, _ = client(store.url, on_unauthorized=lambda reason: sync.reauthorization_required(shop=shop,
                                                                                                reason=reason))
        with pytest.raises(WooAuthError, match="woocommerce_rest_cannot_view"):
            woo.get("orders")
    assert len(store.requests) == 1  # not retried
    shop.refresh_from_db()
    assert shop.reauthorization_required_at is not None


def test_a_missing_resource_and_a_refusal_are_errors_not_retried():
    with stub_store(Answer(404, {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."}),
                    Answer(400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page"})) as store:
        woo, _ = client(store.url)
        with pytest.raises(WooNotFound):
            woo.get("orders/1")
        with pytest.raises(WooError) as refused:
            woo.get("orders")
    assert refused.value.code == "rest_invalid_param"
    assert len(store.requests) == 2


# --- coupons and consent ---------------------------------------------------------------------

@pytest.mark.django_db
def test_a_free_product_reward_for_one_customer_becomes_a_coupon():
    shop = woo_shop()
    Customer.objects.create(shop=shop, platform_id="26", email="joao.silva@example.com")
    spec = DiscountSpec(code="CB-FREE-7K2M", title="Free tote", kind=DiscountKind.FREE_PRODUCT,
                        minimum_subtotal=Decimal("20.00"), ends_at=datetime(2026, 6, 30, 21, 0, tzinfo=UTC),
                        customer_platform_ids=("26",), product_platform_ids=("794",),
                        product_variant_platform_ids=("733",))
    with stub_store(Answer(201, {**payload("coupon.json"), "id": 901, "code": "cb-free-7k2m"})) as store:
        woo, _ = client(store.url)
        code = coupons.discount_code_create(shop=shop, spec=spec, client=woo)

    assert (code.code, code.platform_id) == ("CB-FREE-7K2M", "901")
    (request,) = store.requests
    assert (request.method, request.path) == ("POST", "/wp-json/wc/v3/coupons")
    assert request.body == {
        "code": "CB-FREE-7K2M", "description": "Free tote", "individual_use": True, "usage_limit": 1,
        "usage_limit_per_user": 1, "discount_type": "percent", "amount": "100", "limit_usage_to_x_items": 1,
        "product_ids": [794, 733], "minimum_amount": "20.00", "date_expires_gmt": "2026-06-30T21:00:00",
        "email_restrictions": ["joao.silva@example.com"],
    }


@pytest.mark.parametrize("kind, value, expected", [
    (DiscountKind.FIXED_AMOUNT, Decimal("5.00"), {"discount_type": "fixed_cart", "amount": "5.00"}),
    (DiscountKind.PERCENTAGE, Decimal("15"), {"discount_type": "percent", "amount": "15"}),
    (DiscountKind.FREE_SHIPPING, Decimal("0"), {"discount_type": "fixed_cart", "amount": "0", "free_shipping": True}),
])
def test_coupon_kinds(kind, value, expected):
    body = coupons.coupon_payload(spec=DiscountSpec(code="X", title="t", kind=kind, value=value), emails=[])
    assert {k: body[k] for k in expected} == expected
    assert "email_restrictions" not in body and "date_expires_gmt" not in body


@pytest.mark.django_db
def test_a_code_that_exists_is_taken_like_on_shopify():
    shop = woo_shop()
    with stub_store(Answer(400, {"code": "woocommerce_rest_coupon_code_already_exists",
                                 "message": "The coupon code already exists", "data": {"status": 400}})) as store:
        woo, _ = client(store.url)
        with pytest.raises(DiscountCodeTaken):
            coupons.discount_code_create(shop=shop, spec=DiscountSpec(code="TAKEN", title="t",
                                                                      kind=DiscountKind.PERCENTAGE), client=woo)
    assert len(store.requests) == 1


@pytest.mark.django_db
def test_consent_is_written_to_the_customers_meta():
    shop = woo_shop()
    with stub_store(Answer(200, payload("customer.json"))) as store:
        woo, _ = client(store.url)
        customer_consent_update(shop=shop, client=woo, update=ConsentUpdate(
            customer_platform_id="25", channel="email", subscribed=False, at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC)))
    (request,) = store.requests
    assert (request.method, request.path) == ("PUT", "/wp-json/wc/v3/customers/25")
    assert request.body == {"meta_data": [{"key": "_comeback_email_consent",
                                           "value": {"state": "unsubscribed", "updated_at": "2026-03-01T10:00:00Z"}}]}


def test_without_the_page_headers_pages_are_read_until_an_empty_one():
    with stub_store(Answer(body=[{"id": n} for n in range(50)]), Answer(body=[{"id": 99}]), Answer(body=[])) as store:
        woo, _ = client(store.url)
        pages = list(woo.pages("customers"))
    assert [len(p.items) for p in pages] == [50, 1, 0]


def test_a_redirect_from_the_store_is_not_followed():
    # the store's address was checked at connect (public, https); a redirect could send our signed
    # calls anywhere, e.g. to an address inside our own network
    with stub_store(Answer(302, {"moved": True}, {"Location": "http://169.254.169.254/latest/meta-data/"}),
                    Answer(200, {"reached": "the redirect target"})) as store:
        woo, _ = client(store.url)
        with pytest.raises(WooError):
            woo.get("orders")
    assert len(store.requests) == 1  # nothing asked of the target

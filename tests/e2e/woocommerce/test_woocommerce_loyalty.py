"""Loyalty on a WooCommerce store, as the shopper meets it: points through the plugin's signed route,
a reward redeemed as a real coupon and used at the store's checkout, refunds taking points back, and
discount codes created for real in the store."""

import hashlib
import hmac
import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import requests
from django.db.models import Sum

from commerce.models import Customer, Order, Refund, Shop
from integrations.platforms import DiscountCodeTaken, DiscountKind, DiscountSpec, adapter_for
from loyalty.models import LedgerEntry, Redemption
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.program import program_enable
from tests.e2e.conftest import wait_until
from tests.e2e.woocommerce.conftest import add_store, connect, shopper

pytestmark = pytest.mark.django_db(transaction=True)


def plugin_query(shop: Shop, customer_id: str, secret: str, **extra: str) -> str:
    """A ``/proxy`` query signed the way the WordPress plugin signs it."""
    params = {**extra, "platform": "woocommerce", "shop": shop.domain, "logged_in_customer_id": customer_id,
              "timestamp": str(int(time.time()))}
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


@pytest.fixture
def member(app, woo_sandbox):
    store = add_store(woo_sandbox, "loyal", seed=12, customers=20, orders=40)
    shop = connect(app, store, woo_sandbox)
    program_enable(shop=shop)
    wp_user = next(c for c in store.customers.values() if c.email)
    customer = Customer.objects.get(shop=shop, platform_id=str(wp_user.id))
    account = account_for_customer(shop=shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="welcome gift")
    return store, shop, wp_user, account


def test_a_reward_is_redeemed_as_a_real_coupon_and_used_at_checkout(app, woo_sandbox, member):
    store, shop, wp_user, account = member
    browser = shopper(store, wp_user.id)
    state = browser.get(f"{store.url}/wp-json/comeback/v1/loyalty", timeout=30).json()
    assert state["balance"]["available"] == account_balance(account=account).available >= 300
    reward = next(r for r in state["rewards"] if r["kind"] == "fixed_amount" and r["unlocked"])
    # when the shopper redeems in the widget
    made = browser.post(f"{store.url}/wp-json/comeback/v1/loyalty/redeem", json={"reward_id": reward["id"]},
                        timeout=60)
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    # then a real coupon exists in the store: single use, for this shopper's email only
    coupon = store.find_coupon(code)
    assert coupon is not None
    assert coupon.usage_limit == 1 and coupon.usage_limit_per_user == 1 and coupon.discount_type == "fixed_cart"
    assert [e.lower() for e in coupon.email_restrictions] == [wp_user.email.lower()]
    assert made.json()["balance"]["available"] == state["balance"]["available"] - reward["points_cost"]
    # and the store's apply link puts it in the cart, where checkout uses it
    link = adapter_for("woocommerce").discount_apply_link(shop=shop, code=code)
    assert link == f"{store.url}/?{urlencode({'comeback_coupon': code})}"
    product = next(p for p in store.products.values() if p.status == "publish" and p.price >= 30)
    item = product.variations[0].id if product.variations else product.id
    browser.get(f"{store.url}/?add-to-cart={item}", timeout=10)
    cart = browser.get(link, timeout=10)
    assert cart.url.startswith(f"{store.url}/cart") and "Coupon code applied successfully." in cart.text
    receipt = browser.post(f"{store.url}/checkout", data={"place_order": "1"}, timeout=30)
    assert "Order received" in receipt.text
    order = max(store.orders.values(), key=lambda o: o.id)
    assert [line.code for line in order.coupons] == [coupon.code] and order.discount_total > 0
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Redemption.objects.get(code=code).status == "used")
    assert store.find_coupon(code).usage_count == 1
    # a second use of the same code is refused by the store itself
    again = shopper(store, wp_user.id)
    again.get(f"{store.url}/?add-to-cart={item}", timeout=10)
    again.get(link, timeout=10)
    refused = again.post(f"{store.url}/checkout", data={"place_order": "1"}, timeout=30)
    assert "Coupon usage limit has been reached." in refused.text


def test_a_store_that_refuses_the_coupon_gives_the_points_back(app, woo_sandbox, member):
    store, shop, wp_user, account = member
    before = account_balance(account=account).available
    # the merchant revoked our REST key in WooCommerce › Settings › Advanced › REST API
    for key in list(store.api_keys.values()):
        woo_sandbox.revoke_api_key(store.name, key.key_id)
    browser = shopper(store, wp_user.id)
    reward = next(r for r in browser.get(f"{store.url}/wp-json/comeback/v1/loyalty", timeout=30).json()["rewards"]
                  if r["unlocked"])
    made = browser.post(f"{store.url}/wp-json/comeback/v1/loyalty/redeem", json={"reward_id": reward["id"]},
                        timeout=60)
    assert made.status_code == 502, made.text
    assert not store.coupons or all(c.code.upper() != (made.json().get("code") or "").upper()
                                    for c in store.coupons.values())
    assert account_balance(account=account).available == before
    assert not Redemption.objects.filter(status="issued").exists()


def test_a_refund_takes_the_points_back(app, woo_sandbox, member):
    store, shop, wp_user, account = member
    items = [p.variations[0].id if p.variations else p.id for p in store.products.values() if p.status == "publish"]
    order = store.place_order(customer_id=wp_user.id, items=[(items[0], 2), (items[1], 1)])
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: LedgerEntry.objects.filter(idempotency_key=f"earn:order:{order.id}").exists())
    earned = LedgerEntry.objects.get(idempotency_key=f"earn:order:{order.id}").points
    assert earned > 0
    # when one of the two units of the first line is refunded in WooCommerce
    line = order.lines[0]
    refund = store.refund_order(order.id, lines=[(line.id, 1)], reason="one was broken")
    assert woo_sandbox.wait_idle(20)
    # then the refund is mirrored with its line, and points go back in proportion (rounded down)
    assert wait_until(lambda: Refund.objects.filter(shop=shop, platform_id=str(refund.id)).exists())
    stored = Order.objects.get(shop=shop, platform_id=str(order.id))
    assert stored.total_refunded == refund.amount
    merchandise = sum((li.total for li in order.lines), Decimal("0"))
    expected = math.floor(earned * (line.total / line.quantity) / merchandise)
    assert wait_until(lambda: LedgerEntry.objects.filter(idempotency_key=f"reverse:refund:{refund.id}").exists())
    assert LedgerEntry.objects.get(idempotency_key=f"reverse:refund:{refund.id}").points == -expected
    # when the rest is refunded too, every point of the order is gone, once
    rest = store.refund_order(order.id)
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: LedgerEntry.objects.filter(idempotency_key=f"reverse:refund:{rest.id}").exists())
    assert store.orders[order.id].status == "refunded"
    assert wait_until(lambda: Order.objects.get(shop=shop, platform_id=str(order.id)).financial_status == "refunded")
    net = LedgerEntry.objects.filter(account=account, source_id=str(order.id)).aggregate(n=Sum("points"))["n"]
    assert net == 0
    state = shopper(store, wp_user.id).get(f"{store.url}/wp-json/comeback/v1/loyalty", timeout=30).json()
    assert state["balance"] == {"available": account_balance(account=account).available, "pending": 0}


def test_bad_or_missing_plugin_signature_gets_401(app, member):
    store, shop, wp_user, _ = member
    secret = store.plugin["secret"]
    good = plugin_query(shop, str(wp_user.id), secret)
    assert requests.get(f"{app.url}/proxy/loyalty?{good}", timeout=10).status_code == 200
    forged = plugin_query(shop, str(wp_user.id), "not-the-plugin-secret-but-long-enough")
    assert requests.get(f"{app.url}/proxy/loyalty?{forged}", timeout=10).status_code == 401
    unsigned = urlencode({"platform": "woocommerce", "shop": shop.domain, "logged_in_customer_id": wp_user.id})
    assert requests.get(f"{app.url}/proxy/loyalty?{unsigned}", timeout=10).status_code == 401
    # one shopper's signature cannot be bent to another's
    other = next(c for c in store.customers.values() if c.id != wp_user.id)
    tampered = good.replace(f"logged_in_customer_id={wp_user.id}", f"logged_in_customer_id={other.id}")
    assert requests.get(f"{app.url}/proxy/loyalty?{tampered}", timeout=10).status_code == 401
    # an old signature is refused
    stale = plugin_query(shop, str(wp_user.id), secret).replace(f"timestamp={int(time.time())}",
                                                                f"timestamp={int(time.time()) - 3600}")
    assert requests.get(f"{app.url}/proxy/loyalty?{stale}", timeout=10).status_code == 401


KINDS = [
    (DiscountKind.FIXED_AMOUNT, Decimal("10"), "fixed_cart", Decimal("10")),
    (DiscountKind.PERCENTAGE, Decimal("15"), "percent", Decimal("15")),
    (DiscountKind.FREE_SHIPPING, Decimal("0"), "fixed_cart", Decimal("0")),
    (DiscountKind.FREE_PRODUCT, Decimal("0"), "percent", Decimal("100")),
]


@pytest.mark.parametrize(("kind", "value", "discount_type", "amount"), KINDS, ids=[k[0] for k in KINDS])
def test_single_use_coupon_is_created_in_the_store(app, woo_sandbox, kind, value, discount_type, amount):
    store = add_store(woo_sandbox, "codes", seed=1, customers=5, orders=5)
    shop = connect(app, store, woo_sandbox)
    buyer = next(iter(store.customers.values()))
    product = next(iter(store.products.values()))
    ends = datetime.now(UTC) + timedelta(hours=6)
    spec = DiscountSpec(code="COMEBACK-AB12", title="Reward", kind=kind, value=value,
                        minimum_subtotal=Decimal("50"), ends_at=ends, customer_platform_ids=(str(buyer.id),),
                        product_platform_ids=(str(product.id),) if kind == DiscountKind.FREE_PRODUCT else ())
    created = adapter_for(shop.platform).discount_code_create(shop=shop, spec=spec)
    assert created.code == "COMEBACK-AB12"
    coupon = store.coupons[int(created.platform_id)]
    assert coupon.code == "comeback-ab12"  # WooCommerce keeps coupon codes in lower case
    assert (coupon.discount_type, coupon.amount) == (discount_type, amount)
    assert coupon.usage_limit == 1 and coupon.usage_limit_per_user == 1
    assert coupon.minimum_amount == Decimal("50")
    assert coupon.date_expires is not None and abs((coupon.date_expires - ends).total_seconds()) < 2
    assert coupon.email_restrictions == [buyer.email]
    assert coupon.free_shipping is (kind == DiscountKind.FREE_SHIPPING)
    assert coupon.product_ids == ([product.id] if kind == DiscountKind.FREE_PRODUCT else [])
    # the same code again, in any case, is refused like Shopify does (codes are unique per store)
    for again in ("COMEBACK-AB12", "comeback-ab12"):
        with pytest.raises(DiscountCodeTaken):
            adapter_for(shop.platform).discount_code_create(shop=shop, spec=DiscountSpec(
                code=again, title="Reward", kind=kind, value=value))
    assert len([c for c in store.coupons.values() if c.code == "comeback-ab12"]) == 1

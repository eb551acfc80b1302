"""A referral on a WooCommerce store, as the friend and the referrer go through it: the friend opens
``<store>/?ref=<code>`` (left to the widget), claims a first-order code through the plugin's route,
the store's apply link puts it in the cart, the guest checkout uses it, and the referrer earns once
when the order's webhooks arrive (twice, as a store's queue runner sometimes sends them)."""

import pytest
import requests

from commerce.models import Customer
from loyalty.models import LedgerEntry, Referral
from loyalty.services.ledger import account_for_customer
from loyalty.services.program import program_enable
from tests.e2e.conftest import wait_until
from tests.e2e.woocommerce.conftest import add_store, connect, shopper

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_friend_claims_a_code_orders_with_it_and_the_referrer_earns_once(app, woo_sandbox):
    store = add_store(woo_sandbox, "refer", seed=13, customers=20, orders=40)
    shop = connect(app, store, woo_sandbox)
    program_enable(shop=shop)
    referrer_user = next(c for c in store.customers.values() if c.first_name)
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop,
                                                                             platform_id=str(referrer_user.id)))
    # the referrer's link is the store's own address with ?ref=
    link = shopper(store, referrer_user.id).get(f"{store.url}/wp-json/comeback/v1/loyalty",
                                                timeout=30).json()["referral"]["link"]
    assert link == f"{store.url}/?ref={account.referral_code}"

    # given a friend (a guest) who opens the link: the store keeps the referral, the widget shows the offer
    friend = shopper(store, None)
    landing = friend.get(link, timeout=30)
    assert landing.status_code == 200
    offer = friend.get(f"{store.url}/wp-json/comeback/v1/referrals/offer", params={"code": account.referral_code},
                       timeout=30)
    assert offer.status_code == 200, offer.text
    assert offer.json()["referrer_first_name"] == referrer_user.first_name and offer.json()["email_required"]
    # when the friend claims a code with their email
    claimed = friend.post(f"{store.url}/wp-json/comeback/v1/referrals",
                          json={"code": account.referral_code, "email": "noa.friend@example.com"}, timeout=60)
    assert claimed.status_code == 201, claimed.text
    code = claimed.json()["code"]
    # then it is a real single-use coupon in the store (a guest friend has no account to tie it to)
    coupon = store.find_coupon(code)
    assert coupon is not None and coupon.usage_limit == 1 and coupon.usage_limit_per_user == 1
    assert claimed.json()["apply_link"] == f"{store.url}/?comeback_coupon={code}"
    referral = Referral.objects.get()
    assert (referral.status, referral.friend_email, referral.friend_code) == ("pending", "noa.friend@example.com",
                                                                              code)

    # when the friend puts it in the cart with the apply link and checks out as a guest
    product = next(p for p in store.products.values() if p.status == "publish" and p.price >= 30)
    friend.get(f"{store.url}/?add-to-cart={product.variations[0].id if product.variations else product.id}",
               timeout=30)
    cart = friend.get(claimed.json()["apply_link"], timeout=30)
    assert "Coupon code applied successfully." in cart.text
    # (every webhook of the order is delivered twice)
    receipt = friend.post(f"{store.url}/checkout", data={"place_order": "1", "billing_email": "noa.friend@example.com"},
                          timeout=60)
    assert "Order received" in receipt.text
    order = max(store.orders.values(), key=lambda o: o.id)
    assert [line.code for line in order.coupons] == [coupon.code]
    assert woo_sandbox.wait_idle(20)
    for delivery in [d for d in woo_sandbox.deliveries(store.name) if d.resource_id == order.id]:
        requests.post(f"{app.url}/webhooks/woocommerce", data=delivery.body, headers=delivery.headers, timeout=30)

    # then the referral is completed and the referrer earned exactly once
    assert wait_until(lambda: Referral.objects.get(pk=referral.pk).status == "completed", timeout=20)
    referral.refresh_from_db()
    assert referral.friend_order is not None and referral.friend_order.platform_id == str(order.id)
    earned = LedgerEntry.objects.filter(account=account, idempotency_key__startswith="referral:")
    assert [e.idempotency_key for e in earned] == [f"referral:{referral.pk}:referrer"]

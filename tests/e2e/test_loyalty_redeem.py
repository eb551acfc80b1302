"""Redeeming through the app proxy creates a real code in the store; failures give points back;
concurrent redemptions never overdraw."""

import hashlib
import hmac
import threading
import time
from urllib.parse import urlencode

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from commerce.models import Customer, Shop
from loyalty.models import Account, LedgerEntry, Redemption, Reward
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.program import program_enable
from loyalty.services.redemption import reward_redeem
from retention_app.errors import ApplicationError
from tests.e2e.conftest import install, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "loyal.myshopify.com"


def proxy_query(shop: str, customer_id: str, secret: str | None = None) -> str:
    params = {"shop": shop, "logged_in_customer_id": customer_id, "path_prefix": "/apps/comeback",
              "timestamp": str(int(time.time()))}
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    key = (secret or django_settings.SHOPIFY_API_SECRET).encode()
    params["signature"] = hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


@pytest.fixture
def member(app, sandbox):
    store = sandbox.add_shop(DOMAIN, seed=12, customers=20, orders=40)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    customer = Customer.objects.filter(shop=shop).exclude(email="").first()
    account = account_for_customer(shop=shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="welcome gift")
    return store, shop, customer, account


def test_widget_state_and_redemption_through_the_app_proxy(app, member):
    store, shop, customer, account = member
    query = proxy_query(DOMAIN, customer.platform_id)
    state = requests.get(f"{app.url}/proxy/loyalty?{query}", timeout=10).json()
    assert state["balance"] == {"available": 300, "pending": 0}
    assert state["referral"]["code"] == account.referral_code
    reward = next(r for r in state["rewards"] if r["kind"] == "fixed_amount")
    assert reward["unlocked"] is True
    # when the shopper redeems
    response = requests.post(f"{app.url}/proxy/loyalty/redeem?{query}", json={"reward_id": reward["id"]}, timeout=30)
    # then a real single-use code exists in the store and the points are gone
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    assert [c for c in store.discount_codes if c.code == code][0].usage_limit == 1
    assert account_balance(account=account).available == 300 - reward["points_cost"]
    # and the next order using the code marks the redemption used
    store.place_order(customer_id=int(customer.platform_id), discount_code=code)
    assert wait_until(lambda: Redemption.objects.get(code=code).status == "used")


def test_bad_or_missing_proxy_signature_gets_401(app, member):
    _, _, customer, _ = member
    forged = proxy_query(DOMAIN, customer.platform_id, secret="not-the-app-secret-but-long-enough")
    assert requests.get(f"{app.url}/proxy/loyalty?{forged}", timeout=10).status_code == 401
    assert requests.get(f"{app.url}/proxy/loyalty?shop={DOMAIN}", timeout=10).status_code == 401
    # a signature for one customer cannot be bent to another
    tampered = proxy_query(DOMAIN, customer.platform_id).replace(customer.platform_id, "1", 1)
    assert requests.get(f"{app.url}/proxy/loyalty?{tampered}", timeout=10).status_code == 401


def test_not_enough_points_is_refused_and_nothing_changes(app, member):
    _, shop, _, account = member
    expensive = Reward.objects.create(shop=shop, name="Big", kind="fixed_amount", points_cost=1000, value=50)
    with pytest.raises(ApplicationError) as refused:
        reward_redeem(account=account, reward=expensive)
    assert refused.value.status == 409
    assert not Redemption.objects.exists()
    assert account_balance(account=account).available == 300


def test_platform_failure_returns_the_points(app, sandbox, member):
    store, shop, _, account = member
    reward = Reward.objects.filter(shop=shop, kind="percentage").first()
    store.uninstall()  # the store revokes our token: the code cannot be created
    sandbox.webhooks.wait_idle(15)  # (and tells us; let that land before we go on)
    with pytest.raises(ApplicationError) as failed:
        reward_redeem(account=account, reward=reward)
    assert failed.value.status == 502
    assert Redemption.objects.get().status == "failed"
    assert account_balance(account=account).available == 300
    assert LedgerEntry.objects.filter(account=account, idempotency_key__startswith="redeem-returned:").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)")
def test_twenty_concurrent_redemptions_against_a_balance_for_three(app, member):
    _, shop, _, account = member
    reward = Reward.objects.create(shop=shop, name="Hundred", kind="fixed_amount", points_cost=100, value=5)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def redeem() -> None:
        try:
            barrier.wait(timeout=10)
            reward_redeem(account=Account.objects.get(pk=account.pk), reward=reward)
            results.append("ok")
        except ApplicationError as error:
            results.append(str(error.status))
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results).count("ok") == 3
    assert results.count("409") == 17
    assert account_balance(account=account).available == 0
    assert Redemption.objects.filter(status="issued").count() == 3


def test_personalised_reward_is_scoped_to_the_favourite_category(app, member):
    store, shop, _, _ = member
    from loyalty.selectors import favourite_category

    buyer = Customer.objects.filter(shop=shop, orders__lines__isnull=False).distinct().first()
    account = account_for_customer(shop=shop, customer=buyer)
    entry_write(account=account, kind="adjust", source="admin", key="gift-buyer", points=500, reason="gift")
    favourite = favourite_category(account=account)
    assert favourite is not None and favourite.product_platform_ids
    reward = Reward.objects.create(shop=shop, name="15% off your favourite", kind="percentage", points_cost=200,
                                   value=15, personalised=True)
    made = reward_redeem(account=account, reward=reward)
    assert made.scope == favourite.name
    [code] = [c for c in store.discount_codes if c.code == made.code]
    scoped = code.input["customerGets"]["items"]["products"]["productsToAdd"]
    assert sorted(scoped) == sorted(f"gid://shopify/Product/{p}" for p in favourite.product_platform_ids)

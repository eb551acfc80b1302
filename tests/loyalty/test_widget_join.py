"""A logged-in shopper's first visit: the widget's read opens nothing, its POST opens the account."""

import pytest

from loyalty.models import Account
from loyalty.services.program import program_enable
from tests.commerce.test_reads_never_write import proxy
from tests.loyalty.helpers import customer, deliver, line, order

pytestmark = pytest.mark.django_db


def test_reading_shows_a_non_member_and_the_post_opens_the_account_once(client, shop):
    # given a shopper who has ordered (so spend places them in a tier) but has no account (one that
    # came with the history sync, before the program ran)
    program_enable(shop=shop, enabled=False)  # the history came before the program: it earned nothing
    customer(shop, "c1", "dana@example.com")
    deliver(shop, order("1", [line("1a", 1, "600.00")]))
    Account.objects.filter(shop=shop).delete()  # an account without entries; start from a shopper without
    program_enable(shop=shop)
    # when the widget reads
    state = client.get(f"/proxy/loyalty?{proxy(shop, 'c1')}").json()
    # then the shopper is logged in, not yet a member, and nothing was opened
    assert (state["logged_in"], state["member"]) == (True, False)
    assert "balance" not in state and "referral" not in state
    assert not Account.objects.filter(shop=shop).exists()
    # when the widget joins (twice: a second tab)
    first = client.post(f"/proxy/loyalty?{proxy(shop, 'c1')}")
    second = client.post(f"/proxy/loyalty?{proxy(shop, 'c1')}")
    # then one account, placed in its tier, with a referral code, and the state says so
    assert first.status_code == second.status_code == 200
    joined = first.json()
    assert joined["member"] is True and joined["balance"] == {"available": 0, "pending": 0}
    assert joined["tier"]["name"] == "Silver"
    account = Account.objects.get(shop=shop)
    assert joined["referral"]["code"] == account.referral_code == second.json()["referral"]["code"]
    # and the next read shows the member without writing
    assert client.get(f"/proxy/loyalty?{proxy(shop, 'c1')}").json()["member"] is True


def test_a_customer_who_arrives_while_the_program_runs_is_a_member_at_once(shop):
    # when the store sends a new customer (customers/create) while the program is on
    customer(shop, "c2", "noa@example.com")
    # then their account is open, in the first tier; while the program is off, nobody is opened
    assert Account.objects.get(shop=shop, customer__platform_id="c2").tier.name == "Bronze"
    program_enable(shop=shop, enabled=False)
    customer(shop, "c3", "lior@example.com")
    assert not Account.objects.filter(shop=shop, customer__platform_id="c3").exists()


def test_joining_needs_a_customer_the_store_has_sent(client, shop):
    # a logged-out visitor, and a logged-in customer the store has not sent us yet
    anonymous = client.post(f"/proxy/loyalty?{proxy(shop)}")
    unknown = client.post(f"/proxy/loyalty?{proxy(shop, '999')}")
    assert (anonymous.status_code, anonymous.json()["code"]) == (403, "login_required")
    assert (unknown.status_code, unknown.json()["code"]) == (403, "login_required")
    assert not Account.objects.filter(shop=shop).exists()

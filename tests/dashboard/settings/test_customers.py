"""The Customers pages: search, one customer's balance and history, manual adjustment."""

from typing import Any

from django.test import Client

from loyalty.models import EntryKind, LedgerEntry
from loyalty.selectors import active_tiers
from loyalty.services.earning import points_adjust
from loyalty.services.ledger import account_balance, account_for_customer
from loyalty.services.tiers import tier_evaluate
from tests.factories import CustomerFactory
from tests.integrations.test_oauth import session_token

URL = "/dashboard/settings/customers/"


def _account(shop: Any, **customer: Any) -> Any:
    return account_for_customer(shop=shop, customer=CustomerFactory(shop=shop, **customer))


def test_search_finds_by_email_name_and_platform_id(client_in: Client, alpha: Any) -> None:
    # given
    _account(alpha, email="dana@example.com", first_name="Dana", last_name="Levi", platform_id="7001")
    _account(alpha, email="omer@example.com", first_name="Omer", last_name="Cohen", platform_id="7002")
    # when / then
    for query in ("dana@example", "dana levi", "7001", "LEVI"):
        page = client_in.get(URL, {"q": query}).content.decode()
        assert "dana@example.com" in page, query
        assert "omer@example.com" not in page, query
    everyone = client_in.get(URL).content.decode()
    assert "dana@example.com" in everyone and "omer@example.com" in everyone


def test_the_list_is_paginated(client_in: Client, alpha: Any) -> None:
    for index in range(30):
        _account(alpha, email=f"member{index:02d}@example.com")
    first = client_in.get(URL).content.decode()
    second = client_in.get(URL, {"page": 2}).content.decode()
    assert first.count("@example.com</bdi>") == 25
    assert second.count("@example.com</bdi>") == 5
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_search_never_shows_another_shops_customers(client_in: Client, alpha: Any, beta: Any) -> None:
    _account(beta, email="secret@example.com")
    assert "secret@example.com" not in client_in.get(URL, {"q": "secret"}).content.decode()


def test_adjustment_changes_the_balance_and_writes_a_ledger_row_with_reason_and_actor(
        client_in: Client, alpha: Any, member: Any) -> None:
    # given
    account = _account(alpha, email="dana@example.com")
    url = f"{URL}{account.pk}/"
    page = client_in.get(url)
    assert page.status_code == 200
    # when
    response = client_in.post(url, {"points": "75", "reason": "Parcel arrived late", "request_id": "r1"})
    # then
    assert response.status_code == 302 and "saved=1" in response["Location"]
    assert account_balance(account=account).available == 75
    entry = LedgerEntry.objects.get(account=account)
    assert (entry.kind, entry.points, entry.reason) == (EntryKind.ADJUST, 75, "Parcel arrived late")
    assert entry.actor == f"user:{member.pk}" and entry.created_by == member
    shown = client_in.get(url).content.decode()
    assert "Parcel arrived late" in shown and "dana" in shown
    # the same form sent twice (a double click) counts once
    client_in.post(url, {"points": "75", "reason": "Parcel arrived late", "request_id": "r1"})
    assert account_balance(account=account).available == 75
    # a deduction
    client_in.post(url, {"points": "-25", "reason": "Returned gift", "request_id": "r2"})
    assert account_balance(account=account).available == 50


def test_adjustment_needs_a_reason_and_points_other_than_zero(client_in: Client, alpha: Any) -> None:
    account = _account(alpha)
    url = f"{URL}{account.pk}/"
    response = client_in.post(url, {"points": "40", "reason": "  "})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_reason_error"' in page and 'aria-invalid="true"' in page
    response = client_in.post(url, {"points": "0", "reason": "nothing"})
    assert response.status_code == 400 and 'id="id_points_error"' in response.content.decode()
    assert not LedgerEntry.objects.filter(account=account).exists()


def test_another_shops_customer_is_not_found(client_in: Client, beta: Any) -> None:
    other = _account(beta, email="secret@example.com")
    points_adjust(account=other, points=10, reason="seed")
    url = f"{URL}{other.pk}/"
    assert client_in.get(url).status_code == 404
    assert client_in.post(url, {"points": "500", "reason": "steal"}).status_code == 404
    assert account_balance(account=other).available == 10


def test_a_pinned_tier_applies_at_once_and_unpinning_returns_to_the_rules(client_in: Client, alpha: Any,
                                                                          beta: Any) -> None:
    # given: a new member (Bronze from 0 under the default tiers)
    account = _account(alpha)
    tier_evaluate(account=account)
    gold = next(tier for tier in active_tiers(shop=alpha) if tier.name == "Gold")
    url = f"{URL}{account.pk}/"
    # when: pinned to exactly Gold
    response = client_in.post(url, {"action": "tier", "manual_tier_mode": "fixed", "manual_tier": gold.pk})
    # then
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.tier_id, account.manual_tier_id, account.manual_tier_mode) == (gold.pk, gold.pk, "fixed")
    assert 'id="customer-tier">Gold' in client_in.get(url).content.decode()
    # a mode without a tier, or another shop's tier: refused by the field
    response = client_in.post(url, {"action": "tier", "manual_tier_mode": "floor", "manual_tier": ""})
    assert response.status_code == 400 and 'id="id_tier_manual_tier_error"' in response.content.decode()
    other = active_tiers(shop=beta)[0]
    response = client_in.post(url, {"action": "tier", "manual_tier_mode": "floor", "manual_tier": other.pk})
    assert response.status_code == 400
    # back to the rules: the tier is computed again (a fixed tier was not earned)
    client_in.post(url, {"action": "tier", "manual_tier_mode": "", "manual_tier": ""})
    account.refresh_from_db()
    assert account.manual_tier_mode == "" and account.manual_tier_id is None


def test_the_list_takes_the_same_queries_for_more_customers(client_in: Client, alpha: Any,
                                                            django_assert_max_num_queries: Any) -> None:
    for index in range(3):
        _account(alpha, email=f"few{index}@example.com")
    client_in.get(URL)  # the session and the shop's first reads
    with django_assert_max_num_queries(20) as few:
        client_in.get(URL)
    for index in range(20):
        _account(alpha, email=f"many{index}@example.com")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client_in.get(URL)


ALPHA_HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE"  # Shopify's host: base64 of the shop's admin


def test_inside_the_shopify_admin_the_adjustment_records_the_staff_member(alpha: Any, beta: Any) -> None:
    # given: the page loaded by the Shopify admin (no login: the session token names shop and user)
    account = _account(alpha, email="dana@example.com")
    embedded = Client(enforce_csrf_checks=True)
    query = f"shop={alpha.domain}&host={ALPHA_HOST}&locale=fa"
    page = embedded.get(f"{URL}{account.pk}/?{query}&id_token={session_token(alpha.domain)}")
    assert page.status_code == 200 and 'dir="rtl"' in page.content.decode()
    # when
    response = embedded.post(f"{URL}{account.pk}/?{query}&id_token={session_token(alpha.domain)}",
                             {"points": "20", "reason": "Birthday gift by phone", "request_id": "e1"})
    # then: saved with the admin user as the actor, back inside the admin
    assert response.status_code == 302 and f"host={ALPHA_HOST}" in response["Location"]
    entry = LedgerEntry.objects.get(account=account)
    assert (entry.points, entry.actor, entry.created_by) == (20, "shopify-user:42", None)
    # another shop's token cannot reach alpha's customer
    other = embedded.get(f"{URL}{account.pk}/?shop={beta.domain}&host={ALPHA_HOST}"
                         f"&id_token={session_token(beta.domain)}")
    assert other.status_code == 404

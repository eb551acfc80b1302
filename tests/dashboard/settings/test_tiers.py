"""The Tiers page: a new version, its dry run, then activation."""

import re
from decimal import Decimal
from typing import Any

from django.test import Client

from loyalty.models import Account, TierScheme
from loyalty.services.ledger import account_for_customer
from loyalty.services.tiers import tier_evaluate
from tests.factories import CustomerFactory, OrderFactory

URL = "/dashboard/settings/tiers/"


def _tier_rows(rows: list[tuple[str, str]], **extra: str) -> dict[str, str]:
    data = {"action": "propose", "basis": "spend", "period": "lifetime", "grace_days": "0",
            "tiers-TOTAL_FORMS": str(len(rows)), "tiers-INITIAL_FORMS": "0", **extra}
    for index, (name, threshold) in enumerate(rows):
        data[f"tiers-{index}-name"] = name
        data[f"tiers-{index}-threshold"] = threshold
        data[f"tiers-{index}-earn_multiplier"] = "1"
    return data


def _spender(shop: Any, total: str, email: str) -> Account:
    customer = CustomerFactory(shop=shop, email=email, first_name="Dana", last_name="Levi")
    OrderFactory(shop=shop, customer=customer, total=Decimal(total))
    account = account_for_customer(shop=shop, customer=customer)
    tier_evaluate(account=account)
    return Account.objects.select_related("tier").get(pk=account.pk)


def test_a_new_version_is_dry_run_then_activated_and_moves_the_customer(client_in: Client, alpha: Any) -> None:
    # given: the default tiers (Silver from 500), a customer who spent 600
    account = _spender(alpha, "600", "dana@example.com")
    assert account.tier is not None and account.tier.name == "Silver"
    assert "Version 1" in client_in.get(URL).content.decode()
    # when: a new version where Gold starts at 300
    data = _tier_rows([("Bronze", "0"), ("Silver", "100"), ("Gold", "300"), ("", "")],
                      **{"tiers-2-names_he": "זהב", "tiers-2-free_shipping": "on"})
    response = client_in.post(URL, data)
    # then: saved inactive, and the page shows its dry run
    scheme = TierScheme.objects.get(shop=alpha, version=2)
    assert not scheme.is_active
    assert [(t.name, t.threshold) for t in scheme.tiers.order_by("threshold")] == [
        ("Bronze", 0), ("Silver", 100), ("Gold", 300)]
    gold = scheme.tiers.get(name="Gold")
    assert gold.names == {"he": "זהב"} and gold.perks["free_shipping"] is True
    assert response.status_code == 302 and f"scheme={scheme.pk}" in response["Location"]
    page = client_in.get(response["Location"]).content.decode()
    assert '<strong id="dry-run-up">1 up</strong>, <strong id="dry-run-down">0 down</strong>' in page
    assert "dana@example.com" in page and 'id="activate-button"' in page
    account.refresh_from_db()
    assert account.tier.name == "Silver" and account.tier.scheme.version == 1  # nothing moved yet
    client_in.cookies["django_language"] = "he"
    hebrew = client_in.get(response["Location"]).content.decode()
    assert "<td><bdi>זהב</bdi></td>" in hebrew  # the new tier by its Hebrew name
    client_in.cookies["django_language"] = "en"
    # when: activated from the dry run
    fingerprint = re.search(r'name="dry_run" value="([0-9a-f]+)"', page).group(1)
    response = client_in.post(URL, {"action": "activate", "scheme_id": scheme.pk, "dry_run": fingerprint})
    # then
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.tier.name == "Gold" and account.tier.scheme_id == scheme.pk
    assert TierScheme.objects.get(shop=alpha, is_active=True).pk == scheme.pk


def test_activation_needs_the_dry_run_the_merchant_saw(client_in: Client, alpha: Any) -> None:
    account = _spender(alpha, "600", "dana@example.com")
    client_in.post(URL, _tier_rows([("Member", "0"), ("VIP", "300")]))
    scheme = TierScheme.objects.get(shop=alpha, version=2)
    # without a dry run: refused
    assert client_in.post(URL, {"action": "activate", "scheme_id": scheme.pk}).status_code == 400
    # with a stale one: the moves are shown again, nothing activated
    response = client_in.post(URL, {"action": "activate", "scheme_id": scheme.pk, "dry_run": "0" * 16})
    assert response.status_code == 409
    assert "changed since the dry run" in response.content.decode()
    assert not TierScheme.objects.get(pk=scheme.pk).is_active
    account.refresh_from_db()
    assert account.tier.name == "Silver"


def test_invalid_tiers_are_refused_next_to_the_field(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, _tier_rows([("Gold", "0"), ("gold", "300")]))
    assert response.status_code == 400
    assert 'id="id_tiers-1-name_error"' in response.content.decode()
    response = client_in.post(URL, _tier_rows([("Gold", "0"), ("Platinum", "")]))
    assert response.status_code == 400
    assert 'id="id_tiers-1-threshold_error"' in response.content.decode()
    response = client_in.post(URL, _tier_rows([("Gold", "-5")]))
    assert response.status_code == 400
    assert 'id="id_tiers-0-threshold_error"' in response.content.decode()
    response = client_in.post(URL, _tier_rows([("", "")]))
    assert response.status_code == 400 and "Add at least one tier" in response.content.decode()
    assert not TierScheme.objects.filter(shop=alpha, version=2).exists()


def test_another_shops_version_is_not_found(client_in: Client, beta: Any) -> None:
    other = TierScheme.objects.get(shop=beta, is_active=True)
    assert client_in.get(URL, {"scheme": other.pk}).status_code == 404
    assert client_in.post(URL, {"action": "activate", "scheme_id": other.pk, "dry_run": "0" * 16}).status_code == 404

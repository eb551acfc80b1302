"""The Badges and challenges page: create, validate, edit, switch off; and what that changes."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.test import Client

from loyalty.models import AccountBadge, Badge, Challenge
from loyalty.services.actions import badges_review
from loyalty.services.ledger import account_for_customer
from tests.factories import CustomerFactory, OrderFactory

URL = "/dashboard/settings/badges/"


def _badge(**fields: str) -> dict[str, str]:
    return {"kind_of": "badge", "action": "save", **{f"badge-{key}": value for key, value in fields.items()}}


def _challenge(**fields: str) -> dict[str, str]:
    return {"kind_of": "challenge", "action": "save", **{f"challenge-{key}": value for key, value in fields.items()}}


def test_a_new_badge_is_awarded_to_who_qualifies_and_a_switched_off_one_is_not(client_in: Client,
                                                                                alpha: Any) -> None:
    # given: a customer with 3 orders
    customer = CustomerFactory(shop=alpha)
    for _ in range(3):
        OrderFactory(shop=alpha, customer=customer)
    account = account_for_customer(shop=alpha, customer=customer)
    # when
    response = client_in.post(URL, _badge(kind="orders", name="Loyal three", threshold="3", points="40"))
    # then
    assert response.status_code == 302
    badge = Badge.objects.get(shop=alpha, name="Loyal three")
    assert (badge.kind, badge.threshold, badge.points, badge.is_active) == ("orders", 3, 40, True)
    assert "Loyal three" in client_in.get(URL).content.decode()
    # switched off before the review: not awarded
    client_in.post(URL, {"kind_of": "badge", "action": "toggle", "id": badge.pk})
    assert not Badge.objects.get(pk=badge.pk).is_active
    badges_review(account=account)
    assert not AccountBadge.objects.filter(account=account, badge=badge).exists()
    # on again: awarded
    client_in.post(URL, {"kind_of": "badge", "action": "toggle", "id": badge.pk})
    assert badge in badges_review(account=account)


def test_a_badge_is_edited(client_in: Client, alpha: Any) -> None:
    badge = Badge.objects.get(shop=alpha, name="5 orders")
    assert 'value="5 orders"' in client_in.get(URL, {"badge": badge.pk}).content.decode()
    response = client_in.post(URL, {**_badge(kind="orders", name="Ten orders", threshold="10", points="150",
                                             is_active="on"), "id": badge.pk})
    assert response.status_code == 302
    badge.refresh_from_db()
    assert (badge.name, badge.threshold, badge.points) == ("Ten orders", 10, 150)


def test_invalid_badges_are_refused_next_to_the_field(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, _badge(kind="orders", name="member", threshold="2", points="0"))
    assert response.status_code == 400  # "Member" exists (names are case-insensitive)
    assert 'id="id_badge-name_error"' in response.content.decode()
    response = client_in.post(URL, _badge(kind="tier", name="Platinum club", points="0", tier_name="Platinum"))
    assert response.status_code == 400 and 'id="id_badge-tier_name_error"' in response.content.decode()
    response = client_in.post(URL, _badge(kind="orders", name="Bulk", threshold="0", points="0"))
    assert response.status_code == 400 and 'id="id_badge-threshold_error"' in response.content.decode()
    assert not Badge.objects.filter(shop=alpha, name__in=["member", "Platinum club", "Bulk"]).exists()


def test_a_challenge_runs_over_whole_days_in_the_shops_time_zone(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, _challenge(name="Spring sprint", goal="orders", target="3",
                                              starts_at="2026-03-01", ends_at="2026-03-31", points="100"))
    assert response.status_code == 302
    challenge = Challenge.objects.get(shop=alpha)
    # Asia/Jerusalem is UTC+2 in early March, UTC+3 from late March
    assert challenge.starts_at == datetime(2026, 2, 28, 22, 0, tzinfo=UTC)
    assert challenge.ends_at.astimezone(UTC).replace(microsecond=0) == datetime(2026, 3, 31, 20, 59, 59, tzinfo=UTC)
    assert (challenge.target, challenge.points, challenge.is_active) == (Decimal(3), 100, True)
    client_in.post(URL, {"kind_of": "challenge", "action": "toggle", "id": challenge.pk})
    assert not Challenge.objects.get(pk=challenge.pk).is_active


def test_invalid_challenges_are_refused_next_to_the_field(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, _challenge(name="Backwards", goal="orders", target="3",
                                              starts_at="2026-03-31", ends_at="2026-03-01", points="10"))
    assert response.status_code == 400 and 'id="id_challenge-ends_at_error"' in response.content.decode()
    response = client_in.post(URL, _challenge(name="Half", goal="reviews", target="1.5",
                                              starts_at="2026-03-01", ends_at="2026-03-31", points="10"))
    assert response.status_code == 400 and 'id="id_challenge-target_error"' in response.content.decode()
    assert not Challenge.objects.filter(shop=alpha).exists()


def test_another_shops_badge_cannot_be_changed(client_in: Client, beta: Any) -> None:
    badge = Badge.objects.get(shop=beta, name="Member")
    assert client_in.get(URL, {"badge": badge.pk}).status_code == 404
    assert client_in.post(URL, {"kind_of": "badge", "action": "toggle", "id": badge.pk}).status_code == 404
    assert Badge.objects.get(pk=badge.pk).is_active


def test_a_challenge_opens_for_editing_with_its_values(client_in: Client, alpha: Any) -> None:
    client_in.post(URL, _challenge(name="Big spender", goal="spend", target="150", starts_at="2026-03-01",
                                   ends_at="2026-03-31", points="100"))
    challenge = Challenge.objects.get(shop=alpha)
    page = client_in.get(URL, {"challenge": challenge.pk}).content.decode()
    assert 'name="challenge-target" value="150"' in page
    assert 'name="challenge-starts_at" value="2026-03-01"' in page and 'value="2026-03-31"' in page
    response = client_in.post(URL, {**_challenge(name="Big spender", goal="spend", target="200",
                                                 starts_at="2026-03-01", ends_at="2026-04-30", points="120",
                                                 is_active="on"), "id": challenge.pk})
    assert response.status_code == 302
    challenge.refresh_from_db()
    assert (challenge.target, challenge.points, challenge.is_active) == (Decimal(200), 120, True)

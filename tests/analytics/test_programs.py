"""Loyalty members against non-members, points, flows and NPS on a hand-computed store."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.services import campaign_return, loyalty_return, nps
from campaigns.models import Attribution, Flow
from loyalty.models import Account, EntryKind, EntrySource
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable
from surveys.selectors import survey_list
from surveys.services import response_submit, survey_activate
from tests.analytics.helpers import at, customer, order
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}


def _member(shop, buyer, joined):
    account = account_for_customer(shop=shop, customer=buyer)
    Account.objects.filter(pk=account.pk).update(created_at=joined)
    return account


def _points(account, points, kind, when, key):
    # dated ``when`` but written now: the report goes by when it happened
    entry_write(account=account, kind=kind, source=EntrySource.ADMIN, key=key, points=points,
                available_at=when, occurred_at=when, announce=False)


@pytest.fixture
def shop():
    shop = ShopFactory()
    program_enable(shop=shop)
    first, second, late, never = (customer(shop, name) for name in ("m1", "m2", "late", "never"))
    m1 = _member(shop, first, at(2026, 2, 1))
    _member(shop, second, at(2026, 3, 15))
    _member(shop, late, at(2026, 4, 5))  # joined after the period: a non-member in March
    order(shop, first, at(2026, 3, 3), "100")
    shop.winback_order = order(shop, first, at(2026, 3, 10), "50", refunded="10", status="partially_refunded")
    order(shop, first, at(2026, 3, 11), "999", cancelled=True)
    order(shop, second, at(2026, 3, 20), "30")
    order(shop, late, at(2026, 3, 5), "40")
    shop.thanks_order = order(shop, never, at(2026, 3, 6), "20")
    order(shop, never, at(2026, 3, 7), "20")
    order(shop, None, at(2026, 3, 8), "10")  # a guest: neither group
    _points(m1, 200, EntryKind.EARN, at(2026, 3, 3), "earn-1")
    _points(m1, -50, EntryKind.REDEEM, at(2026, 3, 12), "redeem-1")
    _points(m1, 100, EntryKind.EARN, at(2026, 4, 2), "earn-2")  # after the period
    return shop


def test_members_against_non_members_points_and_liability(shop):
    assert loyalty_return(shop=shop, **MARCH) == {
        "program_enabled": True,
        "members": {"customers": 2, "orders": 3, "spend": "170.000", "purchase_frequency": Decimal("1.50"),
                    "average_order_value": "56.667", "spend_per_customer": "85.000"},
        "non_members": {"customers": 2, "orders": 3, "spend": "80.000", "purchase_frequency": Decimal("1.50"),
                        "average_order_value": "26.667", "spend_per_customer": "40.000"},
        "points": {"earned": 200, "redeemed": 50, "outstanding": 250},
        "redemption_rate_percent": Decimal("25.00"),
        "points_liability": "12.500",  # 250 points at the default 0.05
    }


def test_revenue_and_discount_cost_per_flow(shop):
    winback = Flow.objects.get(shop=shop, key="winback")  # a preset: every installed shop has it
    thanks = Flow.objects.create(shop=shop, key="thank_you", name="Thank you", trigger="order.paid")
    Attribution.objects.create(shop=shop, order=shop.winback_order, flow=winback, via="code", revenue=50,
                               discount=5, currency="USD")
    Attribution.objects.create(shop=shop, order=shop.thanks_order, flow=thanks, via="window", revenue=20,
                               discount=0, currency="USD")
    april = order(shop, customer(shop), at(2026, 4, 2), "70")
    Attribution.objects.create(shop=shop, order=april, flow=thanks, via="window", revenue=70, discount=0,
                               currency="USD")
    # the winback order was refunded 10 after the attribution: its revenue now is 40
    assert campaign_return(shop=shop, **MARCH) == {
        "flows": [
            {"flow": "thank_you", "name": "Thank you", "orders": 1, "revenue": "20.000", "discount_cost": "0.000"},
            {"flow": "winback", "name": "Win-back: we miss you", "orders": 1,
             "revenue": "40.000", "discount_cost": "5.000"},
        ],
        "revenue": "60.000",
        "discount_cost": "5.000",
        "share_of_revenue_percent": Decimal("23.08"),  # 60 of 100 + 40 + 30 + 40 + 20 + 20 + 10
    }


def test_nps_comes_from_the_surveys_and_is_none_without_answers(shop):
    today = timezone.localdate()
    period = {"start": today - timedelta(days=30), "end": today}
    assert nps(shop=shop, **period) is None
    survey = next(s for s in survey_list(shop=shop) if s.key == "nps")
    survey = survey_activate(shop=shop, survey_id=survey.pk)
    for index, score in enumerate((10, 9, 3)):
        response_submit(survey=survey, customer=customer(shop, f"nps{index}"), answers={"recommend": score},
                        channel="email")
    result = nps(shop=shop, **period)
    assert result is not None
    assert {key: result[key] for key in ("score", "responses", "promoters", "passives", "detractors")} == {
        "score": Decimal("33.33"), "responses": 3, "promoters": 2, "passives": 0, "detractors": 1}
    assert result["by_month"][-1]["month"] == today.strftime("%Y-%m")
    assert result["by_month"][-1]["responses"] == 3

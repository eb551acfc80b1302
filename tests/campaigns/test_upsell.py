"""Post-purchase upsell on the thank-you page: bought-together products, only for the buyer."""

from datetime import UTC, datetime, timedelta

import pytest

from commerce.models import Product
from tests.campaigns.helpers import co_purchase_store
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order
from tests.loyalty.test_widget_api import signed

pytestmark = pytest.mark.django_db

T = datetime(2026, 5, 1, 10, tzinfo=UTC)


@pytest.fixture
def shop():
    return co_purchase_store(ShopFactory(), at=T)


def test_offers_what_others_bought_with_it(client, shop):
    deliver(shop, order("new", [line("new-a", 1, "90", product="serum")], customer="buyer",
                        email="buyer@example.com", at=T))
    response = client.get(f"/proxy/upsell?{signed(shop, 'buyer', order='new')}")
    assert response.status_code == 200
    assert [o["title"] for o in response.json()["offers"]] == ["Hair mask", "Wide comb"]


def test_another_shopper_cannot_see_the_offer(client, shop):
    deliver(shop, order("new", [line("new-a", 1, "90", product="serum")], customer="buyer",
                        email="buyer@example.com", at=T))
    assert client.get(f"/proxy/upsell?{signed(shop, 'x1', order='new')}").status_code == 404


def test_replenishment_uses_the_merchants_cycle_or_the_learned_median(shop, settings):
    from django.core import mail

    from campaigns.services.engine import replenishment_scan, repurchase_medians, run_due
    from campaigns.services.flows import flow_enable
    from commerce.models import Customer

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # five customers rebuy soap every 30 days: the shop's median is learned
    for c in range(5):
        for k in range(2):
            deliver(shop, order(f"s{c}{k}", [line(f"s{c}{k}a", 1, "8", product="soap")], customer=f"s{c}",
                                email=f"s{c}@example.com", at=T - timedelta(days=200 - 30 * k + c)))
    soap = Product.objects.get(shop=shop, platform_id="soap")
    assert repurchase_medians(shop_id=shop.pk, min_repurchases=5) == {soap.pk: 30}
    flow = flow_enable(shop=shop, key="replenishment")
    flow.steps.update(config={})
    flow.settings = {"cycles": {"serum": 60}, "min_repurchases": 5}
    flow.save()
    for customer in Customer.objects.filter(shop=shop):
        customer.email, customer.email_consent = f"{customer.platform_id}@example.com", "subscribed"
        customer.save()
    # the serum buyer from 60 days ago is due today (the merchant's cycle)
    now = T - timedelta(days=1) + timedelta(days=60, hours=2)
    assert replenishment_scan(flow=flow, now=now) >= 1
    outcomes = run_due(now=now.replace(hour=12))
    assert any("Hair serum" in m.subject for m in mail.outbox), (outcomes, [m.subject for m in mail.outbox])

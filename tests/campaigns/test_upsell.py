"""Post-purchase upsell on the thank-you page: bought-together products, only for the buyer."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commerce.models import Product, Variant
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order
from tests.loyalty.test_widget_api import signed

pytestmark = pytest.mark.django_db

T = datetime(2026, 5, 1, 10, tzinfo=UTC)


@pytest.fixture
def shop():
    shop = ShopFactory()
    for pid, title, price, cost in [("serum", "Hair serum", "90", "20"), ("comb", "Wide comb", "15", "3"),
                                    ("mask", "Hair mask", "60", "15"), ("soap", "Soap", "8", "2")]:
        product = Product.objects.create(shop=shop, platform_id=pid, title=title, status="active")
        Variant.objects.create(shop=shop, product=product, platform_id=f"v-{pid}", currency="USD",
                               price=Decimal(price), unit_cost=Decimal(cost))
    # serum is bought with the mask three times, with the comb once
    for n in range(3):
        lines = [line(f"m{n}a", 1, "90", product="serum"), line(f"m{n}b", 1, "60", product="mask")]
        deliver(shop, order(f"m{n}", lines, customer=f"x{n}", email=f"x{n}@example.com", at=T - timedelta(days=n + 1)))
    deliver(shop, order("c1", [line("c1a", 1, "90", product="serum"), line("c1b", 1, "15", product="comb")],
                        customer="y", email="y@example.com", at=T - timedelta(days=9)))
    return shop


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

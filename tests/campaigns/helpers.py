"""A small store with co-purchase history, shared by the upsell tests (thank-you page API and SMS)."""

from datetime import datetime, timedelta
from decimal import Decimal

from commerce.models import Product, Shop, Variant
from tests.loyalty.helpers import deliver, line, order


def co_purchase_store(shop: Shop, *, at: datetime) -> Shop:
    """Four products; the serum is bought with the mask three times and with the comb once."""
    for pid, title, price, cost in [("serum", "Hair serum", "90", "20"), ("comb", "Wide comb", "15", "3"),
                                    ("mask", "Hair mask", "60", "15"), ("soap", "Soap", "8", "2")]:
        product = Product.objects.create(shop=shop, platform_id=pid, title=title, status="active")
        Variant.objects.create(shop=shop, product=product, platform_id=f"v-{pid}", currency="USD",
                               price=Decimal(price), unit_cost=Decimal(cost))
    for n in range(3):
        lines = [line(f"m{n}a", 1, "90", product="serum"), line(f"m{n}b", 1, "60", product="mask")]
        deliver(shop, order(f"m{n}", lines, customer=f"x{n}", email=f"x{n}@example.com", at=at - timedelta(days=n + 1)))
    deliver(shop, order("c1", [line("c1a", 1, "90", product="serum"), line("c1b", 1, "15", product="comb")],
                        customer="y", email="y@example.com", at=at - timedelta(days=9)))
    return shop

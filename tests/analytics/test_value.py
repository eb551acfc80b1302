"""Average order value, profit per order and customer lifetime value on hand-computed stores."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from analytics import clv
from analytics.models import ImportedOrderCost
from analytics.services import (
    average_order_value,
    clv_customer_summary,
    customer_lifetime_value,
    historic_clv,
    profit_per_order,
)
from analytics.services.base import shop_zone
from commerce.models import Customer, Order, OrderLine, Product, Refund, Variant
from tests.analytics.helpers import at, customer, order
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}


def _line(order_row: Order, variant: Variant | None, quantity: int, price: str, discount: str = "0") -> None:
    OrderLine.objects.create(shop=order_row.shop, order=order_row, platform_id=f"line-{order_row.platform_id}",
                             variant=variant, quantity=quantity, currency=order_row.currency,
                             unit_price=Decimal(price), total_discount=Decimal(discount))


@pytest.fixture
def store():
    """March: a discounted, taxed, shipped and partly refunded order with costed lines; an
    imported order with its cost; a guest order whose line has no cost.  Not counted: a cancelled
    order and one in another currency."""
    shop = ShopFactory(currency="USD")
    product = Product.objects.create(shop=shop, platform_id="p1", title="Mug")
    costed = Variant.objects.create(shop=shop, product=product, platform_id="v1", currency="USD", price=50,
                                    unit_cost=Decimal("12"))
    uncosted = Variant.objects.create(shop=shop, product=product, platform_id="v2", currency="USD", price=20)
    a, b = customer(shop), customer(shop)
    order(shop, a, at(2026, 1, 10), "60")
    first = order(shop, a, at(2026, 3, 3), "110", tax="8", shipping="12", discounts="10", refunded="30",
                  status="partially_refunded")
    _line(first, costed, 2, "50", discount="10")
    Refund.objects.create(shop=shop, order=first, platform_id="r1", currency="USD", amount=30, shipping_amount=5,
                          processed_at=at(2026, 4, 2))
    imported = order(shop, b, at(2026, 3, 4), "40")
    ImportedOrderCost.objects.create(shop=shop, order=imported, currency="USD", cost=Decimal("15"))
    guest = order(shop, None, at(2026, 3, 5), "20")
    _line(guest, uncosted, 1, "20")
    order(shop, a, at(2026, 3, 6), "1000", cancelled=True)
    order(shop, b, at(2026, 3, 7), "500", currency="EUR")
    return shop


def test_average_order_value_is_net_revenue_per_order(store):
    assert average_order_value(shop=store, **MARCH) == {
        "orders": 3, "revenue": "140.000", "average_order_value": "46.667", "orders_in_other_currency": 1,
    }


def test_profit_per_order_subtracts_costs_discounts_refunds_and_fulfilment(store):
    # gross sales (110 − 8 − 12 + 10) + 40 + 20 = 160; discounts 10; refunds 30 − 5 shipping = 25;
    # product cost 2 × 12 + 15 = 39; fulfilment 3 × 2.50 = 7.50; profit 78.50 over 3 orders
    result = profit_per_order(shop=store, fulfilment_cost_per_order=Decimal("2.50"), **MARCH)
    assert result == {
        "profit_per_order": "26.167",
        "profit": {"orders": 3, "gross_sales": "160.000", "discounts": "10.000", "refunds": "25.000",
                   "product_cost": "39.000", "fulfilment_cost": "7.500", "profit": "78.500",
                   "orders_without_cost": 1},
    }


def test_profit_per_order_is_none_without_orders():
    assert profit_per_order(shop=ShopFactory(), **MARCH)["profit_per_order"] is None


def test_historic_clv_is_net_revenue_per_customer_to_date(store):
    # A: 60 + (110 − 30) = 140; B: 40 (the EUR order is left out); the guest is no customer
    assert historic_clv(shop=store, end=date(2026, 3, 31)) == {"customers": 2, "historic_mean": "90.000"}
    assert historic_clv(shop=store, end=date(2026, 2, 28)) == {"customers": 1, "historic_mean": "60.000"}


def test_the_sql_customer_summary_matches_the_models_reference_summary():
    # given: a Tokyo shop; orders at random times, some on the same local day, some not counted
    shop = ShopFactory(timezone="Asia/Tokyo")
    rng = np.random.default_rng(7)
    transactions = []
    for index in range(30):
        buyer = customer(shop)
        for _ in range(int(rng.integers(1, 6))):
            when = at(2025, 1, 1, hour=0) + timedelta(hours=int(rng.integers(0, 24 * 500)))
            total = Decimal(int(rng.integers(100, 10000))) / 100
            refunded = (total / 4).quantize(Decimal("0.01")) if index % 5 == 0 else Decimal("0")
            cancelled = bool(rng.random() < 0.1)
            order(shop, buyer, when, str(total), refunded=str(refunded), cancelled=cancelled,
                  status="partially_refunded" if refunded else "paid")
            if not cancelled:
                transactions.append((buyer.pk, when.astimezone(shop_zone(shop)), total - refunded))
    end = date(2026, 3, 1)
    # when
    summary = clv_customer_summary(shop=shop, end=end)
    reference = clv.rfm_summary(transactions, end, time_unit="weeks")
    # then
    order_of = np.argsort(np.array(reference.customer_ids))
    assert list(summary.customer_ids) == sorted(int(pk) for pk in reference.customer_ids)  # type: ignore[call-overload]
    for name in ("frequency", "recency", "T", "monetary"):
        np.testing.assert_allclose(getattr(summary, name), getattr(reference, name)[order_of], rtol=1e-9)


def test_a_small_store_gets_no_predicted_clv_and_is_told_why(store):
    result = customer_lifetime_value(shop=store, end=date(2026, 3, 31))
    assert result["historic_mean"] == "90.000"
    assert result["customers"] == 2
    assert result["model"] is None
    assert result["predicted_mean"] is None
    assert "too few customers" in result["reason"]


def _bgnbd_store(shop, customers: int, seed: int, dropout: float | None = None, spend: float | None = None) -> None:
    """Customers who buy as BG/NBD assumes (Poisson while alive, drop out after a purchase), each
    with their own dropout probability, or all with ``dropout``."""
    rng = np.random.default_rng(seed)
    start = at(2024, 1, 1)
    buyers = Customer.objects.bulk_create(
        [Customer(shop=shop, platform_id=f"s{index}") for index in range(customers)])
    rows: list[Order] = []
    for buyer in buyers:
        rate = rng.gamma(0.9, 1 / 6.0)  # purchases per week
        drop = rng.beta(1.0, 3.0) if dropout is None else dropout
        week = float(rng.uniform(0, 30))
        mean_spend = rng.gamma(4.0, 10.0) if spend is None else spend
        while week < 104:
            value = Decimal(str(round(float(rng.gamma(6.0, mean_spend / 6.0)) + 1, 2)))
            rows.append(Order(shop=shop, customer=buyer, platform_id=f"s{len(rows)}", currency="USD", total=value,
                              subtotal=value, financial_status="paid",
                              processed_at=start + timedelta(weeks=week)))
            if rng.random() < drop:
                break
            week += float(rng.exponential(1 / rate))
    Order.objects.bulk_create(rows)


def test_predicted_clv_from_the_fitted_models():
    # given
    shop = ShopFactory(currency="USD")
    _bgnbd_store(shop, 600, seed=3)
    # when
    result = customer_lifetime_value(shop=shop, end=date(2025, 12, 28), horizon_weeks=52)
    # then
    assert result["reason"] is None, result["reason"]
    model = result["model"]
    assert model["name"] == "BG/NBD + Gamma-Gamma"
    assert model["time_unit"] == "weeks"
    assert set(model["params"]) == {"r", "alpha", "a", "b", "p", "q", "v"}
    assert all(value > 0 for value in model["params"].values())
    assert model["log_likelihood"] < 0
    # heterogeneous dropout and spend: both full models beat their limits by far more than the threshold
    selection = result["model_selection"]
    assert selection["purchases"]["chosen"] == "bg_nbd" and selection["spend"]["chosen"] == "gamma_gamma"
    for part in ("purchases", "spend"):
        assert selection[part]["likelihood_ratio"] > selection[part]["critical_value"] == 3.841
    assert selection["purchases"]["full_log_likelihood"] == model["log_likelihood"]
    assert selection["spend"]["full_log_likelihood"] == model["gamma_gamma_log_likelihood"]
    assert result["customers"] == 600
    assert 0 < result["probability_alive"]["mean"] <= 1
    assert Decimal(result["predicted_mean"]) > 0
    # the same numbers as calling the models directly on the summary
    summary = clv_customer_summary(shop=shop, end=date(2025, 12, 28))
    repeat = (summary.frequency > 0) & (summary.monetary > 0)
    purchases = clv.fit_bgnbd(summary.frequency, summary.recency, summary.T)
    spend = clv.fit_gamma_gamma(summary.frequency[repeat], summary.monetary[repeat])
    expected = clv.predicted_clv(purchases, spend, summary.frequency, summary.recency, summary.T, summary.monetary,
                                 52).mean()
    assert Decimal(result["predicted_mean"]) == Decimal(str(expected)).quantize(Decimal("0.001"))
    # a longer horizon predicts more
    longer = customer_lifetime_value(shop=shop, end=date(2025, 12, 28), horizon_weeks=104)
    assert Decimal(longer["predicted_mean"]) > Decimal(result["predicted_mean"])


def test_a_store_whose_dropout_is_the_same_for_everyone_gets_the_limit_model():
    shop = ShopFactory(currency="USD")
    _bgnbd_store(shop, 800, seed=5, dropout=0.1)
    result = customer_lifetime_value(shop=shop, end=date(2025, 12, 28), horizon_weeks=52)
    assert result["reason"] is None, result["reason"]
    model = result["model"]
    assert model["name"] == "BG/NBD + Gamma-Gamma (constant-dropout limit)"
    assert model["params"]["a"] is None and model["params"]["b"] is None
    assert model["params"]["dropout_probability"] == pytest.approx(0.1, rel=0.3)
    assert "one dropout probability" in model["note"]
    purchases = result["model_selection"]["purchases"]
    assert purchases["chosen"] == "constant_dropout"
    assert purchases["likelihood_ratio"] <= purchases["critical_value"]
    assert purchases["limit_log_likelihood"] == model["log_likelihood"]
    assert result["model_selection"]["spend"]["chosen"] == "gamma_gamma"
    assert Decimal(result["predicted_mean"]) > 0


def test_a_store_whose_customers_spend_alike_gets_the_constant_spend_limit():
    shop = ShopFactory(currency="USD")
    _bgnbd_store(shop, 800, seed=6, dropout=0.1, spend=40.0)
    result = customer_lifetime_value(shop=shop, end=date(2025, 12, 28), horizon_weeks=52)
    assert result["reason"] is None, result["reason"]
    model = result["model"]
    assert model["name"] == "BG/NBD + Gamma-Gamma (constant-dropout, constant-spend limit)"
    assert model["params"]["q"] is None and model["params"]["v"] is None
    # every customer is expected to spend the mean repeat purchase value (40 + 1 on average here)
    assert model["params"]["p"] / model["params"]["nu"] == pytest.approx(41, rel=0.05)
    assert "mean spend hardly differs" in model["note"]
    spend = result["model_selection"]["spend"]
    assert spend["chosen"] == "constant_spend" and spend["likelihood_ratio"] <= spend["critical_value"]
    assert spend["limit_log_likelihood"] == model["gamma_gamma_log_likelihood"]


def test_the_predicted_clv_is_the_same_on_every_call():
    """The dashboard recomputes the report on each page view: model, label and numbers must not change."""
    shop = ShopFactory(currency="USD")
    _bgnbd_store(shop, 800, seed=6, dropout=0.1, spend=40.0)
    first = customer_lifetime_value(shop=shop, end=date(2025, 12, 28), horizon_weeks=52)
    second = customer_lifetime_value(shop=shop, end=date(2025, 12, 28), horizon_weeks=52)
    assert first == second
    assert first["model"]["name"] == "BG/NBD + Gamma-Gamma (constant-dropout, constant-spend limit)"

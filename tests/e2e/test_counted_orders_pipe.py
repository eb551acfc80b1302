"""Over the wire: a shopper's paid order, an order refunded in full and a test order come from the
Shopify sandbox as webhooks; analytics, loyalty tiers and badges and segments count only the first."""

from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.services import customer_orders
from commerce.models import Customer, Order, Shop
from commerce.selectors import orders_counted
from loyalty.models import Account, TierScheme
from loyalty.selectors import account_orders
from loyalty.services.program import program_enable
from loyalty.services.tiers import tier_metric
from segments.models import CustomerScore
from segments.services import shop_recompute
from tests.e2e.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "counted-orders.myshopify.com"


def test_a_refunded_and_a_test_order_count_nowhere(app, sandbox):
    # given an installed store with a loyalty program and a shopper
    store = sandbox.add_shop(DOMAIN, seed=5, customers=20, orders=40)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    shopper = store.create_customer(email="counted@example.com", first_name="Rina")
    # when the shopper buys, buys again and gets all of it refunded, and a test order is placed for them
    paid = store.place_order(shopper.id)
    refunded = store.place_order(shopper.id)
    store.refund_order(refunded.id)  # nothing given: everything
    tested = store.place_order(shopper.id, test=True)
    sandbox.webhooks.wait_idle(30)
    # then the mirror holds all three as Shopify reports them
    customer = Customer.objects.get(shop=shop, platform_id=str(shopper.id))
    mirrored = {order.platform_id: order for order in Order.objects.filter(shop=shop, customer=customer)}
    assert set(mirrored) == {str(paid.id), str(refunded.id), str(tested.id)}
    assert mirrored[str(refunded.id)].financial_status == "refunded"
    assert mirrored[str(refunded.id)].total_refunded == mirrored[str(refunded.id)].total > 0
    assert mirrored[str(tested.id)].is_test
    net = mirrored[str(paid.id)].total
    # and every app counts the paid order alone
    assert list(orders_counted(shop=shop).filter(customer=customer).values_list("platform_id", flat=True)) == [
        str(paid.id)]
    assert list(customer_orders(shop=shop).filter(customer=customer).values_list("platform_id", flat=True)) == [
        str(paid.id)]
    account = Account.objects.get(shop=shop, customer=customer)
    assert account_orders(account=account).count() == 1
    scheme = TierScheme.objects.get(shop=shop, is_active=True)
    assert tier_metric(account=account, scheme=scheme, at=timezone.now()) == net
    shop_recompute(shop=shop)
    score = CustomerScore.objects.get(shop=shop, customer=customer)
    assert (score.orders_count, score.total_spent) == (1, net)
    assert net > Decimal("0")

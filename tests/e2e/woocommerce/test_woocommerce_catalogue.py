"""Customers and products kept up to date by a WooCommerce store's webhooks: a shopper registering
on the storefront, changing their details and being deleted by the merchant; a product's price and
cost (Cost of Goods) changing, and a product moved to the bin."""

from decimal import Decimal

import pytest

from commerce.models import Customer, Product, Variant
from tests.e2e.conftest import wait_until
from tests.e2e.woocommerce.conftest import add_store, connect, shopper

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_shopper_registers_changes_their_name_and_is_deleted(app, woo_sandbox):
    store = add_store(woo_sandbox, "people", seed=14, customers=10, orders=10)
    shop = connect(app, store, woo_sandbox)
    # a shopper registers on My account
    browser = shopper(store, None)
    browser.post(f"{store.url}/my-account", data={"email": "new.shopper@example.com", "first_name": "Dana"},
                 timeout=30)
    wp_user = store.find_customer_by_email("new.shopper@example.com")
    assert wp_user is not None
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Customer.objects.filter(shop=shop, platform_id=str(wp_user.id)).exists())
    mirrored = Customer.objects.get(shop=shop, platform_id=str(wp_user.id))
    assert (mirrored.email, mirrored.first_name) == ("new.shopper@example.com", "Dana")
    # they change their name
    store.update_customer(wp_user.id, first_name="Dana-Lee", last_name="Cohen")
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Customer.objects.get(pk=mirrored.pk).last_name == "Cohen")
    assert Customer.objects.get(pk=mirrored.pk).first_name == "Dana-Lee"
    # the merchant deletes the account (WordPress keeps their orders as guest orders)
    store.delete_customer(wp_user.id)
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Customer.objects.get(pk=mirrored.pk).is_deleted)


def test_price_cost_and_the_bin_reach_the_mirror(app, woo_sandbox):
    store = add_store(woo_sandbox, "catalogue", seed=15, customers=5, orders=10)
    shop = connect(app, store, woo_sandbox)
    product = next(p for p in store.products.values() if p.variations)
    variation = product.variations[0]
    stored = Variant.objects.get(shop=shop, platform_id=str(variation.id))
    assert stored.price == variation.regular_price
    # the merchant changes a variation's price and cost
    store.update_product(variation.id, regular_price="99.90", cost="41.25")
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Variant.objects.get(pk=stored.pk).price == Decimal("99.90"))
    assert Variant.objects.get(pk=stored.pk).unit_cost == Decimal("41.25")
    # and moves another product to the bin: it is no longer an active product
    other = next(p for p in store.products.values() if p.id != product.id and p.status == "publish")
    store.trash_product(other.id)
    assert woo_sandbox.wait_idle(20)
    assert wait_until(lambda: Product.objects.get(shop=shop, platform_id=str(other.id)).status != "active")

"""Discount codes through the adapter interface, created for real in the (sandbox) store."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commerce.models import Shop
from integrations.platforms import DiscountCodeTaken, DiscountKind, DiscountSpec, adapter_for
from tests.e2e.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("kind, value", [
    (DiscountKind.FIXED_AMOUNT, Decimal("10")),
    (DiscountKind.PERCENTAGE, Decimal("15")),
    (DiscountKind.FREE_SHIPPING, Decimal("0")),
    (DiscountKind.FREE_PRODUCT, Decimal("0")),
])
def test_single_use_code_is_created_in_the_store(app, sandbox, kind, value):
    store = sandbox.add_shop("codes.myshopify.com", seed=1, customers=5, orders=5)
    install(app, "codes.myshopify.com")
    shop = Shop.objects.get(domain="codes.myshopify.com")
    ends = datetime.now(UTC) + timedelta(hours=6)
    variant = str(store.products[0].variants[0].id)
    spec = DiscountSpec(code="COMEBACK-AB12", title="Reward", kind=kind, value=value,
                        minimum_subtotal=Decimal("50"), ends_at=ends,
                        product_variant_platform_ids=(variant,) if kind == DiscountKind.FREE_PRODUCT else ())
    created = adapter_for(shop.platform).discount_code_create(shop=shop, spec=spec)
    assert created.code == "COMEBACK-AB12" and created.platform_id
    [stored] = [code for code in store.discount_codes if code.code == "COMEBACK-AB12"]
    assert stored.usage_limit == 1
    assert stored.kind == {DiscountKind.FREE_SHIPPING: "free_shipping", DiscountKind.FREE_PRODUCT: "bxgy"}.get(
        kind, "basic")
    # the same code again is refused like Shopify does (codes are unique per shop)
    with pytest.raises(DiscountCodeTaken):
        adapter_for(shop.platform).discount_code_create(shop=shop, spec=spec)
    assert len([code for code in store.discount_codes if code.code.upper() == "COMEBACK-AB12"]) == 1

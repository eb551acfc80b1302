"""Reward and flow discount codes as real WooCommerce coupons (``POST /coupons``).

``DiscountSpec`` -> coupon:

- fixed amount -> ``fixed_cart``; percentage -> ``percent``; free shipping -> ``free_shipping``
  with a zero ``fixed_cart`` amount; a free product -> ``percent`` 100 on that product, limited to
  one item (``limit_usage_to_x_items`` 1);
- ``usage_limit`` as given (1 for a reward) and once per shopper (``usage_limit_per_user`` 1);
- the customers named by the spec -> ``email_restrictions`` (their emails from the mirror:
  WooCommerce checks the billing email at checkout);
- ``ends_at`` -> ``date_expires_gmt``; ``minimum_subtotal`` -> ``minimum_amount``; products and
  variations -> ``product_ids`` (WooCommerce takes both), collections -> ``product_categories``.
  WooCommerce coupons have no start date: ``starts_at`` is not sent.

A code that exists already (WooCommerce: ``woocommerce_rest_coupon_code_already_exists``) raises
``DiscountCodeTaken`` as on Shopify; a store that is away raises ``PlatformUnavailable``.
"""

import logging
from datetime import UTC
from typing import Any

from commerce.models import Customer, Shop
from integrations.platforms import DiscountCode, DiscountCodeTaken, DiscountKind, DiscountSpec
from integrations.woocommerce import sync
from integrations.woocommerce.client import WooClient, WooError
from integrations.woocommerce.normalise import woo_id

logger = logging.getLogger(__name__)

CODE_TAKEN = "woocommerce_rest_coupon_code_already_exists"


def _ids(values: tuple[str, ...]) -> list[int]:
    return [int(woo_id(value)) for value in values if woo_id(value)]


def coupon_payload(*, spec: DiscountSpec, emails: list[str]) -> dict[str, Any]:
    """The ``POST /coupons`` body for a spec (see the module docstring)."""
    payload: dict[str, Any] = {
        "code": spec.code,
        "description": spec.title[:200],
        "individual_use": True,
        "usage_limit": spec.usage_limit,
        "usage_limit_per_user": 1,
    }
    if spec.kind == DiscountKind.PERCENTAGE:
        payload.update(discount_type="percent", amount=str(spec.value))
    elif spec.kind == DiscountKind.FREE_SHIPPING:
        payload.update(discount_type="fixed_cart", amount="0", free_shipping=True)
    elif spec.kind == DiscountKind.FREE_PRODUCT:
        payload.update(discount_type="percent", amount="100", limit_usage_to_x_items=1)
    elif spec.kind == DiscountKind.FIXED_AMOUNT:
        payload.update(discount_type="fixed_cart", amount=str(spec.value))
    else:
        raise ValueError(f"unknown discount kind {spec.kind!r}")
    products = _ids(spec.product_platform_ids) + _ids(spec.product_variant_platform_ids)
    if products:
        payload["product_ids"] = products
    if spec.collection_platform_ids:
        payload["product_categories"] = _ids(spec.collection_platform_ids)
    if spec.minimum_subtotal is not None:
        payload["minimum_amount"] = str(spec.minimum_subtotal)
    if spec.ends_at is not None:
        payload["date_expires_gmt"] = spec.ends_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if emails:
        payload["email_restrictions"] = emails
    return payload


def _emails(*, shop: Shop, customer_platform_ids: tuple[str, ...]) -> list[str]:
    if not customer_platform_ids:
        return []
    emails = sorted({email for email in Customer.objects.filter(
        shop=shop, platform_id__in=list(customer_platform_ids)).exclude(email="").values_list("email", flat=True)})
    if not emails:
        logger.warning("%s: no email known for customers %s: the code is single-use but not restricted",
                       shop.domain, ", ".join(customer_platform_ids))
    return emails


def discount_code_create(*, shop: Shop, spec: DiscountSpec, client: WooClient | None = None) -> DiscountCode:
    """Create the coupon in the store; ``DiscountCodeTaken`` if the code exists."""
    client = client or sync.client_for(shop, interactive=True)
    payload = coupon_payload(spec=spec, emails=_emails(shop=shop, customer_platform_ids=spec.customer_platform_ids))
    try:
        created = client.post("coupons", payload)
    except WooError as error:
        if error.code == CODE_TAKEN:
            raise DiscountCodeTaken(spec.code) from error
        raise
    if not isinstance(created, dict) or not woo_id(created.get("id")):
        raise WooError(f"coupon {spec.code}: no id in the answer")
    return DiscountCode(code=spec.code, platform_id=woo_id(created["id"]))

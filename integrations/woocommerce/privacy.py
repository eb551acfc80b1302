"""WordPress's privacy tools for a WooCommerce shop, and the platform app's own privacy part.

WordPress exports and erases personal data by email address (Tools → Export/Erase Personal
Data); the plugin forwards each request, signed, to ``/woocommerce/privacy/export|erase``.  Both
go through the same registry as Shopify's ``customers/data_request`` and ``customers/redact``
(``commerce.privacy``): every app's rules apply, for the store's customer with that email and
for guest orders placed with it.
"""

import uuid
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from commerce import services as commerce
from commerce.models import Customer, Order, Shop
from commerce.privacy import DataSubject, PrivacyParticipant
from integrations.services import data_export_create
from integrations.woocommerce.models import WooConnection, WooWebhook
from retention_app.errors import ApplicationError


def email_clean(value: Any) -> str:
    email = value.strip().lower() if isinstance(value, str) else ""
    if not email or len(email) > 320 or "@" not in email or not email.isprintable() or " " in email:
        raise ApplicationError(_("Enter the email address of the person whose data this is."), status=400,
                               code="invalid_email", extra={"field": "email"})
    return email


def _platform_ids(*, shop: Shop, email: str) -> list[str]:
    """The store's customers known by that email (normally one; none for a guest)."""
    return sorted(set(Customer.objects.filter(shop=shop, email__iexact=email).values_list("platform_id", flat=True)))


def _guest_orders(*, shop: Shop, email: str) -> list[str]:
    return list(Order.objects.filter(shop=shop, customer__isnull=True)
                .filter(Q(email__iexact=email)).values_list("platform_id", flat=True))


def privacy_export(*, shop: Shop, email: str) -> dict[str, Any]:
    """Everything we hold about the person with that email, as the registry exports it (kept as
    a data export the merchant can also download from the dashboard)."""
    email = email_clean(email)
    platform_ids = _platform_ids(shop=shop, email=email) or [""]
    guest_orders = _guest_orders(shop=shop, email=email)
    request_id = f"wordpress-{uuid.uuid4().hex[:16]}"
    exports = [
        data_export_create(shop=shop, request_id=request_id, customer_platform_id=platform_id,
                           order_platform_ids=guest_orders, emails=[email]).data
        for platform_id in platform_ids
    ]
    return {"email": email, "request_id": request_id, "exports": exports}


def privacy_erase(*, shop: Shop, email: str) -> dict[str, Any]:
    """Erase the person's personal data in every app (orders and their amounts stay, blanked)."""
    email = email_clean(email)
    guest_orders = _guest_orders(shop=shop, email=email)
    redacted = 0
    for platform_id in _platform_ids(shop=shop, email=email) or [""]:
        redacted += commerce.customer_redact(shop=shop, platform_id=platform_id, order_platform_ids=guest_orders,
                                             emails=[email])
    return {"erased": True, "customers": redacted, "orders": len(guest_orders)}


# --- the platform app's own tables ------------------------------------------------------------

def erase_customer(*, subject: DataSubject) -> None:
    """Nothing about shoppers here: credentials and webhook subscriptions only."""


def erase_shop(*, shop: Shop) -> None:
    WooWebhook.objects.filter(shop=shop).delete()
    WooConnection.objects.filter(shop=shop).delete()


WOOCOMMERCE = PrivacyParticipant(
    name="woocommerce_platform",
    erase_customer=erase_customer,
    erase_shop=erase_shop,
    not_personal={
        "woocommerce_platform.WooConnection.consumer_key": "the store's REST API key (encrypted), not a shopper's",
        "woocommerce_platform.WooConnection.consumer_secret": "the store's REST API secret (encrypted)",
        "woocommerce_platform.WooConnection.plugin_secret": "the secret the store's plugin signs with (encrypted)",
        "woocommerce_platform.WooWebhook.secret": "a webhook's signing secret (encrypted)",
    },
)

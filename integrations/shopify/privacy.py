"""The mandatory privacy topics: customers/data_request, customers/redact, shop/redact.

Each hands the request to the privacy registry (``commerce.privacy``), which every app joins:
the rules for what is erased or exported live in each app's ``privacy.py``."""

from commerce import services as commerce
from commerce.models import Shop
from integrations.models import WebhookDelivery
from integrations.services import data_export_create
from integrations.shopify.normalise import PayloadError, legacy_id


def _customer_id(payload: dict) -> str:
    customer_id = legacy_id((payload.get("customer") or {}).get("id"))
    if not customer_id:
        raise PayloadError("customer.id is required")
    return customer_id


def _contacts(payload: dict, key: str) -> list[str]:
    """The customer's email or phone as the request names it (a guest's data is keyed by it)."""
    value = (payload.get("customer") or {}).get(key)
    return [value] if isinstance(value, str) and value.strip() else []


def customer_data_request(shop: Shop, payload: dict, delivery: WebhookDelivery) -> str:
    """Produce the customer's data as a JSON export the merchant can fetch."""
    customer_id = _customer_id(payload)
    orders = [legacy_id(o) for o in payload.get("orders_requested") or ()]
    request_id = str((payload.get("data_request") or {}).get("id") or delivery.delivery_id)
    export = data_export_create(shop=shop, request_id=request_id, customer_platform_id=customer_id,
                                order_platform_ids=orders, emails=_contacts(payload, "email"))
    return f"data export {export.pk} for customer {customer_id}"


def customer_redact_request(shop: Shop, payload: dict, delivery: WebhookDelivery) -> str:
    customer_id = _customer_id(payload)
    orders = [legacy_id(o) for o in payload.get("orders_to_redact") or ()]
    commerce.customer_redact(shop=shop, platform_id=customer_id, order_platform_ids=orders,
                             emails=_contacts(payload, "email"), phones=_contacts(payload, "phone"))
    return f"customer {customer_id} redacted"


def shop_redact_request(shop: Shop, payload: dict, delivery: WebhookDelivery) -> str:
    """Delete the shop's data -- unless it was reinstalled meanwhile (Shopify then does not
    send shop/redact, but a late or replayed one must not wipe a live shop)."""
    if shop.is_installed:
        return "shop is installed again: not redacted"
    commerce.shop_erase(shop=shop)
    return "shop redacted"

"""A shopper's marketing consent written back to the store.

WooCommerce has no marketing-consent field, so ours is kept in the customer's ``meta_data``:
``_comeback_email_consent`` / ``_comeback_sms_consent`` = ``{"state": "subscribed" |
"unsubscribed", "updated_at": "<UTC ISO time>"}``.  ``normalise.customer_from_rest`` reads the
same meta back, so the echo of our own write (the ``customer.updated`` webhook) carries our date
and changes nothing, and another plugin writing the same meta is taken like a store-side change.
"""

from datetime import UTC

from commerce.models import Shop
from integrations.platforms import ConsentUpdate
from integrations.woocommerce import sync
from integrations.woocommerce.client import WooClient
from integrations.woocommerce.normalise import CONSENT_META_KEYS, woo_id


def consent_meta(update: ConsentUpdate) -> dict[str, object]:
    return {
        "key": CONSENT_META_KEYS["sms" if update.channel == "sms" else "email"],
        "value": {"state": "subscribed" if update.subscribed else "unsubscribed",
                  "updated_at": update.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def customer_consent_update(*, shop: Shop, update: ConsentUpdate, client: WooClient | None = None) -> None:
    """``PUT /customers/<id>`` with the consent meta (replacing the previous value of that key).
    ``PlatformUnavailable`` when worth retrying; ``WooError`` (e.g. a deleted customer) when not."""
    customer_id = woo_id(update.customer_platform_id)
    if not customer_id:
        raise ValueError("a guest has no customer record in WooCommerce")
    client = client or sync.client_for(shop, interactive=True)
    client.put(f"customers/{customer_id}", {"meta_data": [consent_meta(update)]})

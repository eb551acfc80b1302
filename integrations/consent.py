"""Consent changes written back to the store: an unsubscribe or STOP taken by Comeback is set in
the platform too (dated when it happened), so the store and its other apps stop marketing as well."""

from commerce.consent import consent_change_pending, consent_change_synced
from commerce.models import MarketingChannel, MarketingConsent
from integrations.platforms import ConsentUpdate, adapter_for

PUSHED_STATES = {MarketingConsent.SUBSCRIBED: True, MarketingConsent.UNSUBSCRIBED: False}


def consent_write_back(*, change_id: int) -> str:
    """Idempotent: a change already written, the platform's own, or no longer the newest is left
    alone.  ``PlatformUnavailable`` propagates (the task retries); other errors are the store
    refusing the data (no email or phone there): not retried."""
    change = consent_change_pending(change_id=change_id)
    if change is None:
        return "nothing to write"
    customer = change.customer
    shop = customer.shop
    address = customer.email if change.channel == MarketingChannel.EMAIL else customer.phone
    if change.state not in PUSHED_STATES or not customer.platform_id or not address or not shop.is_installed:
        return "not for the store"
    adapter_for(shop.platform).customer_consent_update(shop=shop, update=ConsentUpdate(
        customer_platform_id=customer.platform_id, channel=change.channel,
        subscribed=PUSHED_STATES[MarketingConsent(change.state)], at=change.at))
    consent_change_synced(change=change)
    return "written"

"""Row locks of the integrations.  Lock order: the shop row first, then anything else.

A shop's row is locked while its platform credentials change (token refresh, token exchange), so
two workers never spend the same refresh token: the second waits, then re-reads the fresh token;
and while its details are applied from a ``shop/update`` delivery, so deliveries apply in order.
"""

from commerce.models import Shop


def shop_lock(*, shop_id: int) -> Shop:
    """Lock one shop row for the rest of the transaction and return it as stored now."""
    return Shop.objects.select_for_update().get(pk=shop_id)

"""Platform-neutral integration workflows: they speak to a store only through its adapter."""

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction

from commerce import services as commerce
from commerce.models import Shop
from integrations.lock_objects import shop_lock
from integrations.models import SyncCursor, SyncRun
from integrations.platforms import adapter_for

#: ``SyncCursor.resource`` holding the ``updated_at`` of the newest shop details applied
SHOP_DETAILS_CURSOR = "shop"


def shop_after_install(*, shop: Shop) -> SyncRun:
    """Fill in the shop's details, subscribe the webhooks, and create the history sync."""
    adapter = adapter_for(shop.platform)
    commerce.shop_details_update(shop=shop, details=adapter.shop_details(shop=shop))
    adapter.webhooks_register(shop=shop)
    return adapter.history_sync_start(shop=shop)


def _details_valid(details: dict[str, str]) -> dict[str, str]:
    """Only values the shop's columns can hold: an ISO currency, an IANA zone, a short locale."""
    kept = {name: value.strip() for name, value in details.items() if value and value.strip()}
    if "currency" in kept and not (len(kept["currency"]) == 3 and kept["currency"].isalpha()):
        kept.pop("currency")
    if "currency" in kept:
        kept["currency"] = kept["currency"].upper()
    if "timezone" in kept:
        try:
            ZoneInfo(kept["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            kept.pop("timezone")
    if len(kept.get("locale", "")) > 16:
        kept.pop("locale")
    if "storefront_url" in kept and not _is_web_origin(kept["storefront_url"]):
        kept.pop("storefront_url")
    return {name: value[:255] for name, value in kept.items()}


def _is_web_origin(url: str) -> bool:
    """``https://host[:port]`` with a plausible host name and nothing after it."""
    try:
        parts = urlsplit(url)
        hostname, _ = parts.hostname, parts.port
    except ValueError:
        return False
    return (parts.scheme in ("https", "http") and bool(hostname) and not parts.path.strip("/")
            and not parts.query and not parts.fragment and len(url) <= 255
            and all(label and len(label) <= 63 for label in (hostname or "").split(".")))


@transaction.atomic
def shop_details_changed(*, shop: Shop, details: dict[str, str], updated_at: datetime | None) -> list[str]:
    """The platform says the shop's details changed (name, currency, time zone, locale...): keep
    them current.  Deliveries can arrive late and out of order: one older than the newest applied
    (``updated_at``) changes nothing.  Returns the names of the fields that changed."""
    locked = shop_lock(shop_id=shop.pk)
    if updated_at is not None:
        cursor = SyncCursor.objects.filter(shop=locked, resource=SHOP_DETAILS_CURSOR).first()
        if cursor is not None and updated_at < cursor.updated_at_mark:
            return []
        SyncCursor.objects.update_or_create(shop=locked, resource=SHOP_DETAILS_CURSOR,
                                            defaults={"updated_at_mark": updated_at})
    changed = {name: value for name, value in _details_valid(details).items() if getattr(locked, name) != value}
    commerce.shop_details_update(shop=locked, details=changed)
    for name, value in changed.items():
        setattr(shop, name, value)
    return sorted(changed)

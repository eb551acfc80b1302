"""Platform-neutral integration workflows: they speak to a store only through its adapter."""

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce import selectors as commerce_selectors
from commerce import services as commerce
from commerce.models import Customer, Platform, Shop
from integrations.lock_objects import shop_lock
from integrations.models import DataRequestExport, SyncCursor, SyncKind, SyncRun, SyncStatus
from integrations.platforms import adapter_for
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)

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


#: A reconciliation running for less than this is left to finish instead of starting another.
RECONCILE_RUNNING_FOR = timedelta(minutes=15)


def reconcile_request(*, shop: Shop) -> str:
    """"Reconcile now" (the merchant's button): the reconciliation task is queued after the commit,
    unless one is running already ("running").  A store that is not connected, or whose history is
    still being imported (the task would skip it), is refused with 409."""
    if shop.platform == Platform.STANDALONE or not shop.is_installed:
        raise ApplicationError(_("This store is not connected to a platform: there is nothing to reconcile."),
                               status=409, code="not_connected")
    if SyncRun.objects.filter(shop=shop, kind=SyncKind.HISTORY).exclude(status=SyncStatus.COMPLETED).exists():
        raise ApplicationError(_("The store's history is still being imported; the reconciliation follows it."),
                               status=409, code="history_importing")
    if SyncRun.objects.filter(shop=shop, kind=SyncKind.RECONCILE, status=SyncStatus.RUNNING,
                              started_at__gte=timezone.now() - RECONCILE_RUNNING_FOR).exists():
        return "running"

    def enqueue() -> None:
        from integrations.tasks import reconcile_shop

        try:
            reconcile_shop.delay(shop.pk)
        except Exception as error:  # the broker is away: the periodic reconciliation still comes
            logger.warning("%s: reconciliation not queued (%s)", shop.domain, error)

    transaction.on_commit(enqueue)
    return "queued"


def data_export_create(*, shop: Shop, request_id: str, customer_platform_id: str,
                       order_platform_ids: Sequence[str] = (), emails: Sequence[str] = ()) -> DataRequestExport:
    """Everything we hold about one customer, stored as a JSON export for the merchant to download
    (a platform's data request, or the merchant's own); the same request again refreshes it."""
    export, _created = DataRequestExport.objects.update_or_create(
        shop=shop, request_id=request_id, customer_platform_id=customer_platform_id,
        defaults={"data": commerce_selectors.customer_data_export(
            shop=shop, platform_id=customer_platform_id, order_platform_ids=list(order_platform_ids),
            emails=emails)})
    return export


def data_export_request(*, shop: Shop, customer: str) -> DataRequestExport:
    """The merchant asks for a customer's data (a shopper wrote to them): ``customer`` is the
    customer's id in the store or their email.  404 when the shop has no such customer."""
    text = customer.strip()
    if not text or len(text) > 320 or any(ord(char) < 32 for char in text):
        raise ApplicationError(_("Enter the customer's email or their id in the store."), status=400,
                               code="invalid_customer", extra={"field": "customer"})
    found = (Customer.objects.filter(shop=shop, is_deleted=False)
             .filter(Q(platform_id=text) | Q(email__iexact=text)).order_by("pk").first())
    if found is None:
        raise ApplicationError(_("No customer of this store has that email or id."), status=404,
                               code="customer_not_found", extra={"field": "customer"})
    return data_export_create(shop=shop, request_id=f"merchant-{uuid.uuid4().hex[:16]}",
                              customer_platform_id=found.platform_id,
                              emails=[found.email] if found.email else [])

"""WooCommerce history sync, reconciliation and shop details, over the REST API.

History: customers, then products, then orders, page by page (100 a page, oldest id first so
pages stay put while new objects arrive at the end), each page upserted in one transaction
through the same ``commerce`` services as webhooks.  The run records the last page done
(``SyncRun.lines_done`` counts pages here) with the page count WooCommerce announced
(``X-WP-TotalPages``), so a crashed sync resumes at the next page and the progress reads
"page 12 of 40".

Reconciliation: WooCommerce never retries a webhook and disables one after repeated failures, so
orders, products and customers changed since the last high-water mark are fetched again with
``modified_after`` (a little before the mark) and upserted as live data.  The customers endpoint
ignores ``modified_after`` on older stores: the rows it returns anyway are filtered here by
``date_modified_gmt``.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from commerce import geo
from commerce import services as commerce
from commerce.models import Refund, Shop
from integrations import sync_runs
from integrations.models import SyncCursor, SyncKind, SyncRun, SyncStatus
from integrations.woocommerce import normalise
from integrations.woocommerce.client import Page, WooClient, WooNotFound
from integrations.woocommerce.connection import credentials_for
from integrations.woocommerce.credentials import Credentials

logger = logging.getLogger(__name__)

RESOURCES = ("customers", "products", "orders")
# Oldest first: an object created during the sync lands on a later page instead of shifting the
# ones not read yet.  Customers: every WordPress role (the endpoint lists only "customer" by default).
LIST_PARAMS: dict[str, dict[str, str]] = {
    "customers": {"orderby": "id", "order": "asc", "role": "all"},
    "products": {"orderby": "id", "order": "asc", "status": "any"},
    "orders": {"orderby": "id", "order": "asc", "status": "any"},
}
# Requests in flight at once for a page's refunds (a modest load on a shared WordPress host).
FETCH_CONCURRENCY = 4
# Re-read a little before the mark: clocks and commit order are not perfectly monotonic.
RECONCILE_OVERLAP = timedelta(minutes=2)


def reauthorization_required(*, shop: Shop, reason: str) -> None:
    """The store refused our keys (revoked, or read-only): the merchant must reconnect."""
    logger.warning("shop %s needs reconnecting: %s", shop.domain, reason)
    if Shop.objects.filter(pk=shop.pk, reauthorization_required_at__isnull=True).update(
            reauthorization_required_at=timezone.now(), updated_at=timezone.now()):
        shop.refresh_from_db(fields=["reauthorization_required_at", "updated_at"])


def client_for(shop: Shop, *, interactive: bool = False) -> WooClient:
    """The REST client for a connected shop: its keys from the connection; a 401/403 marks the
    shop as needing to reconnect.  ``interactive`` when a person waits on the answer (few tries)."""
    credentials = credentials_for(shop=shop)

    def unauthorized(reason: str) -> None:
        reauthorization_required(shop=shop, reason=reason)

    if interactive:
        return WooClient(credentials, timeout=10, attempts=2, max_wait_seconds=5, on_unauthorized=unauthorized)
    return WooClient(credentials, on_unauthorized=unauthorized)


# --- fetching what a page needs besides itself ------------------------------------------------

def order_refunds_fetch(*, shop: Shop, client: WooClient, orders: list[dict[str, Any]]) -> dict[str, list[dict]]:
    """``/orders/<id>/refunds`` for the orders listing a refund we have not stored yet (refunds
    never change once made): order id -> refund payloads.  One query for the whole page."""
    listed = {normalise._required_id(o): normalise.refund_ids(o) for o in orders if isinstance(o, dict)}
    wanted = {pid for ids in listed.values() for pid in ids}
    if not wanted:
        return {}
    known = set(Refund.objects.filter(shop=shop, platform_id__in=wanted).values_list("platform_id", flat=True))
    missing = [order_id for order_id, ids in listed.items() if set(ids) - known]

    def refunds_of(order_id: str) -> list[dict]:
        try:
            return [r for page in client.pages(f"orders/{order_id}/refunds") for r in page.items]
        except WooNotFound:
            return []

    if len(missing) <= 1:
        return {order_id: refunds_of(order_id) for order_id in missing}
    # a few at a time: most of a history page's time is these round trips
    with ThreadPoolExecutor(max_workers=FETCH_CONCURRENCY) as pool:
        return dict(zip(missing, pool.map(refunds_of, missing), strict=True))


def product_variations_fetch(*, client: WooClient, product_id: str) -> list[dict[str, Any]]:
    try:
        return [v for page in client.pages(f"products/{product_id}/variations") for v in page.items]
    except WooNotFound:
        return []


def products_records(*, client: WooClient, products: list[dict[str, Any]]) -> list[Any]:
    """Product records; a variable product's variants come from its variations endpoint."""
    records = []
    for payload in products:
        if isinstance(payload, dict) and payload.get("type") == "variable" and payload.get("variations"):
            variations = product_variations_fetch(client=client, product_id=normalise._required_id(payload))
            records.append(normalise.product_from_rest(payload, variations=variations))
        else:
            records.append(normalise.product_from_rest(payload))
    return records


def page_records(*, shop: Shop, client: WooClient, resource: str, items: list[dict[str, Any]]) -> list[Any]:
    """A page's records, with what they need fetched first (variations, new refunds): no HTTP
    call happens inside the upsert's transaction."""
    if resource == "customers":
        return [normalise.customer_from_rest(c) for c in items]
    if resource == "products":
        return products_records(client=client, products=items)
    refunds = order_refunds_fetch(shop=shop, client=client, orders=items)
    return [normalise.order_from_rest(o, refunds=refunds.get(normalise._required_id(o))) for o in items]


NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "customers": normalise.customer_from_rest,
    "products": normalise.product_from_rest,
    "orders": normalise.order_from_rest,
}


def usable(*, resource: str, items: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The page's objects that can be understood, and a note for each one that cannot: one
    malformed object (a plugin's odd order) is logged and skipped, not a sync stuck forever."""
    kept, skipped = [], []
    for item in items:
        try:
            NORMALISERS[resource](item)
        except normalise.PayloadError as error:
            identity = item.get("id") if isinstance(item, dict) else None
            skipped.append(f"{resource} {identity}: {error}")
            logger.warning("woocommerce sync skips %s %s: %s", resource, identity, error)
        else:
            kept.append(item)
    return kept, skipped


def records_upsert(*, shop: Shop, resource: str, records: list[Any], live: bool,
                   refresh_first_orders: bool = True) -> commerce.UpsertResult:
    """One page through the commerce services (the webhooks' path): one set-based upsert."""
    if resource == "customers":
        return commerce.customers_upsert(shop=shop, records=records, live=live)
    if resource == "products":
        return commerce.products_upsert(shop=shop, records=records)
    return commerce.orders_upsert(shop=shop, records=records, live=live, refresh_first_orders=refresh_first_orders)


# --- history ---------------------------------------------------------------------------------


def history_sync_start(*, shop: Shop) -> SyncRun:
    """Create the run (or return the one in progress: one history sync per shop at a time)."""
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        running = SyncRun.objects.filter(
            shop=shop, kind=SyncKind.HISTORY, status__in=[SyncStatus.PENDING, SyncStatus.RUNNING]
        ).first()
        if running:
            return running
        return SyncRun.objects.create(
            shop=shop, kind=SyncKind.HISTORY, status=SyncStatus.PENDING, resource=RESOURCES[0],
            progress={r: {"objects": 0, "pages": 0, "total_pages": None, "total": None, "done": False}
                      for r in RESOURCES},
        )


def _page_done(run: SyncRun, resource: str, page: Page, skipped: list[str]) -> None:
    progress = dict(run.progress)
    entry = dict(progress.get(resource) or {})
    entry["objects"] = int(entry.get("objects") or 0) + len(page.items) - len(skipped)
    if skipped:
        entry["skipped"] = int(entry.get("skipped") or 0) + len(skipped)
        entry["skipped_examples"] = (list(entry.get("skipped_examples") or []) + skipped)[:10]
    entry["pages"] = page.page
    entry["total_pages"] = page.total_pages
    entry["total"] = page.total
    progress[resource] = entry
    sync_runs.run_save(run, lines_done=page.page, progress=progress)


def history_sync_run(
    *, run: SyncRun, client: WooClient | None = None, after_page: Callable[[SyncRun], None] | None = None
) -> SyncRun:
    """Run (or resume, from the page after the last one done) a history sync to the end."""
    if run.status == SyncStatus.COMPLETED:
        return run
    shop = run.shop
    client = client or client_for(shop)
    resumes = run.resumes + (0 if run.status == SyncStatus.PENDING else 1)
    sync_runs.run_save(run, status=SyncStatus.RUNNING, error="", resumes=resumes)
    try:
        start = RESOURCES.index(run.resource or RESOURCES[0])
        for resource in RESOURCES[start:]:
            if run.resource != resource:
                sync_runs.run_save(run, resource=resource, lines_done=0)
            if not (run.progress.get(resource) or {}).get("started_at"):
                progress = dict(run.progress)
                progress[resource] = {**(progress.get(resource) or {}), "started_at": timezone.now().isoformat()}
                sync_runs.run_save(run, progress=progress)
            for page in client.pages(resource, params=LIST_PARAMS[resource], start=run.lines_done + 1):
                items, skipped = usable(resource=resource, items=page.items)
                records = page_records(shop=shop, client=client, resource=resource, items=items)
                with transaction.atomic():
                    records_upsert(shop=shop, resource=resource, records=records, live=False,
                                   refresh_first_orders=False)
                    _page_done(run, resource, page, skipped)
                if after_page is not None:
                    after_page(run)
            if resource == "orders":
                commerce.customers_first_order_refresh_all(shop=shop)
            progress = dict(run.progress)
            progress[resource] = {**(progress.get(resource) or {}), "done": True}
            sync_runs.run_save(run, progress=progress)
            sync_runs.mark_advance(shop=shop, resource=resource, mark=_started(run, resource))
    except Exception as error:
        sync_runs.run_save(run, status=SyncStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
        raise
    sync_runs.run_save(run, status=SyncStatus.COMPLETED, finished_at=timezone.now())
    sync_runs.statistics_refresh()
    commerce.history_synced(shop=shop, sync_id=run.pk)
    return run


def _started(run: SyncRun, resource: str) -> datetime:
    raw = (run.progress.get(resource) or {}).get("started_at")
    return (normalise.gmt(raw) if raw else None) or run.started_at


# --- reconciliation --------------------------------------------------------------------------

def _modified(payload: dict[str, Any]) -> datetime | None:
    return normalise._time(payload, "date_modified") or normalise._time(payload, "date_created")


# What reconciliation reads: (resource, extra filter).  The bin is read too: ``status=any`` leaves
# trashed orders out, and a trashed order must stop counting even when its webhook was lost.
RECONCILE_PASSES: tuple[tuple[str, dict[str, str]], ...] = (
    ("orders", {}),
    ("orders", {"status": "trash"}),
    ("products", {}),
    ("customers", {}),
)


def reconcile(*, shop: Shop, client: WooClient | None = None) -> dict[str, int]:
    """Fetch everything modified since the last mark and upsert it as live data; returns how many
    objects of each resource were read."""
    client = client or client_for(shop)
    run = SyncRun.objects.create(shop=shop, kind=SyncKind.RECONCILE, status=SyncStatus.RUNNING)
    counts: dict[str, int] = {}
    marks: dict[str, datetime] = {}
    try:
        for resource, extra in RECONCILE_PASSES:
            cursor = SyncCursor.objects.filter(shop=shop, resource=resource).first()
            since = cursor.updated_at_mark - RECONCILE_OVERLAP if cursor else None
            params = {**LIST_PARAMS[resource], **extra}
            if since is not None:
                params.update(modified_after=since.strftime("%Y-%m-%dT%H:%M:%S"), dates_are_gmt="true")
            counts.setdefault(resource, 0)
            for page in client.pages(resource, params=params):
                items, _skipped = usable(resource=resource, items=page.items)
                items = [item for item in items if since is None or (_modified(item) or since) >= since]
                if not items:
                    continue
                records = page_records(shop=shop, client=client, resource=resource, items=items)
                records_upsert(shop=shop, resource=resource, records=records, live=True)
                counts[resource] += len(items)
                for item in items:
                    stamp = _modified(item)
                    if stamp and (resource not in marks or stamp > marks[resource]):
                        marks[resource] = stamp
        for resource, mark in marks.items():  # once every pass of the resource is read
            sync_runs.mark_advance(shop=shop, resource=resource, mark=mark)
    except Exception as error:
        sync_runs.run_save(run, status=SyncStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
        raise
    sync_runs.run_save(run, status=SyncStatus.COMPLETED, finished_at=timezone.now(), progress=counts)
    return counts


# --- shop details ----------------------------------------------------------------------------

def _settings_values(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {str(item.get("id")): item.get("value") for item in items if isinstance(item, dict)}


def shop_details(*, credentials: Credentials, client: WooClient | None = None) -> dict[str, str]:
    """Name, currency, time zone and locale of the store.

    Currency and the store's country come from ``/settings/general``; the name and time zone from
    the site's index (``/wp-json/``: the site title, WordPress's ``timezone_string``), else
    ``/system_status``; the locale (WordPress's ``en_US`` -> ``en-US``) from ``/system_status``;
    failing those the time zone is the one of the store's country and state, and the name the
    store's host."""
    client = client or WooClient(credentials, timeout=10, attempts=2)
    general = _settings_values(client.get("settings/general"))
    try:
        status = client.get("system_status")
    except WooNotFound:
        status = {}
    environment = status.get("environment") if isinstance(status, dict) else None
    environment = environment if isinstance(environment, dict) else {}
    store_settings = status.get("settings") if isinstance(status, dict) else None
    store_settings = store_settings if isinstance(store_settings, dict) else {}
    country, _, state = str(general.get("woocommerce_default_country") or "").partition(":")
    site = client.site()
    zone = str(site.get("timezone_string") or environment.get("timezone_string") or environment.get("timezone")
               or store_settings.get("timezone_string") or "")
    if not zone or zone.startswith(("UTC+", "UTC-")):  # a bare offset: the country's zone is better
        zone = geo.timezone_for(country_code=country.upper(), province_code=state.upper()) or "UTC"
    language = str(environment.get("language") or environment.get("locale") or "")
    host = urlsplit(credentials.store_url).hostname or ""
    return {
        "name": str(site.get("name") or environment.get("site_title") or store_settings.get("blogname") or host)[:255],
        "currency": str(general.get("woocommerce_currency") or store_settings.get("currency") or "").upper(),
        "timezone": zone,
        "locale": language.replace("_", "-")[:16],
        "storefront_url": credentials.store_url.rstrip("/"),
    }

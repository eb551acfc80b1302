"""History sync through bulk operations, and the periodic reconciliation.

History: for customers, products, then orders, run a bulk operation, wait for it, stream the
JSONL result line by line (never the whole file in memory), attach child lines (``__parentId``)
to their parent and upsert in batches.  After each committed batch the run records how many
lines are done, so a crashed sync resumes from there with the same file.

Reconciliation: Shopify does not guarantee webhook delivery, so every resource is also fetched
by ``updated_at`` since the last high-water mark and upserted like a webhook would be.
"""

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commerce import bulk_sql
from commerce import services as commerce
from commerce.models import Customer, Order, OrderLine, Refund, RefundLine, Shop
from integrations import sync_runs
from integrations.models import SyncCursor, SyncKind, SyncRun, SyncStatus
from integrations.shopify import normalise, queries
from integrations.shopify.client import ShopifyClient, ShopifyError
from integrations.shopify.tokens import ShopCredentials

logger = logging.getLogger(__name__)

RESOURCES = ("customers", "products", "orders")
BULK_QUERIES = {
    "customers": queries.BULK_CUSTOMERS,
    "products": queries.BULK_PRODUCTS,
    "orders": queries.BULK_ORDERS,
}
# What a bulk load of orders fills: their planner statistics are refreshed as they grow.
STATISTICS_MODELS = (Customer, Order, OrderLine, Refund, RefundLine)
# Child connections inside each bulk query: the JSONL gives their nodes their own lines.
CHILD_CONNECTIONS = {"ProductVariant": "variants", "LineItem": "lineItems"}


def client_for(shop: Shop, *, interactive: bool = False) -> ShopifyClient:
    """The Admin API client for the shop, for every caller (sync, reconciliation, discount codes,
    bulk...): its token comes from ``tokens.ShopCredentials``, refreshed before it expires and once
    on a 401.  ``interactive`` when a person waits on the answer (few retries)."""
    if not shop.is_installed:
        raise ShopifyError(f"{shop.domain} is not installed")
    credentials = ShopCredentials(shop)
    if interactive:
        return ShopifyClient(domain=shop.domain, credentials=credentials, timeout=10, attempts=2)
    return ShopifyClient(domain=shop.domain, credentials=credentials)


# --- bulk operations -------------------------------------------------------------------------

def bulk_start(*, client: ShopifyClient, query: str) -> str:
    data = client.execute(queries.BULK_RUN_MUTATION, {"query": query})
    result = data["bulkOperationRunQuery"]
    if result["userErrors"]:
        raise ShopifyError("; ".join(e["message"] for e in result["userErrors"]))
    return str(result["bulkOperation"]["id"])


def bulk_wait(*, client: ShopifyClient, operation_id: str) -> dict[str, Any]:
    """Poll until the operation finishes; return it (``url`` is None for an empty result)."""
    deadline = time.monotonic() + settings.SHOPIFY_BULK_TIMEOUT_SECONDS
    delay = settings.SHOPIFY_BULK_POLL_SECONDS
    while True:
        operation = client.execute(queries.BULK_STATUS_QUERY, {"id": operation_id})["node"]
        status = operation["status"]
        if status == "COMPLETED":
            return operation
        if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
            raise ShopifyError(f"bulk operation {operation_id} {status}: {operation.get('errorCode')}")
        if time.monotonic() > deadline:
            raise ShopifyError(f"bulk operation {operation_id} did not finish in time")
        time.sleep(delay)
        delay = min(delay * 1.5, 10)


def jsonl_lines(url: str, *, skip: int = 0) -> Iterator[tuple[int, dict]]:
    """Stream (line number, object) from a bulk result file, skipping the first ``skip`` lines."""
    with requests.get(url, stream=True, timeout=settings.SHOPIFY_HTTP_TIMEOUT) as response:
        response.raise_for_status()
        for number, raw in enumerate(response.iter_lines(chunk_size=64 * 1024)):
            if number < skip or not raw:
                continue
            yield number, json.loads(raw)


def _gid_type(gid: str) -> str:
    return gid.split("/")[3] if gid.startswith("gid://") else ""


def parents_with_children(lines: Iterator[tuple[int, dict]]) -> Iterator[tuple[int, dict]]:
    """Group JSONL lines into parents carrying their children, in file order.

    Shopify writes a parent before its children, so a parent is complete when the next parent
    line arrives.  Yields (number of the parent's first line, parent with children attached).
    Children whose parent was not in the file (cannot happen with Shopify; defensive) are dropped.
    """
    current: dict | None = None
    current_line = 0
    for number, obj in lines:
        parent_id = obj.pop("__parentId", None)
        if parent_id is None:
            if current is not None:
                yield current_line, current
            current, current_line = obj, number
            continue
        if current is None or current.get("id") != parent_id:
            logger.warning("bulk child line %s has no parent in order; dropped", number)
            continue
        field = CHILD_CONNECTIONS.get(_gid_type(str(obj.get("id", ""))), "children")
        current.setdefault(field, {"nodes": []})["nodes"].append(obj)
    if current is not None:
        yield current_line, current


def _upsert_nodes(
    *, shop: Shop, resource: str, nodes: list[dict], live: bool, bulk: bool = False
) -> commerce.UpsertResult:
    if resource == "customers":
        return commerce.customers_upsert(
            shop=shop, records=[normalise.customer_from_graphql(n) for n in nodes], live=live
        )
    if resource == "products":
        return commerce.products_upsert(shop=shop, records=[normalise.product_from_graphql(n) for n in nodes])
    records = [normalise.order_from_graphql(n) for n in nodes]
    if bulk and bulk_sql.is_supported():
        result = commerce.UpsertResult()
        result.updated = bulk_sql.orders_history_load(shop=shop, records=records)
        return result
    return commerce.orders_upsert(shop=shop, records=records, live=live, refresh_first_orders=not bulk)


def ingest_file(
    *,
    run: SyncRun,
    url: str,
    batch_size: int | None = None,
    after_batch: Callable[[SyncRun], None] | None = None,
) -> int:
    """Upsert a bulk result file from ``run.lines_done`` on; return the number of objects."""
    batch_size = batch_size or settings.SYNC_BATCH_SIZE
    shop = run.shop
    objects = 0
    batch: list[dict] = []
    resource = run.resource
    last_line = run.lines_done - 1

    def numbered() -> Iterator[tuple[int, dict]]:
        nonlocal last_line
        for number, obj in jsonl_lines(url, skip=run.lines_done):
            last_line = number
            yield number, obj

    grouped = parents_with_children(numbered())

    statistics = bulk_sql.StatisticsKeeper(STATISTICS_MODELS) if bulk_sql.is_supported() else None

    def flush(next_line: int) -> None:
        nonlocal objects
        if batch:
            with transaction.atomic():
                _upsert_nodes(shop=shop, resource=resource, nodes=batch, live=False, bulk=True)
                if statistics is not None and resource == "orders":
                    statistics.loaded(len(batch))
                progress = dict(run.progress)
                entry = dict(progress.get(resource) or {})
                entry["objects"] = int(entry.get("objects", 0)) + len(batch)
                progress[resource] = entry
                sync_runs.run_save(run, lines_done=next_line, progress=progress)
            objects += len(batch)
            batch.clear()
            if after_batch is not None:
                after_batch(run)

    for first_line, parent in grouped:
        if len(batch) >= batch_size:
            flush(first_line)
        batch.append(parent)
    if batch:
        flush(last_line + 1)
    if resource == "orders":
        if bulk_sql.is_supported():
            with transaction.atomic():
                bulk_sql.statistics_refresh(STATISTICS_MODELS)
                bulk_sql.customers_first_order_refresh(shop=shop)
        else:
            commerce.customers_first_order_refresh_all(shop=shop)
    return objects


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
            shop=shop,
            kind=SyncKind.HISTORY,
            status=SyncStatus.PENDING,
            resource=RESOURCES[0],
            progress={r: {"objects": 0, "done": False} for r in RESOURCES},
        )


def history_sync_run(
    *, run: SyncRun, after_batch: Callable[[SyncRun], None] | None = None
) -> SyncRun:
    """Run (or resume) a history sync to the end."""
    if run.status == SyncStatus.COMPLETED:
        return run
    shop = run.shop
    client = client_for(shop)
    resumes = run.resumes + (0 if run.status == SyncStatus.PENDING else 1)
    sync_runs.run_save(run, status=SyncStatus.RUNNING, error="", resumes=resumes)
    try:
        start = RESOURCES.index(run.resource or RESOURCES[0])
        for resource in RESOURCES[start:]:
            if run.resource != resource:
                sync_runs.run_save(run, resource=resource, bulk_operation_id="", result_url="", lines_done=0)
            if not run.bulk_operation_id:
                operation_id = bulk_start(client=client, query=BULK_QUERIES[resource])
                sync_runs.run_save(run, bulk_operation_id=operation_id)
            if not run.result_url:
                operation = bulk_wait(client=client, operation_id=run.bulk_operation_id)
                sync_runs.run_save(run, result_url=operation.get("url") or "-")
                if run.progress.get(resource, {}).get("started_at") is None:
                    progress = dict(run.progress)
                    progress[resource] = {**progress.get(resource, {}),
                                          "started_at": operation.get("createdAt")}
                    sync_runs.run_save(run, progress=progress)
            if run.result_url != "-":
                ingest_file(run=run, url=run.result_url, after_batch=after_batch)
            progress = dict(run.progress)
            progress[resource] = {**progress.get(resource, {}), "done": True}
            sync_runs.run_save(run, progress=progress)
            sync_runs.mark_advance(shop=shop, resource=resource, mark=_started(run, resource))
    except Exception as error:
        sync_runs.run_save(run, status=SyncStatus.FAILED, error=f"{type(error).__name__}: {error}")
        raise
    sync_runs.run_save(run, status=SyncStatus.COMPLETED, finished_at=timezone.now())
    sync_runs.statistics_refresh()
    commerce.history_synced(shop=shop, sync_id=run.pk)
    return run


def _started(run: SyncRun, resource: str) -> datetime:
    raw = (run.progress.get(resource) or {}).get("started_at")
    parsed = normalise._datetime(raw) if raw else None
    return parsed or run.started_at


# --- reconciliation --------------------------------------------------------------------------

PAGE_QUERIES = {
    "customers": queries.CUSTOMERS_PAGE_QUERY,
    "products": queries.PRODUCTS_PAGE_QUERY,
    "orders": queries.ORDERS_PAGE_QUERY,
}
# Re-read a little before the mark: clocks and commit order are not perfectly monotonic.
RECONCILE_OVERLAP = timedelta(minutes=2)


def reconcile(*, shop: Shop, batch_size: int = 250) -> dict[str, int]:
    """Fetch everything changed since the last mark and upsert it as live data.

    First the webhook subscriptions are made whole again (one call when nothing is missing):
    Shopify removes a subscription after repeated delivery failures, and shops installed before a
    topic was added (``shop/update``) get it here."""
    client = client_for(shop)
    run = SyncRun.objects.create(shop=shop, kind=SyncKind.RECONCILE, status=SyncStatus.RUNNING)
    counts: dict[str, int] = {}
    try:
        webhooks_register(shop=shop, client=client)
        for resource in RESOURCES:
            cursor = SyncCursor.objects.filter(shop=shop, resource=resource).first()
            search = None
            if cursor is not None:
                since = (cursor.updated_at_mark - RECONCILE_OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ")
                search = f"updated_at:>='{since}'"
            newest: datetime | None = None
            batch: list[dict] = []
            counts[resource] = 0
            pages = client.paginate(
                PAGE_QUERIES[resource], resource, {"query": search}, page_size=queries.PAGE_SIZES[resource]
            )
            for node in pages:
                batch.append(node)
                stamp = normalise._datetime(node.get("updatedAt"))
                if stamp and (newest is None or stamp > newest):
                    newest = stamp
                if len(batch) >= batch_size:
                    _upsert_nodes(shop=shop, resource=resource, nodes=batch, live=True)
                    counts[resource] += len(batch)
                    batch = []
            if batch:
                _upsert_nodes(shop=shop, resource=resource, nodes=batch, live=True)
                counts[resource] += len(batch)
            if newest is not None:
                sync_runs.mark_advance(shop=shop, resource=resource, mark=newest)
    except Exception as error:
        sync_runs.run_save(run, status=SyncStatus.FAILED, error=f"{type(error).__name__}: {error}")
        raise
    sync_runs.run_save(run, status=SyncStatus.COMPLETED, finished_at=timezone.now(), progress=counts)
    return counts


# --- webhooks subscription and shop details --------------------------------------------------

def webhooks_register(*, shop: Shop, client: ShopifyClient | None = None) -> list[str]:
    """Subscribe every topic to our inbox; already-present subscriptions are left as they are."""
    client = client or client_for(shop)
    uri = f"{settings.APP_URL}/webhooks/shopify"
    existing = {
        (node["topic"], node.get("uri"))
        for node in client.paginate(queries.WEBHOOK_SUBSCRIPTIONS_QUERY, "webhookSubscriptions")
    }
    created = []
    for topic in queries.WEBHOOK_TOPICS.values():
        if (topic, uri) in existing:
            continue
        result = client.execute(queries.WEBHOOK_SUBSCRIPTION_CREATE, {"topic": topic, "uri": uri})
        errors = result["webhookSubscriptionCreate"]["userErrors"]
        if errors and not any("already been taken" in e["message"] for e in errors):
            raise ShopifyError(f"{topic}: " + "; ".join(e["message"] for e in errors))
        created.append(topic)
    return created


def shop_details_fetch(*, shop: Shop, client: ShopifyClient | None = None) -> dict[str, str]:
    client = client or client_for(shop)
    data = client.execute(queries.SHOP_QUERY)
    details = data["shop"]
    primary_locale = next((loc["locale"] for loc in data.get("shopLocales") or () if loc.get("primary")), "")
    return {
        "platform_id": normalise.legacy_id(details.get("id")),
        "name": details.get("name") or "",
        "email": details.get("email") or "",
        "currency": details.get("currencyCode") or "",
        "timezone": details.get("ianaTimezone") or "",
        "locale": (primary_locale or "")[:16],
        "storefront_url": ((details.get("primaryDomain") or {}).get("url") or "").rstrip("/")[:255],
    }

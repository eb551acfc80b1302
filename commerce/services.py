"""Writes to the store mirror: idempotent upserts ordered by the platform's ``updated_at``.

The rules, in one place:
- A record older than the stored row (``platform_updated_at``) is ignored: late or out-of-order
  deliveries and stale bulk data never overwrite newer data.  A record with the same timestamp is
  the same version: applying it again changes nothing.
- Domain events go to the outbox (``DomainEvent``) in the same transaction as the change, keyed
  so each is written once per shop whatever path (webhook, reconciliation, sync) saw it first.
- Events fire on transitions (an order becoming paid, a cancellation, a new refund), and for
  history data only when it happened after the install: a two-year-old order is history, not news.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Min
from django.utils import timezone

from commerce import events, privacy
from commerce.consent import consent_from_platform
from commerce.models import (
    PAID_STATUSES,
    Customer,
    DomainEvent,
    FulfillmentStatus,
    Order,
    OrderLine,
    Product,
    Refund,
    RefundLine,
    Shop,
    Variant,
)
from commerce.records import CustomerRecord, OrderRecord, ProductRecord, RefundRecord
from commerce.selectors import orders_counted
from commerce.shop_defaults import shop_defaults_create
from retention_app.money import money_str
from retention_app.sql import rows_update

RecordT = TypeVar("RecordT", CustomerRecord, ProductRecord, OrderRecord)


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    skipped_stale: int = 0
    events: list[str] = field(default_factory=list)

    def merge(self, other: "UpsertResult") -> None:
        self.created += other.created
        self.updated += other.updated
        self.skipped_stale += other.skipped_stale
        self.events.extend(other.events)


def _is_news(*, shop: Shop, happened_at: datetime | None, live: bool) -> bool:
    """Live data (webhooks, reconciliation) is news; history is news only after the install."""
    if live:
        return True
    return bool(happened_at and shop.installed_at and happened_at >= shop.installed_at)


def _announce(result: UpsertResult) -> UpsertResult:
    """Dispatch the outbox once this transaction commits (the beat job is the safety net)."""
    if result.events:
        events.dispatch_soon()
    return result


def _newer_split(
    *, model: type[models.Model], shop: Shop, records: Sequence[RecordT]
) -> tuple[list[RecordT], list[tuple[Any, RecordT]], int]:
    """Split records into (new, [(existing row, record) to apply], count of stale ones).

    Existing rows are locked (``select_for_update``) so a concurrent webhook for the same object
    waits instead of interleaving; the newest ``updated_at`` wins either way.
    """
    latest: dict[str, RecordT] = {}
    for record in records:  # the same object twice in one batch: keep the newest version
        current = latest.get(record.platform_id)
        if current is None or _is_not_older(record.updated_at, current.updated_at):
            latest[record.platform_id] = record
    existing = {
        row.platform_id: row
        for row in model.objects.select_for_update()  # type: ignore[attr-defined]
        .filter(shop=shop, platform_id__in=list(latest))
        .order_by("pk")
    }
    new, apply, stale = [], [], len(records) - len(latest)
    for platform_id, record in latest.items():
        row = existing.get(platform_id)
        if row is None:
            new.append(record)
        elif _is_not_older(record.updated_at, row.platform_updated_at):
            apply.append((row, record))
        else:
            stale += 1
    return new, apply, stale


def _is_not_older(incoming: datetime | None, stored: datetime | None) -> bool:
    """An undated version (e.g. a customer embedded in an order) never beats a dated one."""
    if incoming is None:
        return stored is None
    if stored is None:
        return True
    return incoming >= stored


def _create_rows(
    *, model: type[models.Model], shop: Shop, rows: list[Any]
) -> dict[str, Any]:
    """Insert new rows; return platform id -> row as it now stands in the database.

    Rows a concurrent writer inserted first are left alone: for those the stored row is read
    back whole (the caller compares versions); for ours only the primary key is read back.
    """
    model.objects.bulk_create(rows, ignore_conflicts=True)  # type: ignore[attr-defined]
    ours = {row.platform_id: row for row in rows}
    stored = model.objects.filter(shop=shop, platform_id__in=list(ours)).values_list(  # type: ignore[attr-defined]
        "platform_id", "pk", "platform_updated_at"
    )
    theirs = []
    for platform_id, pk, updated_at in stored:
        row = ours[platform_id]
        if updated_at == row.platform_updated_at:
            row.pk = pk
        else:
            theirs.append(pk)
    if theirs:
        for row in model.objects.filter(pk__in=theirs):  # type: ignore[attr-defined]
            ours[row.platform_id] = row
    return ours


@dataclass
class _Applied:
    rows: dict[str, Any]  # platform id -> row, for every record written (created or updated)
    created: set[str]  # platform ids inserted by this call
    before: dict[str, Any]  # platform id -> snapshot of an updated row before the update


def _records_apply(
    *,
    model: type[models.Model],
    shop: Shop,
    records: Sequence[RecordT],
    values: Callable[[RecordT], dict[str, Any]],
    fields: Sequence[str],
    result: UpsertResult,
    snapshot: Callable[[Any], Any] | None = None,
) -> _Applied:
    """The upsert rule shared by every mirrored resource: insert new rows, update rows whose
    stored version is not newer, skip (and count) stale ones."""
    new, apply, result.skipped_stale = _newer_split(model=model, shop=shop, records=records)
    applied = _Applied(rows={}, created=set(), before={})
    if new:
        inserted = _create_rows(
            model=model, shop=shop, rows=[model(shop=shop, platform_id=r.platform_id, **values(r)) for r in new]
        )
        for record in new:
            row = inserted[record.platform_id]
            if row.platform_updated_at != record.updated_at:  # a concurrent writer won the insert
                apply.append((row, record))
            else:
                applied.rows[record.platform_id] = row
                applied.created.add(record.platform_id)
    to_update = []
    for row, record in apply:
        if not _is_not_older(record.updated_at, row.platform_updated_at):
            result.skipped_stale += 1
            continue
        if snapshot is not None:
            applied.before[record.platform_id] = snapshot(row)
        for name, value in values(record).items():
            setattr(row, name, value)
        to_update.append(row)
        applied.rows[record.platform_id] = row
    if to_update:
        rows_update(model=model, rows=to_update, fields=[*fields, "updated_at"])
    result.created, result.updated = len(applied.created), len(to_update)
    return applied


# --- customers -------------------------------------------------------------------------------

CUSTOMER_FIELDS = (
    "first_name", "last_name", "email", "phone", "locale", "tags", "email_consent",
    "sms_consent", "account_state", "platform_updated_at", "platform_created_at", "is_deleted",
)


# Written only when the record carries the address (``CustomerRecord.has_address``).
ADDRESS_FIELDS = ("country_code", "province_code", "timezone")


def _customer_values(record: CustomerRecord) -> dict[str, Any]:
    values: dict[str, Any] = {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "email": record.email.strip().lower(),
        "phone": record.phone,
        "locale": record.locale,
        "tags": list(record.tags),
        "email_consent": record.email_consent,
        "sms_consent": record.sms_consent,
        "account_state": record.account_state,
        "platform_updated_at": record.updated_at,
        "platform_created_at": record.created_at,
        "is_deleted": False,
    }
    if record.has_birthday:
        values["birthday"] = record.birthday
    if record.has_address:
        values.update({name: getattr(record, name) for name in ADDRESS_FIELDS})
    return values


@transaction.atomic
def customers_upsert(*, shop: Shop, records: Sequence[CustomerRecord], live: bool) -> UpsertResult:
    result = UpsertResult()
    records = consent_from_platform(shop=shop, records=records)  # our newer consent changes are kept
    applied = _records_apply(
        model=Customer, shop=shop, records=records, values=_customer_values,
        fields=[*CUSTOMER_FIELDS, *ADDRESS_FIELDS, "birthday"], result=result,
        snapshot=lambda row: row.account_state,
    )
    for record in {r.platform_id: r for r in records}.values():
        row = applied.rows.get(record.platform_id)
        was_enabled = applied.before.get(record.platform_id) == "enabled"
        if row is None or record.account_state != "enabled" or was_enabled:
            continue
        if _is_news(shop=shop, happened_at=record.updated_at, live=live) and events.emit(
            shop=shop,
            name=DomainEvent.Name.CUSTOMER_ACCOUNT_ENABLED,
            key=f"customer.account_enabled:{record.platform_id}",
            payload={"customer_id": row.pk, "platform_id": record.platform_id},
            occurred_at=record.updated_at,
        ):
            result.events.append(f"customer.account_enabled:{record.platform_id}")
    for record in records:
        if record.platform_id not in applied.created:
            continue
        if _is_news(shop=shop, happened_at=record.created_at, live=live) and events.emit(
            shop=shop,
            name=DomainEvent.Name.CUSTOMER_CREATED,
            key=f"customer.created:{record.platform_id}",
            payload={"customer_id": applied.rows[record.platform_id].pk, "platform_id": record.platform_id},
            occurred_at=record.created_at,
        ):
            result.events.append(f"customer.created:{record.platform_id}")
    return _announce(result)


def customers_ensure(*, shop: Shop, platform_ids: Iterable[str]) -> dict[str, Customer]:
    """Rows for customers referenced by orders; unknown ones get a stub the next sync fills in."""
    wanted = {pid for pid in platform_ids if pid}
    found = {c.platform_id: c for c in Customer.objects.filter(shop=shop, platform_id__in=wanted)}
    missing = wanted - set(found)
    if missing:
        Customer.objects.bulk_create(
            [Customer(shop=shop, platform_id=pid) for pid in sorted(missing)], ignore_conflicts=True
        )
        found = {c.platform_id: c for c in Customer.objects.filter(shop=shop, platform_id__in=wanted)}
    return found


@transaction.atomic
def customer_mark_deleted(*, shop: Shop, platform_id: str) -> bool:
    """The customer was deleted in the store: keep the row for the order history, flag it."""
    return bool(
        Customer.objects.filter(shop=shop, platform_id=platform_id).update(
            is_deleted=True, updated_at=timezone.now()
        )
    )


# --- products --------------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "title", "product_type", "category", "vendor", "tags", "status", "handle", "image_url", "platform_updated_at",
)


def _product_values(record: ProductRecord) -> dict[str, Any]:
    return {
        "title": record.title,
        "product_type": record.product_type,
        "category": record.category,
        "vendor": record.vendor,
        "tags": list(record.tags),
        "status": record.status,
        "handle": record.handle[:255],
        "image_url": record.image_url if len(record.image_url) <= 1000 else "",
        "platform_updated_at": record.updated_at,
    }


@transaction.atomic
def products_upsert(*, shop: Shop, records: Sequence[ProductRecord]) -> UpsertResult:
    result = UpsertResult()
    applied = _records_apply(
        model=Product, shop=shop, records=records, values=_product_values, fields=PRODUCT_FIELDS, result=result
    )
    written = [r for r in {r.platform_id: r for r in records}.values() if r.platform_id in applied.rows]
    _variants_upsert(shop=shop, records=written, products=applied.rows)
    return result


def _variants_upsert(*, shop: Shop, records: Sequence[ProductRecord], products: dict[str, Product]) -> None:
    variants = [(products[p.platform_id], v, p.updated_at) for p in records for v in p.variants]
    if not variants:
        return
    existing_costs = dict(
        Variant.objects.filter(shop=shop, platform_id__in=[v.platform_id for _, v, _ in variants])
        .values_list("platform_id", "unit_cost")
    )
    rows = [
        Variant(
            shop=shop,
            product=product,
            platform_id=variant.platform_id,
            title=variant.title,
            sku=variant.sku,
            currency=shop.currency,
            price=variant.price,
            unit_cost=variant.unit_cost if variant.unit_cost is not None
            else existing_costs.get(variant.platform_id),
            platform_updated_at=updated_at,
        )
        for product, variant, updated_at in variants
    ]
    Variant.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["shop", "platform_id"],
        update_fields=["product", "title", "sku", "currency", "price", "unit_cost",
                       "platform_updated_at", "updated_at"],
    )


# --- orders ----------------------------------------------------------------------------------

ORDER_FIELDS = (
    "customer", "customer_platform_id", "name", "email", "phone", "locale", "financial_status",
    "fulfillment_status", "currency", "subtotal", "total_discounts", "total_tax",
    "total_shipping", "total", "total_refunded", "discount_codes", "is_test", "processed_at",
    "cancelled_at", "cancel_reason", "shipping_address_key", "platform_updated_at", "platform_created_at",
)


def _order_values(record: OrderRecord, customer: Customer | None) -> dict[str, Any]:
    return {
        "customer": customer,
        "customer_platform_id": record.customer_platform_id,
        "name": record.name,
        "email": record.email.strip().lower(),
        "phone": record.phone,
        "locale": record.locale,
        "financial_status": record.financial_status,
        "fulfillment_status": record.fulfillment_status,
        "currency": record.currency,
        "subtotal": record.subtotal,
        "total_discounts": record.total_discounts,
        "total_tax": record.total_tax,
        "total_shipping": record.total_shipping,
        "total": record.total,
        "total_refunded": record.total_refunded,
        "discount_codes": list(record.discount_codes),
        "is_test": record.is_test,
        "processed_at": record.processed_at or record.created_at,
        "cancelled_at": record.cancelled_at,
        "cancel_reason": record.cancel_reason,
        "shipping_address_key": record.shipping_address_key,
        "platform_updated_at": record.updated_at,
        "platform_created_at": record.created_at,
    }


@transaction.atomic
def orders_upsert(
    *, shop: Shop, records: Sequence[OrderRecord], live: bool, refresh_first_orders: bool = True
) -> UpsertResult:
    """Upsert orders with their lines and refunds; emit paid / cancelled / refunded events.

    A bulk load may pass ``refresh_first_orders=False`` and call
    ``customers_first_order_refresh_all`` once at the end instead of once per batch.
    """
    result = UpsertResult()
    customers = customers_ensure(shop=shop, platform_ids=[r.customer_platform_id for r in records])
    applied = _records_apply(
        model=Order,
        shop=shop,
        records=records,
        values=lambda r: _order_values(r, customers.get(r.customer_platform_id)),
        fields=ORDER_FIELDS,
        result=result,
        snapshot=lambda row: (row.financial_status, row.cancelled_at, row.fulfillment_status),
    )
    rows: dict[str, Order] = applied.rows
    written = [r for r in {r.platform_id: r for r in records}.values() if r.platform_id in rows]
    _order_lines_upsert(shop=shop, records=written, orders=rows)
    new_refunds = _refunds_upsert(
        shop=shop, records=[refund for r in written for refund in (r.refunds or ())], orders=rows
    )
    if refresh_first_orders:
        _customers_first_order_refresh(shop=shop, customer_ids={o.customer_id for o in rows.values()})
    for record in written:
        result.events.extend(
            _order_events(
                shop=shop,
                order=rows[record.platform_id],
                previous=applied.before.get(record.platform_id),
                live=live,
            )
        )
    for refund in new_refunds:
        result.events.extend(_refund_events(shop=shop, refund=refund, live=live))
    return _announce(result)


def _order_lines_upsert(*, shop: Shop, records: Sequence[OrderRecord], orders: dict[str, Order]) -> None:
    all_lines = [(orders[r.platform_id], line) for r in records for line in r.lines]
    if not all_lines:
        return
    products = dict(
        Product.objects.filter(
            shop=shop, platform_id__in={line.product_platform_id for _, line in all_lines}
        ).values_list("platform_id", "pk")
    )
    variants = dict(
        Variant.objects.filter(
            shop=shop, platform_id__in={line.variant_platform_id for _, line in all_lines}
        ).values_list("platform_id", "pk")
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                shop=shop,
                order=order,
                platform_id=line.platform_id,
                product_id=products.get(line.product_platform_id),
                variant_id=variants.get(line.variant_platform_id),
                product_platform_id=line.product_platform_id,
                variant_platform_id=line.variant_platform_id,
                title=line.title,
                sku=line.sku,
                quantity=line.quantity,
                currency=order.currency,
                unit_price=line.unit_price,
                total_discount=line.total_discount,
            )
            for order, line in all_lines
        ],
        update_conflicts=True,
        unique_fields=["shop", "platform_id"],
        update_fields=["order", "product", "variant", "product_platform_id", "variant_platform_id",
                       "title", "sku", "quantity", "currency", "unit_price", "total_discount",
                       "updated_at"],
    )


def _refunds_upsert(*, shop: Shop, records: Sequence[RefundRecord], orders: dict[str, Order]) -> list[Refund]:
    """Refunds are immutable on the platforms: insert the ones not seen yet, return those."""
    if not records:
        return []
    known = set(
        Refund.objects.filter(shop=shop, platform_id__in=[r.platform_id for r in records])
        .values_list("platform_id", flat=True)
    )
    fresh = [r for r in {r.platform_id: r for r in records}.values() if r.platform_id not in known]
    if not fresh:
        return []
    Refund.objects.bulk_create(
        [
            Refund(
                shop=shop,
                order=orders[r.order_platform_id],
                platform_id=r.platform_id,
                currency=r.currency or orders[r.order_platform_id].currency,
                amount=r.amount,
                shipping_amount=r.shipping_amount,
                note=r.note,
                processed_at=r.processed_at,
            )
            for r in fresh
        ],
        ignore_conflicts=True,
    )
    created = {
        refund.platform_id: refund
        for refund in Refund.objects.filter(
            shop=shop, platform_id__in=[r.platform_id for r in fresh]
        ).select_related("order")
    }
    lines = dict(
        OrderLine.objects.filter(
            shop=shop, platform_id__in={line.line_platform_id for r in fresh for line in r.lines}
        ).values_list("platform_id", "pk")
    )
    RefundLine.objects.bulk_create(
        [
            RefundLine(
                shop=shop,
                refund=created[r.platform_id],
                order_line_id=lines.get(line.line_platform_id),
                line_platform_id=line.line_platform_id,
                quantity=line.quantity,
                currency=created[r.platform_id].currency,
                subtotal=line.subtotal,
            )
            for r in fresh
            for line in r.lines
        ],
        ignore_conflicts=True,
    )
    return list(created.values())


def _customers_first_order_refresh(*, shop: Shop, customer_ids: set[int | None] | None = None) -> int:
    """Recompute customers' first counted order date (``selectors.orders_counted``: a test order or
    one refunded in full is no first purchase, e.g. for the first-order anniversary): one grouped
    scan of the orders, then updates for the customers whose date changed.  ``None`` means every customer of the shop
    (after a bulk load; a correlated subquery per customer can degrade to a scan of all orders
    per customer on freshly loaded tables)."""
    orders = orders_counted(shop=shop).filter(customer__isnull=False)
    customers = Customer.objects.filter(shop=shop)
    if customer_ids is not None:
        ids = [pk for pk in customer_ids if pk]
        if not ids:
            return 0
        orders, customers = orders.filter(customer_id__in=ids), customers.filter(pk__in=ids)
    firsts = dict(
        orders.order_by().values("customer_id").annotate(first=Min("processed_at")).values_list("customer_id", "first")
    )
    changed = []
    for customer in customers.only("pk", "first_order_at").iterator(chunk_size=2000):
        first = firsts.get(customer.pk)
        if customer.first_order_at != first:
            customer.first_order_at = first
            changed.append(customer)
    Customer.objects.bulk_update(changed, ["first_order_at"], batch_size=1000)
    return len(changed)


@transaction.atomic
def customers_first_order_refresh_all(*, shop: Shop) -> int:
    return _customers_first_order_refresh(shop=shop)


def order_is_first(*, order: Order) -> bool:
    """Is this the customer's first (non-cancelled) order?  Guests' orders count by email."""
    earlier = Order.objects.filter(shop_id=order.shop_id, cancelled_at__isnull=True).exclude(pk=order.pk)
    if order.customer_id:
        earlier = earlier.filter(customer_id=order.customer_id)
    elif order.email:
        earlier = earlier.filter(email=order.email)
    else:
        return True
    return not earlier.filter(
        models.Q(processed_at__lt=order.processed_at)
        | models.Q(processed_at=order.processed_at, platform_id__lt=order.platform_id)
    ).exists()


def _order_payload(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "platform_id": order.platform_id,
        "customer_id": order.customer_id,
        "total": money_str(order.total),
        "currency": order.currency,
    }


def _paid_payload(order: Order) -> dict[str, Any]:
    return _order_payload(order) | {"is_first_order": order_is_first(order=order)}


def order_event_for_history(*, order: Order, name: str) -> DomainEvent:
    """The ``order.paid`` / ``order.fulfilled`` event a live change would have emitted for an
    order that came with the synced history (history is not news, so it has none), unsaved and
    with the same key: a flow applied to recent history enrols such orders once, like live ones."""
    if name == DomainEvent.Name.ORDER_PAID:
        return DomainEvent(shop_id=order.shop_id, name=name, key=f"order.paid:{order.platform_id}",
                           payload=_paid_payload(order), occurred_at=order.processed_at or order.created_at)
    if name == DomainEvent.Name.ORDER_FULFILLED:
        return DomainEvent(shop_id=order.shop_id, name=name, key=f"order.fulfilled:{order.platform_id}",
                           payload=_order_payload(order), occurred_at=order.platform_updated_at or order.updated_at)
    raise ValueError(f"no history event for {name}")


def _order_events(
    *, shop: Shop, order: Order, previous: tuple[str, datetime | None, str] | None, live: bool
) -> list[str]:
    emitted: list[str] = []
    if not _is_news(shop=shop, happened_at=order.platform_updated_at, live=live):
        return emitted
    was_paid = previous is not None and previous[0] in PAID_STATUSES
    if order.financial_status in PAID_STATUSES and not was_paid and not order.cancelled_at:
        key = f"order.paid:{order.platform_id}"
        if events.emit(shop=shop, name=DomainEvent.Name.ORDER_PAID, key=key, payload=_paid_payload(order),
                       occurred_at=order.processed_at):
            emitted.append(key)
    was_fulfilled = previous is not None and previous[2] == FulfillmentStatus.FULFILLED
    if order.fulfillment_status == FulfillmentStatus.FULFILLED and not was_fulfilled and not order.cancelled_at:
        key = f"order.fulfilled:{order.platform_id}"
        if events.emit(shop=shop, name=DomainEvent.Name.ORDER_FULFILLED, key=key, payload=_order_payload(order),
                       occurred_at=order.platform_updated_at):
            emitted.append(key)
    was_cancelled = previous is not None and previous[1] is not None
    if order.cancelled_at and not was_cancelled:
        key = f"order.cancelled:{order.platform_id}"
        if events.emit(shop=shop, name=DomainEvent.Name.ORDER_CANCELLED, key=key,
                       payload=_order_payload(order), occurred_at=order.cancelled_at):
            emitted.append(key)
    return emitted


def _refund_events(*, shop: Shop, refund: Refund, live: bool) -> list[str]:
    if not _is_news(shop=shop, happened_at=refund.processed_at, live=live):
        return []
    key = f"order.refunded:{refund.platform_id}"
    payload = _order_payload(refund.order) | {
        "refund_id": refund.pk,
        "refund_platform_id": refund.platform_id,
        "amount": money_str(refund.amount),
        "shipping_amount": money_str(refund.shipping_amount),
    }
    if events.emit(shop=shop, name=DomainEvent.Name.ORDER_REFUNDED, key=key, payload=payload,
                   occurred_at=refund.processed_at):
        return [key]
    return []


@transaction.atomic
def refund_record(*, shop: Shop, record: RefundRecord, live: bool = True) -> UpsertResult:
    """A refund delivered on its own (``refunds/create``).  The order must be known already."""
    result = UpsertResult()
    order = Order.objects.filter(shop=shop, platform_id=record.order_platform_id).first()
    if order is None:
        raise LookupError(f"order {record.order_platform_id} is not known yet")
    for refund in _refunds_upsert(shop=shop, records=[record], orders={order.platform_id: order}):
        result.created += 1
        result.events.extend(_refund_events(shop=shop, refund=refund, live=live))
    return _announce(result)


def history_synced(*, shop: Shop, sync_id: int) -> None:
    """Announce that a history sync finished, so apps that work on the whole shop (segments)
    start from the full history instead of waiting for their daily job."""
    with transaction.atomic():
        if events.emit(shop=shop, name=DomainEvent.Name.HISTORY_SYNCED, key=f"shop.history_synced:{sync_id}",
                       payload={"sync_id": sync_id}):
            events.dispatch_soon()


# --- privacy ---------------------------------------------------------------------------------

def customer_redact(
    *, shop: Shop, platform_id: str, order_platform_ids: Sequence[str],
    emails: Sequence[str] = (), phones: Sequence[str] = (),
) -> int:
    """Erase a customer's personal data in every app (the privacy registry); orders and their
    amounts stay for the aggregates.  Returns how many customer rows were redacted."""
    subject = privacy.customer_erase(shop=shop, platform_id=platform_id, order_platform_ids=order_platform_ids,
                                     emails=emails, phones=phones)
    return len(subject.customer_ids)


def shop_erase(*, shop: Shop) -> None:
    """``shop/redact``: every app deletes what it holds for the shop; a blank tombstone row stays."""
    privacy.shop_erase(shop=shop)


# --- shop lifecycle --------------------------------------------------------------------------

@transaction.atomic
def shop_installed(
    *,
    platform: str,
    domain: str,
    access_token: str,
    scopes: str,
    details: dict[str, str] | None = None,
    access_token_expires_at: datetime | None = None,
    refresh_token: str = "",
    refresh_token_expires_at: datetime | None = None,
) -> Shop:
    """Record an install or a reinstall: the new token (with its expiry and refresh token, when
    it expires) replaces any old one."""
    shop, _ = Shop.objects.select_for_update().get_or_create(platform=platform, domain=domain)
    shop.access_token = access_token
    shop.access_token_expires_at = access_token_expires_at
    shop.refresh_token = refresh_token
    shop.refresh_token_expires_at = refresh_token_expires_at
    shop.reauthorization_required_at = None
    shop.scopes = scopes
    shop.status = "installed"
    shop.installed_at = timezone.now()
    shop.uninstalled_at = None
    for name, value in (details or {}).items():
        if value:
            setattr(shop, name, value)
    shop.save()
    shop_defaults_create(shop=shop)  # the presets every app starts with (idempotent: a reinstall adds what is missing)
    return shop


@transaction.atomic
def shop_details_update(*, shop: Shop, details: dict[str, str]) -> Shop:
    fields = [name for name, value in details.items() if value]
    for name in fields:
        setattr(shop, name, details[name])
    if fields:
        shop.save(update_fields=fields + ["updated_at"])
    return shop


@transaction.atomic
def shop_uninstalled(*, shop: Shop) -> Shop:
    """The app was removed: forget the token (it is revoked anyway), keep the data until
    ``shop/redact`` arrives 48 hours later, or a reinstall makes it current again."""
    shop.status = "uninstalled"
    shop.access_token = ""
    shop.refresh_token = ""
    shop.access_token_expires_at = shop.refresh_token_expires_at = None
    shop.uninstalled_at = timezone.now()
    shop.save(update_fields=["status", "access_token", "refresh_token", "access_token_expires_at",
                             "refresh_token_expires_at", "uninstalled_at", "updated_at"])
    return shop

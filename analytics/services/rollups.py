"""The maintained aggregates behind the dashboard: ``CustomerDay`` (a customer's counted orders per
local day) and ``ShopDay`` (the shop's per local day), kept current by ``rollups_refresh``.

The refresh is set-based and touches only what changed: the orders updated since the last refresh
(``Order.updated_at``, which every commerce upsert and refund sets) name the dirty customers and
days; their rollup rows are deleted and re-aggregated from the counted orders in two
``INSERT ... SELECT`` statements each, in one transaction.  The window re-read reaches
``OVERLAP`` back, so an order whose transaction committed after a refresh started, with an
earlier ``updated_at``, is caught by the next one.  A beat task runs it every minute
(``analytics.tasks.rollups_refresh_all``), so the rollups are at most a minute or two behind.

A first refresh, a changed shop time zone or currency, or ``full=True`` rebuilds the shop's rows.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from analytics.models import CustomerDay, RollupState, ShopDay
from analytics.services.base import NET_VALUE, counted_orders, local_midnight, shop_zone
from commerce.models import Order, Shop

# How far before the last refresh the next one looks again: longer than any transaction that
# writes orders stays open.
OVERLAP = timedelta(minutes=5)
# Dirty days are re-aggregated as ranges of consecutive days; past this many ranges, the whole
# history of the shop is (one scan instead of a long OR).
MAX_DAY_RANGES = 64
# Past this many changed customers (a history sync), the shop's rollups are rebuilt in one pass
# rather than named one by one in an IN list.
MAX_CUSTOMERS = 5000


@dataclass(frozen=True)
class RefreshResult:
    full: bool
    customers: int  # customers re-aggregated (all of them on a full rebuild)
    days: int  # shop days re-aggregated
    refreshed_at: datetime


def _customer_days(orders: QuerySet[Order], shop: Shop) -> tuple[str, list[Any]]:
    zero = Value(0, output_field=DecimalField(max_digits=20, decimal_places=3))
    money = Q(currency=shop.currency)
    query = (
        orders.filter(customer__isnull=False)
        .annotate(local_day=TruncDate("processed_at", tzinfo=shop_zone(shop)))
        .values("customer_id", "local_day")
        .annotate(order_count=Count("pk"), money_count=Count("pk", filter=money),
                  net=Coalesce(Sum(NET_VALUE, filter=money), zero))
        .order_by()
    )
    sql, params = query.query.sql_with_params()
    return (f"INSERT INTO {CustomerDay._meta.db_table} (shop_id, customer_id, day, orders, money_orders, revenue) "
            f"SELECT %s, d.customer_id, d.local_day, d.order_count, d.money_count, d.net FROM ({sql}) d",
            [shop.pk, *params])


def _shop_days(orders: QuerySet[Order], shop: Shop) -> tuple[str, list[Any]]:
    zero = Value(0, output_field=DecimalField(max_digits=20, decimal_places=3))
    money = Q(currency=shop.currency)
    query = (
        orders.annotate(local_day=TruncDate("processed_at", tzinfo=shop_zone(shop)))
        .values("local_day")
        .annotate(money_count=Count("pk", filter=money), net=Coalesce(Sum(NET_VALUE, filter=money), zero),
                  other_count=Count("pk", filter=~money))
        .order_by()
    )
    sql, params = query.query.sql_with_params()
    return (f"INSERT INTO {ShopDay._meta.db_table} (shop_id, day, orders, revenue, other_currency_orders) "
            f"SELECT %s, d.local_day, d.money_count, d.net, d.other_count FROM ({sql}) d",
            [shop.pk, *params])


def _execute(statement: tuple[str, list[Any]]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return cursor.rowcount


def _day_ranges(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days merged: [(first, last), ...], both included."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _rebuild(*, shop: Shop) -> tuple[int, int]:
    CustomerDay.objects.filter(shop=shop).delete()
    ShopDay.objects.filter(shop=shop).delete()
    orders = counted_orders(shop=shop)
    _execute(_customer_days(orders, shop))
    days = _execute(_shop_days(orders, shop))
    return CustomerDay.objects.filter(shop=shop).values("customer_id").distinct().count(), days


def _refresh_changed(*, shop: Shop, since: datetime) -> tuple[int, int] | None:
    """The changed customers' and days' rows rebuilt; ``None`` when so much changed that a full
    rebuild is the cheaper way."""
    changed = Order.objects.filter(shop=shop, updated_at__gte=since)
    customer_ids = sorted({pk for pk in changed.values_list("customer_id", flat=True).distinct() if pk is not None})
    if len(customer_ids) > MAX_CUSTOMERS:
        return None
    zone = shop_zone(shop)
    instants = changed.filter(processed_at__isnull=False).values_list("processed_at", flat=True)
    days = _day_ranges([instant.astimezone(zone).date() for instant in instants if instant is not None])
    if customer_ids:
        CustomerDay.objects.filter(shop=shop, customer_id__in=customer_ids).delete()
        _execute(_customer_days(counted_orders(shop=shop).filter(customer_id__in=customer_ids), shop))
    if len(days) > MAX_DAY_RANGES:
        ShopDay.objects.filter(shop=shop).delete()
        return len(customer_ids), _execute(_shop_days(counted_orders(shop=shop), shop))
    if days:
        in_days, on_days = Q(), Q()
        for first, last in days:
            in_days |= Q(processed_at__gte=local_midnight(first, zone),
                         processed_at__lt=local_midnight(last + timedelta(days=1), zone))
            on_days |= Q(day__gte=first, day__lte=last)
        ShopDay.objects.filter(on_days, shop=shop).delete()
        _execute(_shop_days(counted_orders(shop=shop).filter(in_days), shop))
    return len(customer_ids), sum((last - first).days + 1 for first, last in days)


def rollups_refresh(*, shop: Shop, full: bool = False) -> RefreshResult:
    """Bring the shop's rollups up to date (see the module docstring); idempotent, and safe to run
    concurrently with itself (the state row is locked for the refresh)."""
    with transaction.atomic():
        state = RollupState.objects.select_for_update().filter(shop=shop).first()
        now = timezone.now()
        zone_name = str(shop_zone(shop))
        rebuild = (full or state is None or state.timezone != zone_name or state.currency != shop.currency)
        changed = None if rebuild or state is None else _refresh_changed(shop=shop,
                                                                           since=state.refreshed_at - OVERLAP)
        if changed is None:
            rebuild = True
            changed = _rebuild(shop=shop)
        customers, days = changed
        values = {"refreshed_at": now, "timezone": zone_name, "currency": shop.currency}
        if state is None:
            RollupState.objects.create(shop=shop, **values)
        else:
            RollupState.objects.filter(pk=state.pk).update(**values, updated_at=now)
    return RefreshResult(full=rebuild, customers=customers, days=days, refreshed_at=now)


def rollups_state(*, shop: Shop) -> RollupState | None:
    """When the shop's rollups were last refreshed (``None``: never; the report then reads the orders)."""
    return RollupState.objects.filter(shop=shop).first()

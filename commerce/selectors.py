"""Reads of the store mirror, always scoped to one shop.

Which orders count (one rule for analytics, loyalty tiers and badges, segments and campaigns):
an order is a **counted order** -- a purchase -- when it is

- paid or partially refunded (``COUNTED_ORDER_STATUSES``): pending, authorised, partially paid,
  voided and expired orders are not purchases (yet); a fully refunded one is no longer one;
- not cancelled (``cancelled_at`` empty), not a test order (``is_test``);
- not refunded in full by amount (``total_refunded >= total`` with ``total > 0``), whatever its
  status says (a platform may leave "partially refunded" on an order whose refunds add up to it);
- dated (``processed_at`` set).

Free orders (total 0, e.g. a 100 % discount) are purchases.  What an order is worth is its net
value, ``total - total_refunded`` (``ORDER_NET_VALUE``: tax and shipping included, refunds at the
order's date).  Every app asks here: ``orders_counted`` for querysets, ``counted_order_q`` to
filter through a relation (``prefix="order__"``) or inside an ``Exists``, and
``orders_counted_sql`` for raw SQL.
"""

from collections.abc import Sequence
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet

from commerce import privacy
from commerce.models import Customer, FinancialStatus, Order, Shop

COUNTED_ORDER_STATUSES = (FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED)
# What a customer paid for an order, net of its refunds (tax and shipping included).
ORDER_NET_VALUE = ExpressionWrapper(F("total") - F("total_refunded"),
                                    output_field=DecimalField(max_digits=20, decimal_places=3))


def counted_order_q(*, prefix: str = "") -> Q:
    """The counted-order rule (see the module docstring) as a filter on ``Order``, or on a model
    that reaches it through ``prefix`` (``"order__"`` for order lines)."""
    refunded_in_full = Q(**{f"{prefix}total__gt": 0, f"{prefix}total_refunded__gte": F(f"{prefix}total")})
    return Q(**{f"{prefix}financial_status__in": COUNTED_ORDER_STATUSES, f"{prefix}cancelled_at__isnull": True,
                f"{prefix}is_test": False, f"{prefix}processed_at__isnull": False}) & ~refunded_in_full


def orders_counted(*, shop: Shop | int) -> QuerySet[Order]:
    """The shop's counted orders (``shop`` or its id), guests' included."""
    return Order.objects.filter(counted_order_q(), shop=shop)


def orders_counted_sql(*, shop: Shop | int, customer: Customer | int | None = None) -> tuple[str, list[Any]]:
    """``SELECT id, customer_id, processed_at, net FROM`` the shop's counted orders that belong to a
    customer (or to ``customer``), for raw SQL: the statement and its parameters, generated from
    ``orders_counted`` so the rule has one home."""
    orders = orders_counted(shop=shop).filter(customer__isnull=False)
    if customer is not None:
        orders = orders.filter(customer=customer)
    query = orders.annotate(net=ORDER_NET_VALUE).values("id", "customer_id", "processed_at", "net").order_by().query
    sql, params = query.sql_with_params()
    return sql, list(params)


def customer_list(*, shop: Shop) -> QuerySet[Customer]:
    return Customer.objects.filter(shop=shop)


def customer_search(*, shop: Shop, query: str, limit: int = 10) -> list[Customer]:
    """The shop's customers (not erased) matching every word of ``query`` in the email, first or
    last name or phone, or by platform id; newest first.  Nothing for an empty query."""
    words = query.split()[:8]
    if not words:
        return []
    customers = Customer.objects.filter(shop=shop, is_deleted=False, redacted_at__isnull=True)
    for word in words:
        customers = customers.filter(Q(email__icontains=word) | Q(first_name__icontains=word)
                                     | Q(last_name__icontains=word) | Q(phone__icontains=word) | Q(platform_id=word))
    return list(customers.order_by("-pk")[:limit])


def order_list(*, shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop)


def customer_data_export(
    *, shop: Shop, platform_id: str, order_platform_ids: list[str] | None = None, emails: Sequence[str] = ()
) -> dict[str, Any]:
    """Everything we hold about one customer, as plain JSON (for ``customers/data_request``):
    each app's part from the privacy registry."""
    return privacy.customer_export(shop=shop, platform_id=platform_id, order_platform_ids=order_platform_ids or (),
                                   emails=emails)

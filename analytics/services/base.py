"""What every metric shares: the period in the shop's time zone, which orders count, an order's
net value, and the per-shop options.

Which orders count ("counted orders") is commerce's rule, ``commerce.selectors.orders_counted``,
the same for loyalty, segments and campaigns: paid or partially refunded, not cancelled, not test
orders, not refunded in full, with a ``processed_at``.  Customer metrics also need a customer:
guest orders the platform did not link to one cannot be followed over time; order metrics
(average order value, profit per order) include them.

Refunds subtract from the order they belong to, at the order's date (``Order.total_refunded``,
which the mirror keeps with the order), not at the refund's date: every metric here describes
orders and customers (what an order was worth, what a customer brought), and a refund changes
what that order was worth.  The price is that a past period is restated when a late refund
arrives, as the order's own value is.

Money: order totals are the shop's money (the adapters store the shop-currency amounts; the
importer refuses other currencies).  As a guard, amounts are only ever summed over orders whose
currency is the shop's (``money_orders``); ``orders_in_other_currency`` counts any others so they
are not silently lost.

Dates are the shop's local dates: a period ``start``..``end`` (both included) runs from
``start`` 00:00 to ``end + 1`` 00:00 in ``Shop.timezone``; the bounds are computed here and every
query compares ``processed_at`` with them, so the SQL itself needs no time-zone functions.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import DecimalField, QuerySet

from commerce.models import Order, Shop
from commerce.selectors import COUNTED_ORDER_STATUSES, ORDER_NET_VALUE, orders_counted
from retention_app.errors import ApplicationError
from retention_app.money import ZERO, money_str

COUNTED_STATUSES = COUNTED_ORDER_STATUSES
HUNDRED = Decimal("100")
CENT = Decimal("0.01")

MONEY = DecimalField(max_digits=20, decimal_places=3)
NET_VALUE = ORDER_NET_VALUE


@dataclass(frozen=True)
class Period:
    """``start``..``end``, both included, as local dates of ``zone``."""

    start: date
    end: date
    zone: ZoneInfo

    @classmethod
    def of(cls, *, shop: Shop, start: date, end: date) -> "Period":
        if end < start:
            raise ApplicationError(f"the period ends ({end}) before it starts ({start})", code="bad_period")
        return cls(start=start, end=end, zone=shop_zone(shop))

    @property
    def since(self) -> datetime:
        return local_midnight(self.start, self.zone)

    @property
    def until(self) -> datetime:
        """The first instant after the period."""
        return local_midnight(self.end + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def window(self, *, day: date, days: int) -> tuple[datetime, datetime]:
        """The ``days`` local days ending on ``day`` (included), as ``[from, to)`` instants."""
        return local_midnight(day - timedelta(days=days - 1), self.zone), local_midnight(
            day + timedelta(days=1), self.zone)

    def months(self) -> list[date]:
        """First days of the calendar months the period touches."""
        first = self.start.replace(day=1)
        months = []
        while first <= self.end:
            months.append(first)
            first = (first + timedelta(days=32)).replace(day=1)
        return months


def shop_zone(shop: Shop) -> ZoneInfo:
    return ZoneInfo(shop.timezone or "UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def counted_orders(*, shop: Shop) -> QuerySet[Order]:
    """The shop's orders that count as purchases (commerce's rule, see the module docstring)."""
    return orders_counted(shop=shop)


def customer_orders(*, shop: Shop) -> QuerySet[Order]:
    """Counted orders that belong to a customer: the base of every customer metric."""
    return counted_orders(shop=shop).filter(customer__isnull=False)


def money_orders(*, shop: Shop, customers_only: bool = False) -> QuerySet[Order]:
    """Counted orders whose amounts may be summed: those in the shop's currency."""
    orders = customer_orders(shop=shop) if customers_only else counted_orders(shop=shop)
    return orders.filter(currency=shop.currency)


def in_range(orders: QuerySet[Order], since: datetime, until: datetime) -> QuerySet[Order]:
    return orders.filter(processed_at__gte=since, processed_at__lt=until)


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part / whole × 100`` with two decimals (half up); ``None`` when ``whole`` is 0."""
    return ratio(Decimal(part) * HUNDRED, whole)


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part / whole`` with two decimals; ``None`` when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal | int | None) -> str:
    return money_str(Decimal(value or ZERO))


def money_per(total: Decimal | None, count: int) -> str | None:
    """An amount per unit (order, customer) as a money string; ``None`` when ``count`` is 0."""
    if not count:
        return None
    return money((total or ZERO) / count)

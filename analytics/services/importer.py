"""Import order history from a CSV (``import_orders``): stores migrating from another platform, or
a store analysed before it is connected.

Columns: ``order_id, customer_id, email, processed_at, total, currency``; optional ``cost`` (the
order's product cost), ``refunded`` (amount refunded) and ``product`` (a product name); other
columns are ignored.  Rows are parsed and checked one by one as the file streams, then written in
batches, each batch one transaction: on PostgreSQL COPYed into a staging table and written with a
fixed number of set-based ``INSERT ... SELECT ... ON CONFLICT`` statements whatever the batch's size
(``_batch_write_staged``); elsewhere (SQLite: the demo, local tests) as commerce records through the
``commerce.services`` upserts (``_batch_write``).  Both follow the rules below and give the same rows.

- Platform ids are the file's ids prefixed with ``import:``, so imported rows never collide with
  a platform's own ids in a connected shop.  A row without ``customer_id`` is keyed by its email.
- Idempotent: a row equal to what is stored is counted ``unchanged`` and not written, so the same
  file imported twice changes nothing; a changed row updates its order.  Within a file, an order
  repeated with the same values is skipped, with other values it is an error.
- A bad row is rejected whole (nothing of it is written) with its line number; the other rows are
  imported.  A missing ``cost``/``product``/``refunded`` keeps what is stored; a refunded amount can
  grow (a new refund row for the difference) but not shrink.
- ``processed_at``: ISO 8601 date or date-time; without an offset it is the shop's local time;
  years 2000 to 2100 (``retention_app.bounds``).
- Amounts are in the shop's currency: a row in another currency is rejected (convert first).
  Each amount is a plain number >= 0 with at most 3 decimals, at most 999999999999999.999
  (``retention_app.bounds.MONEY_MAX``, well inside the money column); NaN and Infinity are refused.
- Text fits its column (ids 57 characters, email 320, product 500) and holds no control
  characters.  A field larger than the CSV reader's limit (128 KiB), or a line it cannot read, is
  a bad row like any other: the rows after it are still imported.
"""

import csv
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Count, Model, Sum
from django.utils import timezone as django_timezone

from analytics.models import ImportedOrderCost
from analytics.services.base import shop_zone
from commerce import bulk_sql
from commerce import services as commerce
from commerce.models import Customer, FinancialStatus, Order, OrderLine, Platform, Product, Refund, Shop
from commerce.records import CustomerRecord, OrderLineRecord, OrderRecord, ProductRecord, RefundRecord
from retention_app.bounds import MAX_YEAR, MIN_YEAR, MONEY_MAX, decimal_max, year_in_bounds
from retention_app.errors import ApplicationError
from retention_app.money import ZERO

REQUIRED_COLUMNS = ("order_id", "customer_id", "email", "processed_at", "total", "currency")
OPTIONAL_COLUMNS = ("cost", "refunded", "product")
PREFIX = "import:"
ID_MAX_LENGTH = 64 - len(PREFIX)
BATCH_SIZE = 2000
STAGED_BATCH_SIZE = 10_000  # PostgreSQL: a fixed number of statements per batch, so bigger batches are cheaper
MAX_REPORTED_ERRORS = 1000
MILLI = Decimal("0.001")
MAX_AMOUNT = min(MONEY_MAX, decimal_max(Order._meta.get_field("total")))  # every amount goes to a money column
EMAIL_MAX_LENGTH = min(Customer._meta.get_field("email").max_length or 0, Order._meta.get_field("email").max_length
                       or 0)
PRODUCT_MAX_LENGTH = min(Product._meta.get_field("title").max_length or 0,
                         OrderLine._meta.get_field("title").max_length or 0)
DOMAIN_MAX_LENGTH = Shop._meta.get_field("domain").max_length or 0
CURRENCY = re.compile(r"[A-Z]{3}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A host name (letters, digits, hyphens, dots): what a standalone shop created by the import is called.
DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", re.IGNORECASE)


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportResult:
    shop: Shop | None = None
    shop_created: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # rows repeating an earlier row of the file exactly
    customers_created: int = 0
    products_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(line, message))


@dataclass(frozen=True)
class ImportRow:
    line: int
    order_id: str
    customer_platform_id: str
    email: str
    processed_at: datetime
    total: Decimal
    currency: str
    cost: Decimal | None
    refunded: Decimal | None
    product: str

    @property
    def order_platform_id(self) -> str:
        return PREFIX + self.order_id

    @property
    def line_platform_id(self) -> str:
        return f"{PREFIX}{self.order_id}:1"

    @property
    def product_platform_id(self) -> str:
        """Products are keyed by their name (a hash, as names may be long)."""
        if not self.product:
            return ""
        return PREFIX + hashlib.sha256(self.product.encode()).hexdigest()[:32]

    def fingerprint(self) -> int:
        values = (self.customer_platform_id, self.email, self.processed_at.isoformat(), self.total, self.currency,
                  self.cost, self.refunded, self.product)
        return hash(values) & 0xFFFFFFFF  # compared within one run only


# --- the shop ------------------------------------------------------------------------------------------------------


def shop_by_domain(*, domain: str, platform: str | None = None) -> Shop | None:
    """The shop with this domain: on ``platform`` if given; otherwise the only one (several shops
    on different platforms may share a domain: then ``platform`` must say which).  Text that is
    not a domain name (a NUL byte, which PostgreSQL cannot compare) names no shop."""
    if len(domain) > DOMAIN_MAX_LENGTH or not DOMAIN.fullmatch(domain):
        return None
    shops = Shop.objects.filter(domain=domain)
    if platform:
        return shops.filter(platform=platform).first()
    found = list(shops[:2])
    if len(found) > 1:
        raise ApplicationError(f"several shops have the domain {domain}: say which platform", code="ambiguous_shop")
    return found[0] if found else None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: a name too long for a file
        raise ApplicationError(f"unknown time zone {_shown(name)}", code="bad_timezone") from error


# --- parsing -------------------------------------------------------------------------------------------------------


class _RowInvalid(ValueError):
    pass


def _shown(text: str, limit: int = 40) -> str:
    """A value quoted in a message, cut short: a bad field may be 100 KB long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _text(row: dict[str, str | None], column: str) -> str:
    return (row.get(column) or "").strip()


def _checked(value: str, column: str, *, max_length: int) -> str:
    """A text that fits its column and holds no control characters (PostgreSQL cannot store NUL)."""
    if len(value) > max_length:
        raise _RowInvalid(f"{column} is longer than {max_length} characters")
    if CONTROL.search(value):
        raise _RowInvalid(f"{column} contains a control character")
    return value


def _amount(row: dict[str, str | None], column: str, *, required: bool) -> Decimal | None:
    text = _text(row, column)
    if not text:
        if required:
            raise _RowInvalid(f"{column} is missing")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise _RowInvalid(f"{column} {_shown(text)} is not a number (use a dot for decimals, no thousands "
                          f"separators)") from error
    if not value.is_finite():
        raise _RowInvalid(f"{column} {_shown(text)} is not a finite number")
    if value < 0:
        raise _RowInvalid(f"{column} {_shown(text)} must be a number >= 0")
    if value > MAX_AMOUNT:
        raise _RowInvalid(f"{column} {_shown(text)} is more than {MAX_AMOUNT}, the largest amount accepted")
    if value != value.quantize(MILLI):
        raise _RowInvalid(f"{column} {_shown(text)} has more than 3 decimal places")
    return abs(value.quantize(MILLI))  # abs: -0 is 0


def _identifier(value: str, column: str) -> str:
    return _checked(value, column, max_length=ID_MAX_LENGTH)


def _email(row: dict[str, str | None]) -> str:
    email = _checked(_text(row, "email").lower(), "email", max_length=EMAIL_MAX_LENGTH)
    if email and (email.count("@") != 1 or email.startswith("@") or email.endswith("@") or " " in email):
        raise _RowInvalid(f"email {_shown(email)} is not an email address")
    return email


def _currency(text: str) -> str:
    currency = text.upper()
    if not CURRENCY.fullmatch(currency):
        raise _RowInvalid(f"currency {_shown(text) if text else '(missing)'} is not an ISO 4217 code (three "
                          f"letters, as EUR)")
    return currency


def _moment(text: str, zone: ZoneInfo) -> datetime:
    if not text:
        raise _RowInvalid("processed_at is missing")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise _RowInvalid(f"processed_at {_shown(text)} is not an ISO 8601 date or date-time") from error
    if not year_in_bounds(moment):
        raise _RowInvalid(f"processed_at {_shown(text)} is not between the years {MIN_YEAR} and {MAX_YEAR}")
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def parse_row(row: dict[str, str | None], *, line: int, shop: Shop) -> ImportRow:
    """One CSV row, checked whole; raises ``ValueError`` with a message naming the problem."""
    if None in row:
        raise _RowInvalid("the row has more fields than the header")
    order_id = _identifier(_text(row, "order_id"), "order_id")
    if not order_id:
        raise _RowInvalid("order_id is missing")
    customer_id = _identifier(_text(row, "customer_id"), "customer_id")
    email = _email(row)
    if not customer_id and not email:
        raise _RowInvalid("customer_id and email are both missing")
    customer_platform_id = PREFIX + customer_id if customer_id else f"{PREFIX}email:{email}"
    if len(customer_platform_id) > 64:
        raise _RowInvalid("email is too long to identify a customer")
    currency = _currency(_text(row, "currency"))
    if currency != shop.currency:
        raise _RowInvalid(f"currency {currency} is not the shop's ({shop.currency}): convert the amounts first")
    total = _amount(row, "total", required=True)
    assert total is not None
    refunded = _amount(row, "refunded", required=False)
    if refunded is not None and refunded > total:
        raise _RowInvalid(f"refunded {refunded} is more than the total {total}")
    product = _checked(_text(row, "product"), "product", max_length=PRODUCT_MAX_LENGTH)
    return ImportRow(line=line, order_id=order_id, customer_platform_id=customer_platform_id, email=email,
                     processed_at=_moment(_text(row, "processed_at"), shop_zone(shop)),
                     total=total, currency=currency, cost=_amount(row, "cost", required=False), refunded=refunded,
                     product=product)


# --- writing -------------------------------------------------------------------------------------------------------


def _status(total: Decimal, refunded: Decimal) -> str:
    if refunded <= 0:
        return FinancialStatus.PAID
    return FinancialStatus.REFUNDED if refunded >= total else FinancialStatus.PARTIALLY_REFUNDED


@dataclass(frozen=True)
class _Stored:
    """What the database holds for a batch's orders, to tell unchanged rows from changed ones."""

    orders: dict[str, tuple]
    products: dict[str, str]  # order platform id -> its line's product platform id
    costs: dict[str, Decimal]
    refunded: dict[str, Decimal]  # sum of the refund rows
    refunds: dict[str, int]


def _stored(*, shop: Shop, rows: list[ImportRow]) -> _Stored:
    ids = [row.order_platform_id for row in rows]
    orders = {
        values[0]: values[1:]
        for values in Order.objects.filter(shop=shop, platform_id__in=ids).values_list(
            "platform_id", "customer_platform_id", "email", "processed_at", "total", "total_refunded", "currency")
    }
    products = dict(OrderLine.objects.filter(shop=shop, platform_id__in=[row.line_platform_id for row in rows])
                    .values_list("order__platform_id", "product_platform_id"))
    costs = dict(ImportedOrderCost.objects.filter(shop=shop, order__platform_id__in=ids)
                 .values_list("order__platform_id", "cost"))
    refund_rows = (Refund.objects.filter(shop=shop, order__platform_id__in=ids).values("order__platform_id")
                   .annotate(amount=Sum("amount"), count=Count("pk")).order_by())
    return _Stored(
        orders=orders, products=products, costs=costs,
        refunded={row["order__platform_id"]: row["amount"] for row in refund_rows},
        refunds={row["order__platform_id"]: row["count"] for row in refund_rows},
    )


def _is_unchanged(row: ImportRow, stored: _Stored) -> bool:
    order = stored.orders.get(row.order_platform_id)
    if order is None:
        return False
    refunded = order[4] if row.refunded is None else row.refunded
    same_order = order == (row.customer_platform_id, row.email, row.processed_at, row.total, refunded, row.currency)
    same_product = not row.product or stored.products.get(row.order_platform_id) == row.product_platform_id
    same_cost = row.cost is None or stored.costs.get(row.order_platform_id) == row.cost
    return same_order and same_product and same_cost


def _order_record(row: ImportRow, stored: _Stored, result: ImportResult) -> OrderRecord | None:
    order = stored.orders.get(row.order_platform_id)
    refunded = row.refunded if row.refunded is not None else (order[4] if order else ZERO)
    already = stored.refunded.get(row.order_platform_id, ZERO)
    if refunded < already:
        result.error(row.line, f"refunded {refunded} is less than the {already} already imported: refunds cannot "
                               f"be taken back")
        return None
    refunds: tuple[RefundRecord, ...] | None = None
    if refunded > already:
        number = stored.refunds.get(row.order_platform_id, 0) + 1
        refunds = (RefundRecord(platform_id=f"{row.order_platform_id}:refund:{number}",
                                order_platform_id=row.order_platform_id, amount=refunded - already,
                                currency=row.currency, processed_at=row.processed_at),)
    lines: tuple[OrderLineRecord, ...] = ()
    if row.product:
        lines = (OrderLineRecord(platform_id=row.line_platform_id, title=row.product, sku="", quantity=1,
                                 unit_price=row.total, total_discount=ZERO,
                                 product_platform_id=row.product_platform_id),)
    return OrderRecord(
        platform_id=row.order_platform_id, updated_at=None, currency=row.currency, name=row.order_id,
        email=row.email, customer_platform_id=row.customer_platform_id,
        financial_status=_status(row.total, refunded), subtotal=row.total, total=row.total, total_refunded=refunded,
        created_at=row.processed_at, processed_at=row.processed_at, lines=lines, refunds=refunds,
    )


def _customers_write(*, shop: Shop, rows: list[ImportRow], seen: set[str], result: ImportResult) -> None:
    """Customers met for the first time in this file: create them, or update a changed email.
    The first row of a customer in the file gives its email."""
    first: dict[str, str] = {}
    for row in rows:
        if row.customer_platform_id not in seen and row.customer_platform_id not in first:
            first[row.customer_platform_id] = row.email
    seen.update(first)
    stored = dict(Customer.objects.filter(shop=shop, platform_id__in=list(first)).values_list("platform_id", "email"))
    records = [CustomerRecord(platform_id=platform_id, updated_at=None, email=email)
               for platform_id, email in first.items()
               if platform_id not in stored or (email and stored[platform_id] != email)]
    if records:
        result.customers_created += commerce.customers_upsert(shop=shop, records=records, live=False).created


def _products_write(*, shop: Shop, rows: list[ImportRow], result: ImportResult) -> None:
    wanted = {row.product_platform_id: row.product for row in rows if row.product}
    known = set(Product.objects.filter(shop=shop, platform_id__in=list(wanted)).values_list("platform_id", flat=True))
    records = [ProductRecord(platform_id=platform_id, updated_at=None, title=title)
               for platform_id, title in wanted.items() if platform_id not in known]
    if records:
        result.products_created += commerce.products_upsert(shop=shop, records=records).created


def _costs_write(*, shop: Shop, rows: list[ImportRow]) -> None:
    with_cost = {row.order_platform_id: row for row in rows if row.cost is not None}
    if not with_cost:
        return
    orders = dict(Order.objects.filter(shop=shop, platform_id__in=list(with_cost)).values_list("platform_id", "pk"))
    ImportedOrderCost.objects.bulk_create(
        [ImportedOrderCost(shop=shop, order_id=orders[platform_id], currency=row.currency, cost=row.cost)
         for platform_id, row in with_cost.items()],
        update_conflicts=True, unique_fields=["shop", "order"], update_fields=["cost", "currency", "updated_at"],
    )


def _batch_write(*, shop: Shop, rows: list[ImportRow], seen_customers: set[str], result: ImportResult) -> bool:
    """Write one batch in one transaction; ``True`` when anything was written."""
    with transaction.atomic():
        stored = _stored(shop=shop, rows=rows)
        changed, records = [], []
        for row in rows:
            if _is_unchanged(row, stored):
                result.unchanged += 1
                continue
            record = _order_record(row, stored, result)
            if record is not None:
                changed.append(row)
                records.append(record)
        if not changed:
            return False
        _customers_write(shop=shop, rows=changed, seen=seen_customers, result=result)
        _products_write(shop=shop, rows=changed, result=result)
        commerce.orders_upsert(shop=shop, records=records, live=False, refresh_first_orders=False)
        _costs_write(shop=shop, rows=changed)
        for row in changed:
            if row.order_platform_id in stored.orders:
                result.updated += 1
            else:
                result.created += 1
        return True


# --- writing on PostgreSQL: COPY into a staging table, then set-based upserts ------------------------------------
#
# The same rules as ``_batch_write`` (which SQLite uses), in a fixed number of statements per batch
# whatever its size: the batch is COPYed into ``import_stage``; one INSERT ... SELECT joins what
# is stored (order, its line's product, its cost, its refunds) and decides per row: unchanged,
# a refund that would shrink (an error), or a write; then customers, products, orders, lines,
# refunds and costs are each one INSERT ... SELECT ... ON CONFLICT.  ``import_seen`` remembers
# the customers met in earlier batches (the first row of a customer gives its email).

STAGE_COLUMNS = ("line", "order_pid", "name", "customer_pid", "email", "processed_at", "total", "currency", "cost",
                 "refunded", "product", "product_pid")


def _stage_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_stage, import_rows, import_seen")
        cursor.execute(
            "CREATE TEMPORARY TABLE import_stage (line integer, order_pid varchar(64), name varchar(64), "
            "customer_pid varchar(64), email varchar(320), processed_at timestamptz, total numeric(20, 3), "
            "currency varchar(3), cost numeric(20, 3), refunded numeric(20, 3), product varchar(500), "
            "product_pid varchar(64))")
        cursor.execute(
            "CREATE TEMPORARY TABLE import_rows (LIKE import_stage, order_pk bigint, new_refunded numeric(20, 3), "
            "already numeric(20, 3), refund_count integer, unchanged boolean, shrinks boolean, write boolean)")
        cursor.execute("CREATE TEMPORARY TABLE import_seen (platform_id varchar(64) PRIMARY KEY)")


def _stage_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_stage, import_rows, import_seen")


def _insert(model: type[Model], *, given: dict[str, str], source: str) -> tuple[str, list]:
    """``INSERT INTO <model> (given..., defaults...) SELECT <given exprs>, <defaults> <source>``."""
    columns, placeholders, params = bulk_sql.insert_columns(model, given=given)
    table = model._meta.db_table
    sql = (f"INSERT INTO {table} ({', '.join([*given, *columns])}) "
           f"SELECT {', '.join([*given.values(), *placeholders])} {source}")
    return sql, params


def _batch_write_staged(*, shop: Shop, rows: list[ImportRow], result: ImportResult) -> bool:
    """``_batch_write`` on PostgreSQL; ``True`` when anything was written."""
    now = django_timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE import_stage, import_rows")
        with cursor.copy(f"COPY import_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.line, row.order_platform_id, row.order_id, row.customer_platform_id, row.email,
                                row.processed_at, row.total, row.currency, row.cost, row.refunded, row.product,
                                row.product_platform_id))
        # what is stored for each row's order, and what the row does
        cursor.execute(
            """INSERT INTO import_rows
               SELECT s.*, o.id, COALESCE(s.refunded, o.total_refunded, 0), COALESCE(r.amount, 0), COALESCE(r.count, 0),
                      COALESCE(o.customer_platform_id = s.customer_pid AND o.email = s.email
                               AND o.processed_at = s.processed_at AND o.total = s.total
                               AND o.total_refunded = COALESCE(s.refunded, o.total_refunded) AND o.currency = s.currency
                               AND (s.product = '' OR l.product_platform_id = s.product_pid)
                               AND (s.cost IS NULL OR c.cost = s.cost), FALSE)
               FROM import_stage s
               LEFT JOIN commerce_order o ON o.shop_id = %s AND o.platform_id = s.order_pid
               LEFT JOIN commerce_orderline l ON l.shop_id = %s AND l.platform_id = s.order_pid || ':1'
               LEFT JOIN analytics_importedordercost c ON c.shop_id = %s AND c.order_id = o.id
               LEFT JOIN LATERAL (SELECT sum(amount) AS amount, count(*) AS count FROM commerce_refund
                                  WHERE shop_id = %s AND order_id = o.id) r ON o.id IS NOT NULL""",
            [shop.pk, shop.pk, shop.pk, shop.pk])
        cursor.execute("ANALYZE import_rows")
        cursor.execute("UPDATE import_rows SET shrinks = NOT unchanged AND new_refunded < already, "
                       "write = NOT unchanged AND new_refunded >= already")
        cursor.execute("SELECT line, new_refunded, already FROM import_rows WHERE shrinks ORDER BY line")
        for line, refunded, already in cursor.fetchall():
            result.error(line, f"refunded {refunded} is less than the {already} already imported: refunds cannot "
                               f"be taken back")
        cursor.execute("SELECT count(*) FILTER (WHERE unchanged), count(*) FILTER (WHERE write AND order_pk IS NULL), "
                       "count(*) FILTER (WHERE write AND order_pk IS NOT NULL) FROM import_rows")
        unchanged, created, updated = cursor.fetchone()
        result.unchanged += unchanged
        if not created and not updated:
            return False
        result.customers_created += _customers_write_staged(cursor, shop=shop, now=now)
        result.products_created += _products_write_staged(cursor, shop=shop, now=now)
        _orders_write_staged(cursor, shop=shop, now=now)
        _refunds_write_staged(cursor, shop=shop, now=now)
        _costs_write_staged(cursor, shop=shop, now=now)
    result.created += created
    result.updated += updated
    return True


def _customers_write_staged(cursor: CursorWrapper, *, shop: Shop, now: datetime) -> int:
    """Customers met for the first time in this file: created, or their email updated (a customer
    the platform dated is the platform's: left alone).  Returns how many were created."""
    cursor.execute(
        """CREATE TEMPORARY TABLE import_firsts ON COMMIT DROP AS
           SELECT DISTINCT ON (customer_pid) customer_pid, email FROM import_rows w
           WHERE w.write AND NOT EXISTS (SELECT 1 FROM import_seen x WHERE x.platform_id = w.customer_pid)
           ORDER BY customer_pid, line""")
    cursor.execute("INSERT INTO import_seen SELECT customer_pid FROM import_firsts")
    sql, params = _insert(Customer, given={"shop_id": "%s", "platform_id": "customer_pid", "email": "email",
                                           "created_at": "%s", "updated_at": "%s"},
                          source="FROM import_firsts")
    cursor.execute(
        f"""{sql} ON CONFLICT (shop_id, platform_id)
            DO UPDATE SET email = EXCLUDED.email, updated_at = EXCLUDED.updated_at
            WHERE EXCLUDED.email <> '' AND commerce_customer.email <> EXCLUDED.email
              AND commerce_customer.platform_updated_at IS NULL
            RETURNING xmax = 0""",
        [shop.pk, now, now, *params])
    created = sum(1 for (inserted,) in cursor.fetchall() if inserted)
    cursor.execute("DROP TABLE import_firsts")
    return created


def _products_write_staged(cursor: CursorWrapper, *, shop: Shop, now: datetime) -> int:
    sql, params = _insert(Product, given={"shop_id": "%s", "platform_id": "product_pid", "title": "product",
                                          "created_at": "%s", "updated_at": "%s"},
                          source="FROM (SELECT DISTINCT ON (product_pid) product_pid, product FROM import_rows "
                                 "WHERE write AND product <> '' ORDER BY product_pid, line) AS named")
    cursor.execute(f"{sql} ON CONFLICT (shop_id, platform_id) DO NOTHING", [shop.pk, now, now, *params])
    return int(cursor.rowcount)


ORDER_SET = ("customer_id", "customer_platform_id", "name", "email", "phone", "locale", "financial_status",
             "fulfillment_status", "currency", "subtotal", "total_discounts", "total_tax", "total_shipping", "total",
             "total_refunded", "discount_codes", "is_test", "processed_at", "cancelled_at", "cancel_reason",
             "shipping_address_key", "platform_updated_at", "platform_created_at", "updated_at")


def _orders_write_staged(cursor: CursorWrapper, *, shop: Shop, now: datetime) -> None:
    """Orders, then their line (a row naming a product has one).  An order the platform dated
    (``platform_updated_at``) is the platform's: left alone, as ``commerce.orders_upsert`` does."""
    status = (f"CASE WHEN w.new_refunded <= 0 THEN '{FinancialStatus.PAID}' "
              f"WHEN w.new_refunded >= w.total THEN '{FinancialStatus.REFUNDED}' "
              f"ELSE '{FinancialStatus.PARTIALLY_REFUNDED}' END")
    given = {"shop_id": "%s", "platform_id": "w.order_pid", "customer_id": "c.id",
             "customer_platform_id": "w.customer_pid", "name": "w.name", "email": "w.email",
             "financial_status": status, "currency": "w.currency", "subtotal": "w.total", "total": "w.total",
             "total_refunded": "w.new_refunded", "processed_at": "w.processed_at",
             "platform_created_at": "w.processed_at", "created_at": "%s", "updated_at": "%s"}
    sql, params = _insert(Order, given=given, source=(
        "FROM import_rows w LEFT JOIN commerce_customer c ON c.shop_id = %s AND c.platform_id = w.customer_pid "
        "WHERE w.write"))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in ORDER_SET)
    # the model defaults come before the source's parameter in the statement
    cursor.execute(f"{sql} ON CONFLICT (shop_id, platform_id) DO UPDATE SET {updates} "
                   f"WHERE commerce_order.platform_updated_at IS NULL",
                   [shop.pk, now, now, *params, shop.pk])
    line_given = {"shop_id": "%s", "order_id": "o.id", "platform_id": "w.order_pid || ':1'", "product_id": "p.id",
                  "product_platform_id": "w.product_pid", "title": "w.product", "quantity": "1",
                  "currency": "w.currency", "unit_price": "w.total", "created_at": "%s", "updated_at": "%s"}
    sql, params = _insert(OrderLine, given=line_given, source=(
        "FROM import_rows w JOIN commerce_order o ON o.shop_id = %s AND o.platform_id = w.order_pid "
        "LEFT JOIN commerce_product p ON p.shop_id = %s AND p.platform_id = w.product_pid "
        "WHERE w.write AND w.product <> ''"))
    line_set = ("order_id", "product_id", "variant_id", "product_platform_id", "variant_platform_id", "title", "sku",
                "quantity", "currency", "unit_price", "total_discount", "updated_at")
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in line_set)
    cursor.execute(f"{sql} ON CONFLICT (shop_id, platform_id) DO UPDATE SET {updates}",
                   [shop.pk, now, now, *params, shop.pk, shop.pk])


def _refunds_write_staged(cursor: CursorWrapper, *, shop: Shop, now: datetime) -> None:
    """A refunded amount that grew: a refund row for the difference.  One dated after the shop's
    install is news (``order.refunded``): it goes through ``commerce.refund_record``, which emits
    the event as ``orders_upsert`` would; the rest (history) in one statement."""
    news = "w.processed_at >= %s" if shop.installed_at else "FALSE"
    news_params = [shop.installed_at] if shop.installed_at else []
    sql, params = _insert(Refund, given={
        "shop_id": "%s", "order_id": "o.id", "platform_id": "w.order_pid || ':refund:' || (w.refund_count + 1)",
        "currency": "w.currency", "amount": "w.new_refunded - w.already", "processed_at": "w.processed_at",
        "created_at": "%s", "updated_at": "%s"}, source=(
        "FROM import_rows w JOIN commerce_order o ON o.shop_id = %s AND o.platform_id = w.order_pid "
        f"WHERE w.write AND w.new_refunded > w.already AND NOT ({news})"))
    cursor.execute(f"{sql} ON CONFLICT (shop_id, platform_id) DO NOTHING",
                   [shop.pk, now, now, *params, shop.pk, *news_params])
    if not shop.installed_at:
        return
    cursor.execute(f"SELECT order_pid, refund_count, new_refunded - already, currency, processed_at FROM import_rows w "
                   f"WHERE w.write AND w.new_refunded > w.already AND {news} ORDER BY line", news_params)
    for order_pid, count, amount, currency, processed_at in cursor.fetchall():
        commerce.refund_record(shop=shop, live=False, record=RefundRecord(
            platform_id=f"{order_pid}:refund:{count + 1}", order_platform_id=order_pid, amount=amount,
            currency=currency, processed_at=processed_at))


def _costs_write_staged(cursor: CursorWrapper, *, shop: Shop, now: datetime) -> None:
    cursor.execute(
        """INSERT INTO analytics_importedordercost (shop_id, order_id, currency, cost, created_at, updated_at)
           SELECT %s, o.id, w.currency, w.cost, %s, %s
           FROM import_rows w JOIN commerce_order o ON o.shop_id = %s AND o.platform_id = w.order_pid
           WHERE w.write AND w.cost IS NOT NULL
           ON CONFLICT (shop_id, order_id) DO UPDATE
           SET cost = EXCLUDED.cost, currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at""",
        [shop.pk, now, now, shop.pk])


STATISTICS_MODELS = (Customer, Product, Order, OrderLine, Refund, ImportedOrderCost)


Numbered = tuple[int, dict[str, str | None] | str]


def _numbered(reader: csv.DictReader) -> Iterator[Numbered]:
    """Each row with its line number; a line the CSV reader cannot read (a field over its size limit,
    a stray quote) comes as the reason instead of the row, and reading goes on after it."""
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # the reader has not counted the line it failed on (a failure consumes that line)
            yield reader.line_num + 1, _unreadable(error)
            continue
        yield reader.line_num, raw


def _unreadable(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return f"a field is longer than {csv.field_size_limit()} characters"
    return f"the line is not readable CSV ({error})"


def _rows(numbered: Iterable[Numbered], *, shop: Shop, result: ImportResult) -> Iterator[ImportRow]:
    """The file's valid rows; errors and exact repeats are counted on ``result``."""
    seen: dict[str, int] = {}  # order id -> line << 32 | fingerprint: one int per order keeps memory small
    for line, raw in numbered:
        result.rows += 1
        if isinstance(raw, str):
            result.error(line, raw)
            continue
        try:
            row = parse_row(raw, line=line, shop=shop)
        except _RowInvalid as error:
            result.error(line, str(error))
            continue
        earlier = seen.get(row.order_id)
        if earlier is not None:
            if earlier & 0xFFFFFFFF == row.fingerprint():
                result.duplicates += 1
            else:
                result.error(line, f"order_id {row.order_id} is on line {earlier >> 32} already, with other values")
            continue
        seen[row.order_id] = (line << 32) | row.fingerprint()
        yield row


def orders_import(
    *,
    domain: str,
    file: TextIO,
    platform: str | None = None,
    timezone: str = "UTC",
    batch_size: int | None = None,
) -> ImportResult:
    """Import the CSV ``file`` into the shop with ``domain`` (created as a standalone shop, with the
    first row's currency and ``timezone``, when there is none)."""
    reader = csv.DictReader(file)
    try:
        header = reader.fieldnames or ()
    except csv.Error as error:
        raise ApplicationError(f"the header row is not readable CSV: {_unreadable(error)}", code="bad_file") \
            from error
    columns = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ApplicationError(f"the file lacks the columns: {', '.join(missing)}", code="bad_file")
    reader.fieldnames = columns
    numbered = _numbered(reader)
    # the lines up to the first readable row (whose currency a new shop takes)
    ahead: list[Numbered] = []
    for item in numbered:
        ahead.append(item)
        if not isinstance(item[1], str):
            break
    if not ahead:
        raise ApplicationError("the file has no rows", code="bad_file")
    result = ImportResult()
    shop = shop_by_domain(domain=domain, platform=platform)
    if shop is None:
        if platform not in (None, Platform.STANDALONE):
            raise ApplicationError(f"no {platform} shop has the domain {_shown(domain)}", code="unknown_shop")
        if len(domain) > DOMAIN_MAX_LENGTH or not DOMAIN.fullmatch(domain):
            raise ApplicationError(f"{_shown(domain)} is not a domain name (letters, digits, hyphens and dots, at "
                                   f"most {DOMAIN_MAX_LENGTH} characters)", code="bad_domain")
        line, first = ahead[-1]
        try:
            currency = "" if isinstance(first, str) else _currency(_text(first, "currency"))
        except _RowInvalid as error:
            raise ApplicationError(f"line {line}: {error}", code="bad_file") from error
        # Saved with the first batch: a file whose rows are all rejected leaves no empty shop behind.
        shop = Shop(platform=Platform.STANDALONE, domain=domain, name=domain, currency=currency,
                    timezone=_zone(timezone).key)
    result.shop = shop
    written = False
    seen_customers: set[str] = set()
    staged = bulk_sql.is_supported()
    batch_size = batch_size or (STAGED_BATCH_SIZE if staged else BATCH_SIZE)

    def flush(batch: list[ImportRow]) -> bool:
        with transaction.atomic():
            if shop.pk is None:
                shop.save()
                result.shop_created = True
            if staged:
                created = result.created
                written = _batch_write_staged(shop=shop, rows=batch, result=result)
                statistics.loaded(result.created - created)
                return written
            return _batch_write(shop=shop, rows=batch, seen_customers=seen_customers, result=result)

    if staged:
        _stage_create()
        statistics = bulk_sql.StatisticsKeeper(
            STATISTICS_MODELS, rows=Order.objects.filter(shop=shop).count() if shop.pk else 0)
    batch: list[ImportRow] = []
    for row in _rows(itertools.chain(ahead, numbered), shop=shop, result=result):
        batch.append(row)
        if len(batch) >= batch_size:
            written |= flush(batch)
            batch = []
    if batch:
        written |= flush(batch)
    if staged:
        _stage_drop()  # after a failure the next import's ``_stage_create`` drops them
    if written:
        if staged:
            with transaction.atomic():
                bulk_sql.statistics_refresh(STATISTICS_MODELS)
                bulk_sql.customers_first_order_refresh(shop=shop)
        else:
            commerce.customers_first_order_refresh_all(shop=shop)
    if shop.pk is None:
        result.shop = None
    return result

"""Import order history from a CSV (``import_orders``): stores migrating from another platform, or
a store analysed before it is connected.

Columns: ``order_id, customer_id, email, processed_at, total, currency``; optional ``cost`` (the
order's product cost), ``refunded`` (amount refunded) and ``product`` (a product name); other
columns are ignored.  Rows become commerce records written by ``commerce.services`` upserts
(customers, products, orders with their line and refund), in batches, each batch one transaction.

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
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Count, Sum

from analytics.models import ImportedOrderCost
from analytics.services.base import shop_zone
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
        return zlib.crc32(repr(values).encode())


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
    batch_size: int = BATCH_SIZE,
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

    def flush(batch: list[ImportRow]) -> bool:
        with transaction.atomic():
            if shop.pk is None:
                shop.save()
                result.shop_created = True
            return _batch_write(shop=shop, rows=batch, seen_customers=seen_customers, result=result)

    batch: list[ImportRow] = []
    for row in _rows(itertools.chain(ahead, numbered), shop=shop, result=result):
        batch.append(row)
        if len(batch) >= batch_size:
            written |= flush(batch)
            batch = []
    if batch:
        written |= flush(batch)
    if written:
        commerce.customers_first_order_refresh_all(shop=shop)
    if shop.pk is None:
        result.shop = None
    return result

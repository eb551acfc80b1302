"""Deterministic seeded store generator: catalogue, customers with real repeat behaviour, orders.

Purchase process (BG/NBD-like, simplified):
* ~90 % of customers are buyers; each buyer's first order is their acquisition time (a growing
  store: acquisitions get denser towards ``now``; seasonal peaks around BFCM, Valentine's and
  Mother's Day);
* a minority (~36 %) are "repeaters" with a log-normal purchase propensity scaled by tenure; the
  extra orders are spread over repeaters in proportion to it, so most buyers buy once and a
  loyal few buy very often;
* a repeater either stays alive until ``now`` or churns at a random point after joining; their
  repeat orders fall between the first order and that point.

Everything derives from ``derived_rng(seed, ...)`` streams keyed by record index, so the same
seed yields identical data (ids and timestamps included) and any single order can be rebuilt
on its own; that is what lets :meth:`StoreGenerator.iter_orders` stream millions of orders.
"""

from __future__ import annotations

import functools
import math
import random
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from . import seeddata as sd
from .accounting import (
    IdAllocator,
    apply_discount,
    apply_tax,
    build_refund,
    default_tax_rate,
    free_shipping_threshold,
    fx,
    remaining_lines,
    shipping_price,
)
from .common import DEFAULT_ANCHOR, ZERO, derived_rng, q2
from .model import (
    ID_BASE,
    Address,
    AppliedDiscount,
    Consent,
    Customer,
    DiscountCode,
    LineItem,
    Order,
    Product,
    Variant,
)

DAY = 86_400


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """What to generate.  ``now`` is the anchor: all history lies in the ``months`` before it."""

    seed: int = 0
    customers: int = 2000
    orders: int = 8000
    products: int = 70
    currency: str = "USD"
    now: datetime = DEFAULT_ANCHOR
    months: int = 24
    tax_rate: Decimal | None = None
    locales: tuple[tuple[str, float], ...] = (("en", 0.7), ("he", 0.2), ("fa", 0.1))
    guest_order_rate: float = 0.02


@dataclass(frozen=True, slots=True)
class MerchantCode:
    code: str
    kind: str  # percentage, fixed_amount
    value: Decimal
    window: tuple[tuple[int, int], tuple[int, int]] | None = None  # ((month, day), (month, day))
    minimum: Decimal = ZERO
    vip_only: bool = False


def _merchant_codes(currency: str) -> tuple[MerchantCode, ...]:
    rate = fx(currency)
    return (
        MerchantCode("WELCOME10", "percentage", Decimal("10")),
        MerchantCode("THANKYOU5", "percentage", Decimal("5")),
        MerchantCode("SAVE10", "fixed_amount", q2(Decimal("10") * rate), None,
                     q2(Decimal("50") * rate)),
        MerchantCode("SPRING15", "percentage", Decimal("15"), ((3, 15), (5, 15))),
        MerchantCode("BFCM25", "percentage", Decimal("25"), ((11, 20), (12, 2))),
        MerchantCode("VIP20", "percentage", Decimal("20"), vip_only=True),
    )


def _in_window(day: date, window: tuple[tuple[int, int], tuple[int, int]] | None) -> bool:
    if window is None:
        return True
    return window[0] <= (day.month, day.day) <= window[1]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_PLACE_TABLES: dict[str, tuple[list[sd.Place], list[float]]] = {
    locale: ([p for p, _ in table], list(accumulate(w for _, w in table)))
    for locale, table in sd.PLACES.items()
}
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


@functools.cache
def _zip_parts(pattern: str) -> tuple[tuple[str, int], ...]:
    """``"M5V #@#"`` -> ``(("M5V ", 0), ("#", 1), ("@", 1), ("#", 1))``: runs of digits or
    letters to draw, literal text kept."""
    return tuple((text if kind == "=" else kind, len(text)) for kind, text in (
        (m.lastgroup or "=", m.group()) for m in re.finditer(r"(?P<d>#+)|(?P<a>@)|[^#@]+", pattern)))


def _postcode(rng: random.Random, pattern: str) -> str:
    out = []
    for part, size in _zip_parts(pattern):
        if part == "d":
            out.append(f"{rng.randrange(10 ** size):0{size}d}")
        elif part == "a":
            out.append(rng.choice(_LETTERS))
        else:
            out.append(part)
    return "".join(out)


def address_id(customer_id: int) -> int:
    """The default address's id follows the customer's (unique per shop, stable per seed)."""
    return ID_BASE["MailingAddress"] + customer_id - ID_BASE["Customer"]


def make_address(rng: random.Random, locale: str, ident: int, first_name: str | None,
                 last_name: str | None) -> Address:
    """A plausible address for a customer of ``locale`` (see ``seeddata.PLACES``)."""
    places, cum = _PLACE_TABLES.get(locale) or _PLACE_TABLES["en"]
    place = rng.choices(places, cum_weights=cum)[0]
    country = place.country_code
    street = rng.choice(sd.STREETS[country])
    number = rng.randint(1, 480)
    if country == "DE":
        line1 = f"{street} {number}"
    elif country == "IR":
        line1 = f"No. {number}, {street}"
    else:
        line1 = f"{number} {street}"
    line2 = None
    if country != "DE" and rng.random() < 0.3:
        line2 = f"{'Flat' if country == 'GB' else 'Apt'} {rng.randint(1, 60)}"
    postcode = _postcode(rng, place.zip_format)
    province = place.province_code
    return Address(
        id=ident, first_name=first_name, last_name=last_name, address1=line1, address2=line2,
        city=place.city, province=sd.PROVINCE_NAMES.get((country, province)) if province else None,
        province_code=province, country=sd.COUNTRY_NAMES[country], country_code=country,
        zip=postcode,
        latitude=round(place.latitude + rng.uniform(-0.02, 0.02), 6),
        longitude=round(place.longitude + rng.uniform(-0.02, 0.02), 6),
    )


def _price(value: float, rate: Decimal, ending: Decimal) -> Decimal:
    whole = max(1, int(Decimal(str(value)) * rate))
    return q2(Decimal(whole) + ending)


class StoreGenerator:
    """Builds a store from a :class:`StoreSpec`.

    ``products`` and ``customers()`` are materialised; orders come from :meth:`iter_orders` in id
    (= creation time) order.  ``customer_by_id`` rebuilds one customer on demand.
    """

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        self.now = spec.now.replace(microsecond=0)
        self.start = self.now - timedelta(days=round(spec.months * 30.44))
        self.span = int((self.now - self.start).total_seconds())
        self._start_ts = self.start.timestamp()
        self.currency = spec.currency
        self.fx = fx(spec.currency)
        self.tax_rate = spec.tax_rate if spec.tax_rate is not None else default_tax_rate(
            spec.currency)
        self.codes = _merchant_codes(spec.currency)
        self._code_by_name = {c.code: c for c in self.codes}
        self.products: list[Product] = self._make_products()
        self._variants = {v.id: v for p in self.products for v in p.variants}
        self._sellable = [p for p in self.products if p.status != "DRAFT"]
        ranks = list(range(len(self._sellable)))
        derived_rng(spec.seed, "popularity").shuffle(ranks)
        self._cum_popularity = list(accumulate(1 / (r + 1) ** 0.9 for r in ranks))
        self._plan()

    # --- catalogue ---------------------------------------------------------------------------

    def _make_products(self) -> list[Product]:
        rng = derived_rng(self.spec.seed, "catalog")
        combos = [(t, line) for t in sd.PRODUCT_TYPES for line in sd.PRODUCT_LINES]
        rng.shuffle(combos)
        picked = []
        for n in range(self.spec.products):
            ptype, line = combos[n % len(combos)]
            picked.append((ptype, line, n // len(combos)))
        drafts: list[tuple[float, Product]] = []
        for ptype, line, edition in picked:
            launched = rng.random() < 0.2
            if launched:
                created = self.start + timedelta(seconds=rng.uniform(0, self.span * 0.9))
            else:
                created = self.start - timedelta(days=rng.uniform(30, 400))
            created = created.replace(microsecond=0)
            status = "ACTIVE"
            roll = rng.random()
            if roll < 0.04:
                status = "ARCHIVED"
            elif roll < 0.07:
                status = "DRAFT"
                created = self.now - timedelta(days=rng.uniform(2, 40))
                created = created.replace(microsecond=0)
            if status == "ARCHIVED":
                life = (self.now - created).total_seconds()
                updated = created + timedelta(seconds=int(life * rng.uniform(0.5, 0.95)))
            else:
                updated = created + timedelta(
                    seconds=int((self.now - created).total_seconds() * rng.random()))
            suffix = f" {'I' * (edition + 1)}" if edition else ""
            title = f"{line[0]} {ptype.name}{suffix}"
            base = rng.uniform(*ptype.price_range)
            ending = rng.choice((Decimal("0"), Decimal("0.5"), Decimal("0.9")))
            cost_ratio = rng.uniform(*ptype.cost_ratio)
            tags = sorted({*ptype.tags, *rng.sample(("vegan", "new", "cruelty-free"), 1)})
            product = Product(
                id=0, title=title, handle=_slug(title), product_type=ptype.name,
                vendor=rng.choice(sd.VENDORS), tags=tags, status=status, created_at=created,
                updated_at=updated, category_id=ptype.category_id,
                category_name=ptype.category_name,
                category_full_name=ptype.category_full_name,
                description_html=f"<p>{line[0]} {ptype.name.lower()} from our "
                                 f"{ptype.tags[0]} range.</p>",
                variants=[], published_at=None if status == "DRAFT" else created,
            )
            sizes = ptype.sizes or ("Default Title",)
            for pos, size in enumerate(sizes):
                price = _price(base * (1, 1.6, 2.5)[pos], self.fx, ending)
                sku = f"{ptype.code}-{line[1]}" + (
                    f"-{size.replace(' ', '').upper()}" if ptype.sizes else "")
                if edition:
                    sku += f"-E{edition + 1}"
                product.variants.append(Variant(
                    id=0, product_id=0, title=size, sku=sku, price=price,
                    unit_cost=q2(price * Decimal(str(round(cost_ratio, 3)))),
                    inventory_item_id=0, position=pos + 1, created_at=created,
                    updated_at=created, inventory_quantity=rng.randint(0, 400),
                ))
            drafts.append((created.timestamp(), product))
        drafts.sort(key=lambda d: d[0])
        ids = IdAllocator()
        products = []
        for _, product in drafts:
            product.id = ids.next("Product")
            for v in product.variants:
                v.id = ids.next("ProductVariant")
                v.product_id = product.id
                v.inventory_item_id = ids.next("InventoryItem")
            products.append(product)
        products.sort(key=lambda p: p.id)
        return products

    # --- plan: who buys when -----------------------------------------------------------------

    def _season(self, t: float) -> float:
        day = datetime.fromtimestamp(self._start_ts + t, UTC).date()
        md = (day.month, day.day)
        if (11, 15) <= md <= (12, 20):
            return 1.7
        if (2, 1) <= md <= (2, 14) or (5, 1) <= md <= (5, 12):
            return 1.3
        return 1.0

    def _sample_time(self, r: random.Random, lo: float, hi: float, trend: bool) -> int:
        t = lo
        for _ in range(12):
            u = r.random()
            if trend and r.random() < 0.55:
                u = math.sqrt(u)
            t = lo + (hi - lo) * u
            if r.random() * 1.7 <= self._season(t):
                break
        return int(t)

    def _plan(self) -> None:
        spec = self.spec
        n = spec.customers
        span = self.span
        first = array("q", bytes(8 * n))
        created = array("q", bytes(8 * n))
        weight = array("d", bytes(8 * n))
        buyer = bytearray(n)
        for i in range(n):
            r = derived_rng(spec.seed, "cust", i)
            buyer[i] = r.random() < 0.9
            t0 = self._sample_time(r, 0, span - 3600, trend=True)
            first[i] = t0
            if r.random() < 0.36:
                weight[i] = min(6.0, r.lognormvariate(0, 0.9)) * max(0.05, (span - t0) / span)
            if buyer[i] and r.random() < 0.75:
                created[i] = t0 - r.randint(60, 1800)
            elif buyer[i]:
                created[i] = t0 - r.randint(DAY, 120 * DAY)
            else:
                created[i] = t0
        plan_rng = derived_rng(spec.seed, "plan")
        n_guest = round(spec.orders * spec.guest_order_rate) if spec.orders >= 50 else 0
        if n == 0:
            n_guest = spec.orders
        customer_orders = spec.orders - n_guest
        buyers = [i for i in range(n) if buyer[i]]
        if len(buyers) > customer_orders:
            keep = set(plan_rng.sample(buyers, customer_orders))
            for i in buyers:
                if i not in keep:
                    buyer[i] = False
            buyers = [i for i in buyers if i in keep]
        counts = array("l", bytes(array("l").itemsize * n))
        for i in buyers:
            counts[i] = 1
        extras = customer_orders - len(buyers)
        if extras > 0 and buyers:
            weights = [weight[i] for i in buyers]
            if sum(weights) <= 0:
                weights = [1.0] * len(buyers)
            for i in plan_rng.choices(buyers, cum_weights=list(accumulate(weights)), k=extras):
                counts[i] += 1
        # schedule: one int per order, time << 32 | entry, sorted => id order
        ent_cust = array("q")
        ent_seq = array("l")
        keys: list[int] = []
        last = array("q", bytes(8 * n))
        for i in buyers:
            k = counts[i]
            t0 = first[i]
            times = [t0]
            if k > 1:
                r = derived_rng(spec.seed, "times", i)
                if r.random() < 0.6:
                    end = span - 60
                else:
                    end = int(t0 + (span - t0) * r.uniform(0.25, 0.95))
                end = max(end, min(span - 60, t0 + 2 * 3600 * k))
                times += sorted(self._sample_time(r, t0 + 3600, end, trend=False)
                                for _ in range(k - 1))
            for seq, t in enumerate(times):
                keys.append(t << 32 | len(ent_cust))
                ent_cust.append(i)
                ent_seq.append(seq)
            last[i] = times[-1]
        guest_rng = derived_rng(spec.seed, "guests")
        for g in range(n_guest):
            t = self._sample_time(guest_rng, 0, span - 60, trend=True)
            keys.append(t << 32 | len(ent_cust))
            ent_cust.append(-1)
            ent_seq.append(g)
        keys.sort()
        self._keys = keys
        self._ent_cust = ent_cust
        self._ent_seq = ent_seq
        self._counts = counts
        self._last = last
        self._buyer = buyer
        self._created = created
        # customer ids follow account creation time
        order_of = sorted(range(n), key=lambda i: (created[i], i))
        self._cust_id = array("q", bytes(8 * n))
        for rank, i in enumerate(order_of):
            self._cust_id[i] = ID_BASE["Customer"] + rank + 1
        self._index_of_id = {ID_BASE["Customer"] + rank + 1: i for rank, i in enumerate(order_of)}

    # --- customers ---------------------------------------------------------------------------

    def _at(self, t: float) -> datetime:
        return self.start + timedelta(seconds=int(t))

    def customer(self, i: int) -> Customer:
        """Rebuild customer ``i`` (plan index) from its own random stream."""
        spec = self.spec
        r = derived_rng(spec.seed, "cust-detail", i)
        locales, weights = zip(*spec.locales, strict=True)
        locale = r.choices(locales, weights=weights)[0]
        first_native, first_latin = r.choice(sd.FIRST_NAMES.get(locale, sd.FIRST_NAMES["en"]))
        last_native, last_latin = r.choice(sd.LAST_NAMES.get(locale, sd.LAST_NAMES["en"]))
        native = locale != "en" and r.random() < 0.6
        created = self._at(self._created[i])
        if created > self.now:
            created = self.now
        k = self._counts[i]
        email = None
        if r.random() < 0.97:
            local = re.sub(r"[^a-z0-9.]", "", f"{first_latin}.{last_latin}".lower())
            email = f"{local}{i + 1}@{r.choice(sd.EMAIL_DOMAINS)}"
        phone = None
        if r.random() < 0.45:
            prefix, offset = sd.PHONE_PREFIX.get(locale, sd.PHONE_PREFIX["en"])
            phone = f"{prefix}{offset + i:07d}"
        life = max(1, int((self.now - created).total_seconds()))
        updated = created
        email_consent = None
        if email:
            roll = r.random()
            level = "CONFIRMED_OPT_IN" if r.random() < 0.2 else "SINGLE_OPT_IN"
            if roll < 0.45:
                email_consent = Consent("SUBSCRIBED", level, created)
            elif roll < 0.55:
                at = created + timedelta(seconds=r.randint(0, life))
                email_consent = Consent("UNSUBSCRIBED", level, at)
                updated = max(updated, at)
            else:
                email_consent = Consent("NOT_SUBSCRIBED", "SINGLE_OPT_IN", None)
        sms_consent = None
        if phone:
            roll = r.random()
            if roll < 0.30:
                sms_consent = Consent("SUBSCRIBED", "SINGLE_OPT_IN", created)
            elif roll < 0.38:
                at = created + timedelta(seconds=r.randint(0, life))
                sms_consent = Consent("UNSUBSCRIBED", "SINGLE_OPT_IN", at)
                updated = max(updated, at)
            else:
                sms_consent = Consent("NOT_SUBSCRIBED", "UNKNOWN", None)
        metafields: dict[tuple[str, str], str] = {}
        if r.random() < 0.30:
            born = date(self.now.year - r.randint(18, 70), r.randint(1, 12), r.randint(1, 28))
            metafields[("facts", "birth_date")] = born.isoformat()
        tags = sorted(r.sample(sd.CUSTOMER_TAGS, r.choice((0, 0, 1, 1, 2))))
        if k >= 8:
            tags = sorted({*tags, "vip"})
        note = r.choice(sd.CUSTOMER_NOTES) if r.random() < 0.03 else None
        state = "ENABLED" if r.random() < 0.35 else "DISABLED"
        if k:
            updated = max(updated, self._at(self._last[i] + r.randint(1, 120)))
        updated = min(updated, self.now)
        first_name = first_native if native else first_latin
        last_name = last_native if native else last_latin
        address = None
        if k or r.random() < 0.6:  # buyers gave one at checkout; some sign-ups never did
            address = make_address(r, locale, address_id(self._cust_id[i]), first_name,
                                   last_name)
        return Customer(
            id=self._cust_id[i], first_name=first_name, last_name=last_name,
            email=email, phone=phone, locale=locale, tags=tags, note=note,
            created_at=created, updated_at=max(updated, created),
            email_consent=email_consent, sms_consent=sms_consent, metafields=metafields,
            state=state, address=address,
        )

    def customers(self) -> list[Customer]:
        """All customers, in id order."""
        out = [self.customer(i) for i in range(self.spec.customers)]
        out.sort(key=lambda c: c.id)
        return out

    def customer_by_id(self, customer_id: int) -> Customer | None:
        i = self._index_of_id.get(customer_id)
        return None if i is None else self.customer(i)

    def order_counts(self) -> dict[int, int]:
        """``{customer id: number of orders}`` for buyers (handy for shape checks)."""
        return {self._cust_id[i]: c for i, c in enumerate(self._counts) if c}

    def merchant_discount_codes(self, ids: IdAllocator) -> list[DiscountCode]:
        out = []
        for mc in self.codes:
            out.append(DiscountCode(
                id=ids.next("DiscountCodeNode"), redeem_code_id=ids.next("DiscountRedeemCode"),
                kind="basic", code=mc.code, title=mc.code, starts_at=self.start - timedelta(
                    days=30), ends_at=None, usage_limit=None,
                applies_once_per_customer=mc.code == "WELCOME10",
                created_at=self.start - timedelta(days=30),
                input={"kind": mc.kind, "value": str(mc.value)}, created_by_app=False,
            ))
        return out

    # --- orders ------------------------------------------------------------------------------

    @property
    def order_count(self) -> int:
        return len(self._keys)

    def iter_orders(self, ids: IdAllocator | None = None) -> Iterator[Order]:
        """Orders in id order.  ``ids`` (fresh if omitted) allocates line/refund ids."""
        for order, _ in self.iter_orders_with_customers(ids):
            yield order

    def iter_orders_with_customers(self, ids: IdAllocator | None = None
                                   ) -> Iterator[tuple[Order, Customer | None]]:
        ids = ids or IdAllocator()
        contacts: dict[int, Customer] = {}
        for j, key in enumerate(self._keys):
            entry = key & 0xFFFFFFFF
            i = self._ent_cust[entry]
            customer = None
            if i >= 0:
                customer = contacts.get(i)
                if customer is None:
                    customer = self.customer(i)
                    if self._counts[i] > 1:  # cache repeaters only; one-timers are seen once
                        contacts[i] = customer
            yield self._order(j, key >> 32, customer, i, self._ent_seq[entry], ids), customer

    def _pick_lines(self, rng: random.Random, t: int, ids: IdAllocator) -> list[LineItem]:
        n_lines = rng.choices((1, 2, 3, 4), weights=(55, 28, 12, 5))[0]
        at = self._at(t)
        chosen: dict[int, Product] = {}
        for _ in range(n_lines * 6):
            p = rng.choices(self._sellable, cum_weights=self._cum_popularity)[0]
            if p.id in chosen or p.created_at > at:
                continue
            if p.status == "ARCHIVED" and p.updated_at < at:
                continue
            chosen[p.id] = p
            if len(chosen) == n_lines:
                break
        if not chosen:  # very early orders: fall back to the oldest product
            oldest = min(self._sellable, key=lambda p: p.created_at)
            chosen[oldest.id] = oldest
        lines = []
        for p in chosen.values():
            variants = p.variants
            v = rng.choices(variants, weights=(3, 2, 1)[: len(variants)])[0]
            qty = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            lines.append(LineItem(
                id=ids.next("LineItem"), variant_id=v.id, product_id=p.id, title=p.title,
                variant_title=None if v.title == "Default Title" else v.title, sku=v.sku,
                vendor=p.vendor, quantity=qty, price=v.price, total_discount=ZERO, tax=ZERO,
            ))
        return lines

    def _order(self, j: int, t: int, customer: Customer | None, i: int, seq: int,
               ids: IdAllocator) -> Order:
        spec = self.spec
        r = derived_rng(spec.seed, "order", j)
        created = self._at(t)
        lines = self._pick_lines(r, t, ids)
        discount = None
        items_total = sum((li.original_total for li in lines), ZERO)
        if customer is not None and seq == 0 and r.random() < 0.22:
            discount = self._code_by_name["WELCOME10"]
        elif r.random() < 0.10:
            vip = i >= 0 and self._counts[i] >= 8
            options = [c for c in self.codes if c.code != "WELCOME10"
                       and _in_window(created.date(), c.window)
                       and (vip or not c.vip_only) and items_total >= c.minimum]
            discount = r.choice(options) if options else None
        applied: list[AppliedDiscount] = []
        if discount is not None:
            ad = AppliedDiscount(discount.code, discount.kind, discount.value, ZERO)
            apply_discount(lines, ad)
            applied.append(ad)
        apply_tax(lines, self.tax_rate)
        subtotal = sum((li.discounted_total for li in lines), ZERO)
        if subtotal >= free_shipping_threshold(self.currency):
            shipping, shipping_title = ZERO, "Free Shipping"
        elif r.random() < 0.12:
            shipping, shipping_title = shipping_price(self.currency, True), "Express"
        else:
            shipping, shipping_title = shipping_price(self.currency, False), "Standard"
        if customer is not None:
            email, locale = customer.email, customer.locale
            phone = customer.phone if r.random() < 0.5 else None
            accepts = customer.email_consent is not None and (
                customer.email_consent.state == "SUBSCRIBED")
        else:
            email = f"guest{j + 1}@example.com" if r.random() < 0.85 else None
            phone = None
            locales, weights = zip(*spec.locales, strict=True)
            locale = r.choices(locales, weights=weights)[0]
            accepts = False
        order = Order(
            id=ID_BASE["Order"] + j + 1, number=1001 + j,
            customer_id=customer.id if customer else None, email=email, phone=phone,
            created_at=created, processed_at=created, updated_at=created,
            currency=self.currency, customer_locale=locale, line_items=lines,
            shipping=shipping, shipping_title=shipping_title, tax_rate=self.tax_rate,
            discounts=applied, shipping_line_id=ids.next("ShippingLine"),
            transaction_id=ids.next("OrderTransaction"), buyer_accepts_marketing=accepts,
            tags=["wholesale"] if customer is not None and "wholesale" in customer.tags else [],
        )
        self._lifecycle(order, r, ids)
        if customer is not None:
            order.shipping_address = customer.address
        if order.shipping_address is None:  # a guest gives one at checkout
            order.shipping_address = make_address(
                r, locale or "en", ID_BASE["MailingAddress"] + 10**12 + j,
                customer.first_name if customer else None, customer.last_name if customer else None)
        return order

    def _lifecycle(self, order: Order, rng: random.Random, ids: IdAllocator) -> None:
        """Payment, cancellation, fulfilment and refunds, all at or before ``now``."""
        now = self.now
        created = order.created_at
        age = (now - created).total_seconds()
        events = [created]
        u = rng.random()
        if age < 10 * DAY and u < 0.06:
            order.payment = "pending"
        elif age >= 10 * DAY and u < 0.004:
            order.payment = "voided"
            order.cancelled_at = created + timedelta(seconds=rng.randint(3 * DAY, 7 * DAY))
            order.cancel_reason = "DECLINED"
            order.closed_at = order.cancelled_at
            events.append(order.cancelled_at)
        elif u < 0.024 and age > 2 * DAY:
            at = created + timedelta(seconds=rng.randint(1800, 2 * DAY))
            order.cancelled_at = at
            order.cancel_reason = rng.choices(
                [c for c, _ in sd.CANCEL_REASONS], weights=[w for _, w in sd.CANCEL_REASONS])[0]
            build_refund(order, ids, remaining_lines(order), order.shipping, at, None, "CANCEL")
            order.closed_at = at
            events.append(at)
        else:
            fulfil_at = created + timedelta(seconds=rng.randint(6 * 3600, 3 * DAY))
            if fulfil_at <= now:
                partial = len(order.line_items) > 1 and rng.random() < 0.01
                order.fulfillment = "PARTIALLY_FULFILLED" if partial else "FULFILLED"
                order.fulfilled_at = fulfil_at
                events.append(fulfil_at)
                if not partial:
                    order.closed_at = fulfil_at
                self._refunds(order, rng, ids, fulfil_at, events)
        order.updated_at = min(now, max(events) + timedelta(seconds=rng.randint(0, 120)))

    def _refunds(self, order: Order, r: random.Random, ids: IdAllocator, after: datetime,
                 events: list[datetime]) -> None:
        v = r.random()
        if v >= 0.067:
            return
        at = after + timedelta(seconds=r.randint(3 * DAY, 30 * DAY))
        if at > self.now:
            return
        note = r.choice(sd.REFUND_NOTES)
        if v < 0.022:
            shipping = order.shipping if r.random() < 0.5 else ZERO
            build_refund(order, ids, remaining_lines(order), shipping, at, note)
            events.append(at)
            return
        line = r.choice(order.line_items)
        build_refund(order, ids, [(line.id, r.randint(1, line.quantity))], ZERO, at, note)
        events.append(at)
        others = [li for li in remaining_lines(order) if li[0] != line.id]
        if others and r.random() < 0.15:
            again = at + timedelta(seconds=r.randint(DAY, 14 * DAY))
            if again <= self.now:
                build_refund(order, ids, [others[0]], ZERO, again, note)
                events.append(again)

"""What sending a message reads, loaded once for a whole batch of due steps.

The scheduler runs hundreds of due steps per transaction (``engine.run_due``).  Everything a
message needs besides its own row (the shopper's language, past and planned messages for the
duplicate rule and the caps, the shop's branding and the merchant's words, the points balance,
what the shopper bought, the enrolment's order) is read here for all the batch's customers in a
few queries, the first time a message of the batch asks.  A single message (the merchant's
preview) uses the same reads for its one customer, so the rules have one code path.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, Max, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from campaigns.models import Branding, EmailContent, FlowStep, Message, MessageStatus, ScheduledStep, StepStatus
from campaigns.selectors import branding_get
from commerce.models import Customer, Order, OrderLine, Product, Variant
from commerce.selectors import counted_order_q, orders_counted
from loyalty.models import Account, LedgerEntry

LANGUAGES = {"en", "he", "fa"}
# How far back a shopper's sent messages matter: the duplicate window (30 days) covers the caps'
# week (the shopper's calendar: at most 8 days back from any zone).
HISTORY_DAYS = 30
PLANNED_DAYS = 61  # the caps look ahead 60 days on the shopper's calendar
PURCHASED_LINES = 50  # the newest lines read per shopper for "what you bought"


def language_code(*candidates: str | None) -> str:
    """The first candidate locale we write in ("he-IL" -> "he"), else English."""
    for candidate in candidates:
        code = (candidate or "").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


@dataclass(frozen=True)
class Planned:
    """A pending marketing step of the shopper (an enabled flow's), as the caps see it."""

    pk: int
    action: str
    priority: int
    first_due_at: datetime | None
    due_at: datetime


@dataclass
class History:
    """One shopper's messages for the gates: marketing messages sent (channel, when), templates
    sent recently (any message), and the pending marketing steps."""

    sent: list[tuple[str, datetime]] = field(default_factory=list)
    templates: list[tuple[str, datetime]] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)

    def sent_recently(self, *, template: str, since: datetime) -> bool:
        return any(name == template and at > since for name, at in self.templates)


class SendContext:
    """The reads of one batch (``scheduled``: its due steps, loaded with their enrolment's
    customer and shop), each made once for every customer of the batch; a customer outside the
    batch (a preview) is read on its own."""

    def __init__(self, *, now: datetime, scheduled: Sequence[ScheduledStep] = ()) -> None:
        self.now = now
        self.customers: dict[int, Customer] = {item.enrolment.customer_id: item.enrolment.customer
                                               for item in scheduled}
        self.order_ids = {int(item.enrolment.context["order_id"]) for item in scheduled
                          if isinstance(item.enrolment.context, dict)
                          and str(item.enrolment.context.get("order_id") or "").isdigit()}
        self._order_locales: dict[int, str] = {}
        self._histories: dict[int, History] = {}
        self._balances: dict[int, int] = {}
        self._purchased: dict[int, list[Variant | Product]] = {}
        self._last_orders: dict[int, datetime | None] = {}
        self._orders: dict[int, Order | None] = {}
        self._brandings: dict[int, Branding] = {}
        self._contents: dict[tuple[int, int, str], EmailContent | None] = {}
        self._loaded_contents: set[int] = set()
        self.memo: dict[object, object] = {}  # per-batch memo for pure derived values (built-in copy)

    def _group(self, customer: Customer, loaded: dict) -> list[Customer]:
        """The customers to read for when ``customer`` is asked about: the batch's that are not
        loaded yet (of the same shop), or just this one."""
        if customer.pk in self.customers:
            return [other for other in self.customers.values()
                    if other.shop_id == customer.shop_id and other.pk not in loaded]
        return [customer]

    # --- the shopper ---------------------------------------------------------------------------

    def language(self, customer: Customer) -> str:
        """The shopper's language from the platform: the customer's locale, else the locale of
        their latest order (Shopify's ``customer_locale``), else the shop's, else English."""
        if (customer.locale or "").split("-")[0].lower() in LANGUAGES or customer.pk is None:
            return language_code(customer.locale, customer.shop.locale)
        if customer.pk not in self._order_locales:
            wanted = [other.pk for other in self._group(customer, self._order_locales)]
            latest = (Order.objects.filter(shop_id=customer.shop_id, customer_id=OuterRef("pk")).exclude(locale="")
                      .order_by("-processed_at").values("locale")[:1])
            found = dict(Customer.objects.filter(shop_id=customer.shop_id, pk__in=wanted)
                         .annotate(latest=Subquery(latest)).values_list("pk", "latest"))
            for pk in wanted:
                self._order_locales[pk] = found.get(pk) or ""
        return language_code(customer.locale, self._order_locales[customer.pk], customer.shop.locale)

    def history(self, customer: Customer) -> History:
        """The shopper's sent messages (last ``HISTORY_DAYS``) and pending marketing steps."""
        if customer.pk is None:
            return History()
        if customer.pk not in self._histories:
            group = self._group(customer, self._histories)
            histories = {other.pk: History() for other in group}
            since = self.now - timedelta(days=HISTORY_DAYS)
            sent = (Message.objects.filter(shop_id=customer.shop_id, customer_id__in=list(histories),
                                           status=MessageStatus.SENT, at__gt=since)
                    .values_list("customer_id", "template", "channel", "is_marketing", "at"))
            for customer_id, template, channel, is_marketing, at in sent:
                histories[customer_id].templates.append((template, at))
                if is_marketing:
                    histories[customer_id].sent.append((channel, at))
            planned = (ScheduledStep.objects.filter(shop_id=customer.shop_id,
                                                    enrolment__customer_id__in=list(histories),
                                                    status=StepStatus.PENDING, step__is_marketing=True,
                                                    step__flow__is_enabled=True,
                                                    due_at__lt=self.now + timedelta(days=PLANNED_DAYS))
                       .values_list("enrolment__customer_id", "pk", "step__action", "priority", "first_due_at",
                                    "due_at"))
            for customer_id, pk, action, priority, first_due_at, due_at in planned:
                histories[customer_id].planned.append(Planned(pk, action, priority, first_due_at, due_at))
            self._histories.update(histories)
        return self._histories[customer.pk]

    def ordered_since(self, customer: Customer, moment: datetime) -> bool:
        """Has the shopper a counted order processed after ``moment``?"""
        if customer.pk not in self._last_orders:
            group = self._group(customer, self._last_orders)
            last = dict(orders_counted(shop=customer.shop_id).filter(customer_id__in=[other.pk for other in group])
                        .values("customer_id").annotate(last=Max("processed_at")).values_list("customer_id", "last"))
            for other in group:
                self._last_orders[other.pk] = last.get(other.pk)
        last_order = self._last_orders[customer.pk]
        return last_order is not None and last_order > moment

    def balance(self, customer: Customer) -> int:
        """The points the shopper can spend now (the ledger's sum, as ``account_balance``)."""
        if customer.pk is None:
            return 0
        if customer.pk not in self._balances:
            group = self._group(customer, self._balances)
            accounts = dict(Account.objects.filter(shop_id=customer.shop_id, customer_id__in=[c.pk for c in group])
                            .values_list("pk", "customer_id"))
            moment = timezone.now()
            sums = dict(LedgerEntry.objects.filter(account_id__in=list(accounts)).values("account_id")
                        .annotate(available=Sum("points", filter=Q(available_at__lte=moment)))
                        .values_list("account_id", "available"))
            for other in group:
                self._balances[other.pk] = 0
            for account_id, customer_id in accounts.items():
                self._balances[customer_id] = sums.get(account_id) or 0
        return self._balances[customer.pk]

    def purchased(self, customer: Customer, limit: int) -> list[Variant | Product]:
        """The products the shopper bought, newest first, each once (its variant where known,
        else the product's first variant, else the product)."""
        if customer.pk is None:
            return []
        if customer.pk not in self._purchased:
            group = self._group(customer, self._purchased)
            newest = Window(RowNumber(), partition_by=[F("order__customer_id")],
                            order_by=[F("order__processed_at").desc(), F("pk").desc()])
            lines = list(OrderLine.objects.filter(counted_order_q(prefix="order__"), shop_id=customer.shop_id,
                                                  order__customer_id__in=[c.pk for c in group],
                                                  product__isnull=False)
                         .annotate(newest=newest, buyer=F("order__customer_id")).filter(newest__lte=PURCHASED_LINES)
                         .select_related("product", "variant", "variant__product")
                         .order_by("buyer", "newest"))
            without_variant = {line.product_id for line in lines
                               if line.variant_id is None and line.product_id is not None}
            first_variants: dict[int, Variant] = {}
            for variant in (Variant.objects.filter(product_id__in=without_variant).select_related("product")
                            .order_by("-pk")):
                first_variants[variant.product_id] = variant  # the lowest pk wins
            picked: dict[int, dict[int, Variant | Product]] = {other.pk: {} for other in group}
            for line in lines:
                mine = picked[line.buyer]  # type: ignore[attr-defined]
                if line.product_id is not None and line.product_id not in mine and line.product is not None:
                    mine[line.product_id] = line.variant or first_variants.get(line.product_id) or line.product
            for pk, products in picked.items():
                self._purchased[pk] = list(products.values())
        return self._purchased[customer.pk][:limit]

    # --- the enrolment -------------------------------------------------------------------------

    def order(self, customer: Customer, values: dict) -> Order | None:
        """The order the enrolment is about (order-triggered flows), with its lines."""
        order_id = values.get("order_id")
        if not order_id:
            return None
        try:
            key = int(order_id)
        except (TypeError, ValueError):
            return None
        if key not in self._orders:
            wanted = {key} | (self.order_ids - set(self._orders) if customer.pk in self.customers else set())
            shops = {other.shop_id for other in self.customers.values()} | {customer.shop_id}
            found = {order.pk: order for order in Order.objects.filter(shop_id__in=shops, pk__in=wanted)
                     .prefetch_related("lines")}
            for pk in wanted:
                self._orders[pk] = found.get(pk)
        order = self._orders[key]
        return order if order is not None and order.shop_id == customer.shop_id else None

    # --- the shop ------------------------------------------------------------------------------

    def branding(self, shop_id: int, customer: Customer) -> Branding:
        if shop_id not in self._brandings:
            self._brandings[shop_id] = branding_get(shop=customer.shop)
        return self._brandings[shop_id]

    def email_content(self, step: FlowStep, language: str) -> EmailContent | None:
        """The merchant's words for the step in the language (every language of the flow is
        read at once)."""
        flow = step.flow
        if flow.pk not in self._loaded_contents:
            for saved in EmailContent.objects.filter(shop_id=flow.shop_id, flow_id=flow.pk):
                self._contents[(flow.pk, saved.position, saved.language)] = saved
            self._loaded_contents.add(flow.pk)
        return self._contents.get((flow.pk, step.position, language))

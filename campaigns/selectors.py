"""Campaign reads: the shop's flows and what to offer."""

from collections.abc import Sequence
from datetime import datetime

from django.db.models import Count, F, Prefetch

from campaigns.models import Branding, Channel, EmailContent, Flow, FlowStep, Message, MessageStatus
from commerce.models import ConsentChange, Customer, Order, OrderLine, Shop, Variant
from commerce.selectors import counted_order_q


def flow_list(*, shop: Shop, key: str | None = None) -> list[Flow]:
    """The shop's flows, each with the steps of its current version in ``current_steps``."""
    current = FlowStep.objects.filter(version=F("flow__version")).order_by("position")
    flows = Flow.objects.filter(shop=shop).order_by("key").prefetch_related(
        Prefetch("steps", queryset=current, to_attr="current_steps"))
    if key is not None:
        flows = flows.filter(key=key)
    return list(flows)


def shop_customer(*, shop: Shop, customer_id: int) -> Customer | None:
    return Customer.objects.filter(shop=shop, pk=customer_id).select_related("shop").first()


def consent_history(*, customer: Customer) -> list[ConsentChange]:
    """The shopper's consent changes (the ledger), newest first."""
    return list(ConsentChange.objects.filter(shop_id=customer.shop_id, customer=customer).order_by("-at", "-pk"))


def co_purchased(*, order: Order, limit: int = 3) -> Sequence[Variant]:
    """Post-purchase upsell: what the shop's other customers bought together with this order's
    products (most orders together first, then the merchant's margin), not already in the order.
    Counted orders only: test and refunded baskets say nothing about what goes together."""
    bought = [pid for pid in order.lines.values_list("product_id", flat=True) if pid]
    together = (
        OrderLine.objects.filter(counted_order_q(prefix="order__"), shop_id=order.shop_id,
                                 order__lines__product_id__in=bought, product__isnull=False)
        .exclude(product_id__in=bought)
        .values("product_id")
        .annotate(orders=Count("order", distinct=True))
        .order_by("-orders", "product_id")[: limit * 3]
    )
    ranked = [row["product_id"] for row in together]
    variants = {
        v.product_id: v
        for v in Variant.objects.filter(shop_id=order.shop_id, product_id__in=ranked, product__status="active")
        .select_related("product").annotate(margin=F("price") - F("unit_cost")).order_by("product_id", "-margin")
    }
    return [variants[pid] for pid in ranked if pid in variants][:limit]


def shopper_order(*, shop: Shop, platform_id: str, customer_platform_id: str) -> Order | None:
    """The order, if it belongs to the logged-in shopper (nobody else may see its offers)."""
    if not platform_id or not customer_platform_id:
        return None
    return Order.objects.filter(shop=shop, platform_id=platform_id,
                                customer__platform_id=customer_platform_id).first()


def emails_sent_count(*, shop: Shop, since: datetime) -> int:
    """Flow emails sent since ``since``: what the plan's monthly email limit counts."""
    return Message.objects.filter(shop=shop, channel=Channel.EMAIL, status=MessageStatus.SENT, at__gte=since).count()


def branding_get(*, shop: Shop) -> Branding:
    """The shop's email branding; the defaults, unsaved, for a shop that has not set any."""
    return Branding.objects.filter(shop=shop).first() or Branding(shop=shop)


def email_content_get(*, shop: Shop, flow: Flow, position: int, language: str) -> EmailContent | None:
    """The merchant's words for one email step in one language, if they wrote any."""
    return EmailContent.objects.filter(shop=shop, flow=flow, position=position, language=language).first()

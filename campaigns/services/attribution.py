"""Which flow gets the credit for an order, and what each flow returned.

An order is credited to at most one flow (``Attribution`` is unique per order): the flow whose
discount code it used; otherwise the flow of the latest message sent to the customer in the
``ATTRIBUTION_WINDOW`` before the order.  Transactional messages (order details) earn no credit.
"""

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum

from campaigns.models import Attribution, Flow, Message, MessageEvent, MessageStatus
from commerce.models import Order, Shop

ATTRIBUTION_WINDOW = timedelta(days=5)


def order_attribute(*, order: Order) -> Attribution | None:
    if order.customer_id is None or order.processed_at is None:
        return None
    codes = [code.upper() for code in order.discount_codes or ()]
    sent = Message.objects.filter(shop_id=order.shop_id, customer_id=order.customer_id, status=MessageStatus.SENT,
                                  is_marketing=True, flow__isnull=False)
    message = sent.filter(discount_code__in=codes).order_by("-at").first() if codes else None
    via = "code"
    if message is None:
        message = sent.filter(at__lte=order.processed_at, at__gt=order.processed_at - ATTRIBUTION_WINDOW).order_by(
            "-at").first()
        via = "window"
    if message is None or message.flow_id is None:
        return None
    try:
        with transaction.atomic():
            return Attribution.objects.create(shop_id=order.shop_id, order=order, flow_id=message.flow_id,
                                              message=message, via=via, revenue=order.total - order.total_refunded,
                                              discount=order.total_discounts, currency=order.currency)
    except IntegrityError:
        return None  # already credited


def flow_stats(*, shop: Shop) -> list[dict[str, Any]]:
    """Per flow: messages sent and skipped, orders and revenue attributed, discount cost."""
    sent_counts = (
        Message.objects.filter(shop=shop, flow__isnull=False)
        .values("flow")
        .annotate(sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
                  skipped=Count("pk", filter=Q(status=MessageStatus.SKIPPED)))
    )
    messages: dict[int, Any] = {row["flow"]: row for row in sent_counts}
    tracked: dict[tuple[int, str], int] = {
        (row["message__flow"], row["event_type"]): row["n"]
        for row in MessageEvent.objects.filter(shop=shop, message__flow__isnull=False)
        .values("message__flow", "event_type").annotate(n=Count("pk"))
    }
    credited_rows = (
        Attribution.objects.filter(shop=shop).values("flow")
        .annotate(orders=Count("pk"), revenue=Sum("revenue"), discount=Sum("discount"))
    )
    credited: dict[int, Any] = {row["flow"]: row for row in credited_rows}
    return [
        {"flow": flow.key, "name": flow.name, "enabled": flow.is_enabled,
         "sent": messages.get(flow.pk, {}).get("sent", 0), "skipped": messages.get(flow.pk, {}).get("skipped", 0),
         "delivered": tracked.get((flow.pk, "delivered"), 0), "opened": tracked.get((flow.pk, "opened"), 0),
         "clicked": tracked.get((flow.pk, "clicked"), 0), "bounced": tracked.get((flow.pk, "bounced"), 0),
         "orders": credited.get(flow.pk, {}).get("orders", 0),
         "revenue": str(credited.get(flow.pk, {}).get("revenue") or 0),
         "discount_cost": str(credited.get(flow.pk, {}).get("discount") or 0), "currency": shop.currency}
        for flow in Flow.objects.filter(shop=shop).order_by("key")
    ]

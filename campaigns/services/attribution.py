"""Which flow gets the credit for an order, and what each flow returned.

An order is credited to at most one flow (``Attribution`` is unique per order): the flow whose
discount code it used; otherwise the flow of the latest message sent to the customer in the
``ATTRIBUTION_WINDOW`` before the order.  Transactional messages (order details) earn no credit.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum

from campaigns.models import (
    Attribution,
    Flow,
    Message,
    MessageEvent,
    MessageStatus,
    Reason,
    ScheduledStep,
    StepStatus,
)
from commerce.models import Order, Shop

ATTRIBUTION_WINDOW = timedelta(days=5)


def orders_attribute(*, shop_id: int, order_ids: Iterable[int]) -> int:
    """``order_attribute`` for many of one shop's orders in three statements, whatever their
    number: the orders, the messages that could earn their credit (by code, or sent in the window
    before one of them), one insert (orders credited already are skipped).  Returns how many
    orders had a flow to credit."""
    orders = list(Order.objects.filter(shop_id=shop_id, pk__in=set(order_ids), customer__isnull=False,
                                       processed_at__isnull=False))
    if not orders:
        return 0
    codes = {order.pk: {code.upper() for code in order.discount_codes or ()} for order in orders}
    all_codes = set().union(*codes.values())
    times = [order.processed_at for order in orders if order.processed_at is not None]
    in_window = Q(at__lte=max(times), at__gt=min(times) - ATTRIBUTION_WINDOW)
    sent = (Message.objects.filter(shop_id=shop_id, customer_id__in={order.customer_id for order in orders},
                                   status=MessageStatus.SENT, is_marketing=True, flow__isnull=False)
            .filter(in_window | Q(discount_code__in=all_codes) if all_codes else in_window)
            .only("pk", "customer_id", "flow_id", "discount_code", "at").order_by("-at", "-pk"))
    by_customer: dict[int, list[Message]] = {}
    message: Message | None
    for candidate in sent:
        by_customer.setdefault(candidate.customer_id, []).append(candidate)
    credits = []
    for order in orders:
        candidates = by_customer.get(order.customer_id or 0, [])
        at = order.processed_at
        message = next((m for m in candidates if m.discount_code in codes[order.pk]), None)
        via = "code"
        if message is None and at is not None:
            via, message = "window", next((m for m in candidates if at - ATTRIBUTION_WINDOW < m.at <= at), None)
        if message is not None and message.flow_id is not None:
            credits.append(Attribution(shop_id=shop_id, order=order, flow_id=message.flow_id, message=message,
                                       via=via, revenue=order.total - order.total_refunded,
                                       discount=order.total_discounts, currency=order.currency))
    if credits:
        Attribution.objects.bulk_create(credits, ignore_conflicts=True)  # an order credited already stays so
    return len(credits)


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


def _step_numbers(shop: Shop) -> dict[int, dict[str, Any]]:
    """Per flow, from its scheduled steps: skipped (with reasons), exited, deferred (waiting for
    room or the morning, with reasons; ``deferrals`` counts every move), and waiting (not due yet)."""
    numbers: dict[int, dict[str, Any]] = {}
    rows = (ScheduledStep.objects.filter(shop=shop).values("step__flow", "status", "reason_code")
            .annotate(n=Count("pk"), ever_deferred=Count("pk", filter=Q(deferrals__gt=0)), moves=Sum("deferrals")))
    for row in rows:
        flow = numbers.setdefault(row["step__flow"], {
            "scheduled": 0, "exited": 0, "deferred": 0, "waiting": 0, "ever_deferred": 0, "deferrals": 0,
            "skipped_reasons": {}, "deferred_reasons": {}})
        code, n = row["reason_code"] or "other", row["n"]
        flow["scheduled"] += n
        flow["ever_deferred"] += row["ever_deferred"]
        flow["deferrals"] += row["moves"] or 0
        if row["status"] == StepStatus.PENDING:
            if row["ever_deferred"]:
                flow["deferred"] += row["ever_deferred"]
                flow["deferred_reasons"][code] = flow["deferred_reasons"].get(code, 0) + row["ever_deferred"]
            flow["waiting"] += n - row["ever_deferred"]
        elif row["status"] == StepStatus.SKIPPED and code == Reason.EXITED:
            flow["exited"] += n
        elif row["status"] == StepStatus.SKIPPED:
            flow["skipped_reasons"][code] = flow["skipped_reasons"].get(code, 0) + n
    return numbers


def flow_stats(*, shop: Shop) -> list[dict[str, Any]]:
    """Per flow: messages sent and skipped (with reasons), deferred now (with reasons), exited and
    waiting, orders and revenue attributed, discount cost.  Every scheduled step is in exactly one
    of sent, skipped, exited, deferred, waiting: nothing disappears silently."""
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
    steps = _step_numbers(shop)
    empty = {"scheduled": 0, "exited": 0, "deferred": 0, "waiting": 0, "ever_deferred": 0, "deferrals": 0,
             "skipped_reasons": {}, "deferred_reasons": {}}
    return [
        {"flow": flow.key, "name": flow.name, "enabled": flow.is_enabled,
         "sent": messages.get(flow.pk, {}).get("sent", 0), "skipped": messages.get(flow.pk, {}).get("skipped", 0),
         **steps.get(flow.pk, empty),
         "delivered": tracked.get((flow.pk, "delivered"), 0), "opened": tracked.get((flow.pk, "opened"), 0),
         "clicked": tracked.get((flow.pk, "clicked"), 0), "bounced": tracked.get((flow.pk, "bounced"), 0),
         "orders": credited.get(flow.pk, {}).get("orders", 0),
         "revenue": str(credited.get(flow.pk, {}).get("revenue") or 0),
         "discount_cost": str(credited.get(flow.pk, {}).get("discount") or 0), "currency": shop.currency}
        for flow in Flow.objects.filter(shop=shop).order_by("key")
    ]

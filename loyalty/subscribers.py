"""Domain events -> loyalty services.  Thin: reload the rows the event names, call a service."""

from commerce import events
from commerce.models import Customer, DomainEvent, Order, Refund
from loyalty.services import earning, ledger, redemption, referrals, tiers


def on_order_paid(event: DomainEvent) -> None:
    order = Order.objects.filter(shop_id=event.shop_id, pk=event.payload.get("order_id")).select_related(
        "shop", "customer"
    ).first()
    if order is None:
        return
    earning.order_points_award(order=order)
    redemption.redemptions_mark_used(order=order)
    if event.payload.get("is_first_order"):
        referrals.referral_order_paid(order=order)
    _tier_review(order)


def _tier_review(order: Order) -> None:
    account = earning.order_account(order=order)
    if account is not None:
        tiers.tier_evaluate(account=account)


def on_order_refunded(event: DomainEvent) -> None:
    refund = Refund.objects.filter(shop_id=event.shop_id, pk=event.payload.get("refund_id")).select_related(
        "order__shop"
    ).first()
    if refund is not None:
        earning.refund_points_reverse(refund=refund)
        _tier_review(refund.order)


def on_order_cancelled(event: DomainEvent) -> None:
    order = Order.objects.filter(shop_id=event.shop_id, pk=event.payload.get("order_id")).select_related("shop").first()
    if order is not None:
        earning.cancel_points_reverse(order=order)
        _tier_review(order)


def on_customer_created(event: DomainEvent) -> None:
    customer = Customer.objects.filter(shop_id=event.shop_id, pk=event.payload.get("customer_id")).select_related(
        "shop"
    ).first()
    if customer is not None and customer.email:
        ledger.guest_points_claim(customer=customer)


def register() -> None:
    events.subscribe(DomainEvent.Name.ORDER_PAID, on_order_paid)
    events.subscribe(DomainEvent.Name.ORDER_REFUNDED, on_order_refunded)
    events.subscribe(DomainEvent.Name.ORDER_CANCELLED, on_order_cancelled)
    events.subscribe(DomainEvent.Name.CUSTOMER_CREATED, on_customer_created)

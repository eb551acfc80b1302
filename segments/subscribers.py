"""Domain events -> segment refresh of the one customer the order belongs to."""

from commerce import events
from commerce.models import Customer, DomainEvent
from segments.services import customer_refresh, shop_recompute


def on_order_changed(event: DomainEvent) -> None:
    """Paid, refunded or cancelled: the customer's figures and memberships change (a recompute,
    so running twice is harmless)."""
    customer_id = (event.payload or {}).get("customer_id")
    if not customer_id:
        return
    customer = Customer.objects.filter(shop_id=event.shop_id, pk=customer_id).select_related("shop").first()
    if customer is not None:
        customer_refresh(customer=customer)


def on_history_synced(event: DomainEvent) -> None:
    """The shop's history is in: score and segment every customer now, not at the daily job."""
    shop_recompute(shop=event.shop)


def register() -> None:
    events.subscribe(DomainEvent.Name.ORDER_PAID, on_order_changed)
    events.subscribe(DomainEvent.Name.ORDER_REFUNDED, on_order_changed)
    events.subscribe(DomainEvent.Name.ORDER_CANCELLED, on_order_changed)
    events.subscribe(DomainEvent.Name.HISTORY_SYNCED, on_history_synced)

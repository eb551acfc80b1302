"""Domain events -> segment refresh of the customers the orders belong to, a run at a time."""

from collections.abc import Sequence

from commerce import events
from commerce.models import DomainEvent
from segments.services import customers_refresh, shop_recompute


def on_order_changed(batch: Sequence[DomainEvent]) -> None:
    """Paid, refunded or cancelled: the customers' figures and memberships change.  The outbox
    hands over a run of one shop's events (``subscribe_batch``); their customers are refreshed
    together, in the same dozen statements as one (a recompute, so running twice is harmless).
    The name is the one failed deliveries were recorded under before runs: their retries find it."""
    if not batch:
        return
    customer_ids = {int(customer_id) for event in batch if (customer_id := (event.payload or {}).get("customer_id"))}
    if customer_ids:
        customers_refresh(shop=batch[0].shop, customer_ids=customer_ids)


def on_history_synced(event: DomainEvent) -> None:
    """The shop's history is in: score and segment every customer now, not at the daily job."""
    shop_recompute(shop=event.shop)


def register() -> None:
    for name in (DomainEvent.Name.ORDER_PAID, DomainEvent.Name.ORDER_REFUNDED, DomainEvent.Name.ORDER_CANCELLED):
        events.subscribe_batch(name, on_order_changed)
    events.subscribe(DomainEvent.Name.HISTORY_SYNCED, on_history_synced)

"""Domain events -> attribution and flow enrolments, a run of one shop's events at a time
(``subscribe_batch``).  The functions keep the names failed deliveries were recorded under
before runs existed, so their retries find them."""

from collections.abc import Sequence

from campaigns.services import attribution, flows
from commerce import events
from commerce.models import DomainEvent

EVENT_TRIGGERS = tuple(flows.EVENT_TRIGGERS)  # the events a flow can start on (one list, in flows)


def on_event(batch: Sequence[DomainEvent]) -> None:
    """Enrol each event's customer in the flows the event starts (read once per run)."""
    flows.enrol_from_events(events=batch)


def on_order_paid(batch: Sequence[DomainEvent]) -> None:
    """Credit the flow that brought each order back: three statements for the whole run."""
    order_ids = [order_id for event in batch if (order_id := (event.payload or {}).get("order_id"))]
    if order_ids:
        attribution.orders_attribute(shop_id=batch[0].shop_id, order_ids=order_ids)


def register() -> None:
    events.subscribe_batch(DomainEvent.Name.ORDER_PAID, on_order_paid)  # before enrolling: credit the last flow
    for name in EVENT_TRIGGERS:
        events.subscribe_batch(name, on_event)

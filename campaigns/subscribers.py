"""Domain events -> flow enrolments."""

from campaigns.services import attribution, flows
from commerce import events
from commerce.models import DomainEvent, Order

EVENT_TRIGGERS = tuple(flows.EVENT_TRIGGERS)  # the events a flow can start on (one list, in flows)


def on_event(event: DomainEvent) -> None:
    flows.enrol_from_event(event=event)


def on_order_paid(event: DomainEvent) -> None:
    order = Order.objects.filter(shop_id=event.shop_id, pk=event.payload.get("order_id")).first()
    if order is not None:
        attribution.order_attribute(order=order)


def register() -> None:
    events.subscribe(DomainEvent.Name.ORDER_PAID, on_order_paid)  # before enrolling: credit the last flow
    for name in EVENT_TRIGGERS:
        events.subscribe(name, on_event)

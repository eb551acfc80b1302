"""Domain events -> flow enrolments."""

from campaigns.services import flows
from commerce import events
from commerce.models import DomainEvent

EVENT_TRIGGERS = (DomainEvent.Name.ORDER_PAID,)


def on_event(event: DomainEvent) -> None:
    flows.enrol_from_event(event=event)


def register() -> None:
    for name in EVENT_TRIGGERS:
        events.subscribe(name, on_event)

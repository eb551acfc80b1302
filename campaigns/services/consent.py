"""Consent changes the shopper makes through our messages (the unsubscribe link, a STOP or
START reply, a bounce or complaint): into the one consent ledger (``commerce.consent``), taking
effect at once, and written back to the store after the commit (``integrations.tasks``)."""

from datetime import datetime

from django.db import transaction

from commerce.consent import consent_change_record
from commerce.models import ConsentChange, ConsentSource, Customer, MarketingConsent
from integrations.tasks import consent_write_back


def consent_change(*, customer: Customer, channel: str, subscribed: bool, source: str,
                   at: datetime | None = None, detail: str = "") -> ConsentChange | None:
    """Record the change (None when the shopper is in that state already) and, once committed,
    write it back to the store: every change but the platform's own."""
    state = MarketingConsent.SUBSCRIBED if subscribed else MarketingConsent.UNSUBSCRIBED
    with transaction.atomic():
        change = consent_change_record(customer=customer, channel=channel, state=state, source=source, at=at,
                                       detail=detail)
        if change is not None and source != ConsentSource.PLATFORM:
            pk = change.pk
            transaction.on_commit(lambda: consent_write_back.delay(pk))
    return change


def unsubscribe(*, customer: Customer, channel: str, source: str, detail: str = "") -> ConsentChange | None:
    return consent_change(customer=customer, channel=channel, subscribed=False, source=source, detail=detail)

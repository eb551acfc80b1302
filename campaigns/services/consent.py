"""Consent we hold ourselves: an unsubscribe takes effect at once, whatever the platform says."""

from django.db import IntegrityError, transaction

from campaigns.models import Unsubscribe
from commerce.models import Customer


def unsubscribe(*, customer: Customer, channel: str, source: str) -> Unsubscribe:
    try:
        with transaction.atomic():
            return Unsubscribe.objects.create(shop_id=customer.shop_id, customer=customer, channel=channel,
                                              source=source)
    except IntegrityError:
        return Unsubscribe.objects.get(customer=customer, channel=channel)

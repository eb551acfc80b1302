"""Segments' part in privacy requests (see ``commerce.privacy``): a redacted customer's scores
(RFM, spend rank) and memberships are deleted -- profiling of a person; the daily recompute
leaves redacted customers out -- and ``shop/redact`` deletes the shop's segments.  A data request
lists the segments the customer is in."""

from typing import Any

from commerce.models import Shop
from commerce.privacy import DataSubject, PrivacyParticipant
from segments.models import CustomerScore, Segment, SegmentMembership, SegmentSettings


def erase_customer(*, subject: DataSubject) -> None:
    SegmentMembership.objects.filter(shop=subject.shop, customer_id__in=subject.customer_ids).delete()
    CustomerScore.objects.filter(shop=subject.shop, customer_id__in=subject.customer_ids).delete()


def erase_shop(*, shop: Shop) -> None:
    for model in (SegmentMembership, CustomerScore, Segment, SegmentSettings):
        model._default_manager.filter(shop=shop).delete()


def export(*, subject: DataSubject) -> dict[str, Any]:
    keys = (SegmentMembership.objects.filter(shop=subject.shop, customer_id__in=subject.customer_ids)
            .order_by("segment__key").values_list("segment__key", flat=True).distinct())
    return {"segments": list(keys)}


SEGMENTS = PrivacyParticipant(
    name="segments",
    erase_customer=erase_customer,
    erase_shop=erase_shop,
    export=export,
    not_personal={
        "segments.Segment.name": "the segment's name",
        "segments.Segment.conditions": "the merchant's segment rule",
    },
)

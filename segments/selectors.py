"""Segment reads for campaigns, the merchant API and the dashboard; always one shop's."""

from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from commerce.models import Customer, Shop
from retention_app.errors import ApplicationError
from segments.models import CustomerScore, Segment, SegmentKind, SegmentMembership, SegmentSettings
from segments.rules import PREDEFINED, RuleContext, conditions_problems, conditions_q, conditions_validate, top_count

MAX_PAGE_SIZE = 200
#: Page numbers run 1..MAX_PAGE: a bigger one would ask the database for an offset past any real
#: segment (and past a 64-bit OFFSET at 30 digits).  The API refuses it, the dashboard clamps it.
MAX_PAGE = 1_000_000


def segment_settings_get(*, shop: Shop) -> SegmentSettings:
    """The shop's settings; the defaults (unsaved) for a shop without a row: a read writes nothing."""
    return SegmentSettings.objects.filter(shop=shop).first() or SegmentSettings(shop=shop)


def in_segment(*, customer: Customer, key: str) -> bool:
    """Is the customer a member of the shop's segment ``key`` (False for an unknown key)?"""
    return SegmentMembership.objects.filter(shop_id=customer.shop_id, customer=customer,
                                            segment__key=key).exists()


def customer_segment_keys(*, customer: Customer) -> list[str]:
    return sorted(SegmentMembership.objects.filter(shop_id=customer.shop_id, customer=customer)
                  .values_list("segment__key", flat=True))


def segment_counts(*, shop: Shop) -> list[dict[str, Any]]:
    """``[{"key", "name", "kind", "count"}]``: the predefined segments (always listed, named in the
    active language) in their documented order, then the merchant's by name."""
    counts = dict(SegmentMembership.objects.filter(shop=shop).values("segment__key")
                  .annotate(count=Count("pk")).values_list("segment__key", "count"))
    rows = [{"key": item.key, "name": str(item.name), "kind": SegmentKind.PREDEFINED.value,
             "count": counts.get(item.key, 0)} for item in PREDEFINED]
    merchant = Segment.objects.filter(shop=shop, kind=SegmentKind.MERCHANT).order_by("name", "pk")
    rows.extend({"key": segment.key, "name": segment.name, "kind": SegmentKind.MERCHANT.value,
                 "count": counts.get(segment.key, 0)} for segment in merchant)
    return rows


def segment_list(*, shop: Shop) -> list[dict[str, Any]]:
    """``segment_counts`` with each segment's rule: the documented description of a predefined
    segment, the conditions of a merchant's, and whether the rule is ``valid`` (a rule stored
    before the bounds existed is not evaluated; ``problems`` says why)."""
    descriptions = {item.key: str(item.description) for item in PREDEFINED}
    conditions = dict(Segment.objects.filter(shop=shop, kind=SegmentKind.MERCHANT).values_list("key", "conditions"))
    rows = []
    for row in segment_counts(shop=shop):
        problems = conditions_problems(conditions[row["key"]]) if row["key"] in conditions else []
        rows.append({**row, "description": descriptions.get(row["key"], ""), "conditions": conditions.get(row["key"]),
                     "valid": not problems, "problems": problems})
    return rows


def segment_customers(*, shop: Shop, key: str, page: int = 1, page_size: int = 50) -> dict[str, Any]:
    """One page of a segment's members (biggest spenders first) with their figures."""
    predefined = {item.key: item for item in PREDEFINED}
    segment = Segment.objects.filter(shop=shop, key=key).first()
    if segment is None and key not in predefined:
        raise ApplicationError("segment not found", status=404)
    page = min(max(page, 1), MAX_PAGE)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    members = SegmentMembership.objects.filter(shop=shop, segment=segment).values("customer_id")
    scores = (CustomerScore.objects.filter(shop=shop, customer_id__in=members).select_related("customer")
              .order_by("-total_spent", "customer_id"))
    count = scores.count()
    start = (page - 1) * page_size
    name = str(predefined[key].name) if key in predefined else segment.name if segment else key
    return {
        "key": key,
        "name": name,
        "count": count,
        "page": page,
        "page_size": page_size,
        "customers": [_customer_row(score) for score in scores[start:start + page_size]],
    }


def _customer_row(score: CustomerScore) -> dict[str, Any]:
    customer = score.customer
    return {
        "id": customer.pk,
        "platform_id": customer.platform_id,
        "name": f"{customer.first_name} {customer.last_name}".strip(),
        "email": customer.email,
        "orders_count": score.orders_count,
        "total_spent": score.total_spent,
        "currency": score.currency,
        "first_order_at": score.first_order_at,
        "last_order_at": score.last_order_at,
        "r": score.r,
        "f": score.f,
        "m": score.m,
    }


def rule_context(*, shop: Shop, now: datetime, settings: SegmentSettings | None = None) -> RuleContext:
    """What the rules are evaluated against: the moment, the churn period (from ``settings`` when
    the caller has them), the top-10 % size."""
    buyers = CustomerScore.objects.filter(shop=shop, orders_count__gt=0, total_spent__gt=0).count()
    churn_days = (settings or segment_settings_get(shop=shop)).churn_days
    return RuleContext(shop=shop, now=now, churn_days=churn_days, top_count=top_count(buyers))


def segment_preview_count(*, shop: Shop, conditions: Any, key: str = "") -> int:
    """How many customers a merchant segment with ``conditions`` would hold now: the same
    validation (``ApplicationError`` 400 listing the problems) and the same rule that
    ``services.segment_create`` stores its members with, counted without writing anything."""
    validated = conditions_validate(conditions, shop=shop, own_key=key)
    context = rule_context(shop=shop, now=timezone.now())
    return CustomerScore.objects.filter(shop=shop).filter(conditions_q(validated, context=context)).count()

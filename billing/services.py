"""Writes: the shop's plan follows what the platform's billing reports; limits are recorded."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from billing.models import LimitSkip, ShopPlan, SubscriptionStatus
from billing.plans import LimitKind, PlanCode, paid_plan
from billing.selectors import LimitPeriod, limit_period, plan_for
from commerce import events
from commerce.models import Shop

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubscriptionState:
    """One subscription as the platform reports it (a webhook, or the active list we asked for)."""

    platform_id: str
    name: str
    status: str
    test: bool | None = None
    current_period_end: datetime | None = None


def _ours(state: SubscriptionState) -> bool:
    """A subscription for our paid plan; a test charge counts only while billing runs in test mode
    (``SHOPIFY_BILLING_TEST``), so production never unlocks the paid plan on a free test charge."""
    if state.name != paid_plan().name:
        return False
    return not (state.test and not settings.BILLING_TEST)


def _lock(shop: Shop) -> ShopPlan:
    ShopPlan.objects.get_or_create(shop=shop)
    return ShopPlan.objects.select_for_update().get(shop=shop)


#: announced when a shop moves onto the paid plan: loyalty then awards the points that this
#: month's order limit held back (nothing is lost)
PLAN_UPGRADED = "billing.plan_upgraded"


def _set(row: ShopPlan, state: SubscriptionState, at: datetime) -> None:
    was_paid = row.plan == PlanCode.PAID
    row.subscription_id = state.platform_id
    row.subscription_name = state.name
    row.subscription_status = state.status
    if state.test is not None:
        row.is_test = state.test
    if state.current_period_end is not None or state.status != SubscriptionStatus.ACTIVE:
        row.current_period_end = state.current_period_end
    row.plan = PlanCode.PAID if state.status == SubscriptionStatus.ACTIVE and _ours(state) else PlanCode.FREE
    row.status_at = at
    row.save()
    if row.plan == PlanCode.PAID and not was_paid and events.emit(
            shop=row.shop, name=PLAN_UPGRADED, key=f"{PLAN_UPGRADED}:{state.platform_id}:{at.isoformat()}",
            payload={"subscription_id": state.platform_id}, occurred_at=at):
        events.dispatch_soon()


def subscription_update_apply(*, shop: Shop, state: SubscriptionState, updated_at: datetime) -> str:
    """Apply one subscription change (``app_subscriptions/update``).

    - a report older than the state we hold is ignored (deliveries come out of order); at the same
      second a PENDING never replaces another state (it comes first in a subscription's life);
    - our subscription ACTIVE: the paid plan; CANCELLED, DECLINED, EXPIRED or FROZEN: back to Free;
    - another subscription than the one we hold only matters when it becomes ACTIVE (a declined
      second attempt must not end the plan the merchant already pays for).
    """
    with transaction.atomic():
        row = _lock(shop)
        same = row.subscription_id == state.platform_id
        if row.status_at is not None and (updated_at < row.status_at or (
                updated_at == row.status_at and state.status == SubscriptionStatus.PENDING
                and row.subscription_status not in ("", SubscriptionStatus.PENDING))):
            return f"subscription {state.status}: stale (updated {updated_at.isoformat()})"
        if not same and row.plan == PlanCode.PAID and state.status != SubscriptionStatus.ACTIVE:
            return f"subscription {state.status}: not the current one, plan stays {row.plan}"
        _set(row, state, updated_at)
        return f"subscription {state.status}: plan {row.plan}"


def subscriptions_verified_apply(*, shop: Shop, active: list[SubscriptionState], at: datetime) -> ShopPlan:
    """Apply what the platform says is active now (after the merchant's approval, and in the
    reconciliation): our plan's active subscription makes the shop paid; none makes it Free."""
    ours = next((state for state in active if _ours(state) and state.status == SubscriptionStatus.ACTIVE), None)
    with transaction.atomic():
        row = _lock(shop)
        if ours is not None:
            _set(row, ours, at)
        elif row.plan == PlanCode.PAID or row.subscription_status == SubscriptionStatus.ACTIVE:
            # the platform no longer has it active: a cancel or freeze whose webhook we missed
            status = SubscriptionStatus.CANCELLED if not row.subscription_status or \
                row.subscription_status == SubscriptionStatus.ACTIVE else row.subscription_status
            _set(row, SubscriptionState(platform_id=row.subscription_id, name=row.subscription_name,
                                        status=status), at)
        return row


def plan_arranged_set(*, shop: Shop, paid: bool, actor: str, at: datetime) -> ShopPlan:
    """An operator puts a shop whose platform has no app billing (WooCommerce) on the paid plan,
    or back on Free: the arrangement is recorded like a subscription (``arranged:`` id, who did
    it), so the limits, the dashboard and the upgrade event behave as for a platform's own."""
    state = SubscriptionState(
        platform_id=f"arranged:{shop.pk}:{at:%Y%m%dT%H%M%S}", name=paid_plan().name,
        status=SubscriptionStatus.ACTIVE if paid else SubscriptionStatus.CANCELLED, test=False)
    with transaction.atomic():
        row = _lock(shop)
        _set(row, state, at)
        logger.info("%s: plan %s arranged by %s", shop.domain, row.plan, actor)
    return row


def subscription_pending_record(*, shop: Shop, platform_id: str, name: str, test: bool, at: datetime) -> ShopPlan:
    """The merchant was sent to approve a new subscription; a paid plan stays as it is meanwhile."""
    with transaction.atomic():
        row = _lock(shop)
        if row.plan != PlanCode.PAID:
            _set(row, SubscriptionState(platform_id=platform_id, name=name, status=SubscriptionStatus.PENDING,
                                        test=test), at)
        return row


def plan_end_on_uninstall(*, shop: Shop, at: datetime) -> None:
    """Uninstalling the app cancels its subscriptions at the platform: the shop is Free if it
    comes back (and approves a new subscription to be paid again)."""
    with transaction.atomic():
        row = ShopPlan.objects.select_for_update().filter(shop=shop).first()
        if row is not None and row.plan == PlanCode.PAID:
            _set(row, SubscriptionState(platform_id=row.subscription_id, name=row.subscription_name,
                                        status=SubscriptionStatus.CANCELLED), at)


def limit_skip_record(*, shop: Shop, kind: str, key: str, period: LimitPeriod, reason: str, at: datetime) -> bool:
    """Record that the Free plan's limit held ``key`` back; once per key (False: already recorded)."""
    try:
        with transaction.atomic():
            LimitSkip.objects.create(shop=shop, kind=kind, key=key, period_start=period.start, reason=reason[:300],
                                     at=at)
    except IntegrityError:
        return False
    return True


_LIMIT_REASONS = {
    LimitKind.ORDERS: "plan limit: the Free plan's {limit} orders earning points this month were reached",
    LimitKind.EMAILS: "plan limit: the Free plan's {limit} emails this month were sent",
}


def limit_hold(*, shop: Shop, kind: str, key: str, used_since: Callable[[datetime], int], now: datetime) -> str:
    """The plan's monthly limit of ``kind`` for one more unit (an order earning points, a flow
    email): ``""`` when it may go ahead, otherwise the reason it is held back, recorded once per
    ``key`` for the dashboard's notice and the upgrade.  ``used_since(start)`` counts what the
    month has used so far (the owning app knows how)."""
    limit = plan_for(shop=shop).limit(kind)
    if limit is None:
        return ""
    period = limit_period(shop=shop, now=now)
    if used_since(period.start) < limit:
        return ""
    reason = _LIMIT_REASONS[LimitKind(kind)].format(limit=limit)
    limit_skip_record(shop=shop, kind=kind, key=key, period=period, reason=reason, at=now)
    return reason

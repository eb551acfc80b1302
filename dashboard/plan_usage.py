"""What the Plan page and the limit notice show: the shop's plan and this month's usage against it."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from billing.models import ShopPlan
from billing.plans import LimitKind, Plan, plan_by_code
from billing.selectors import LimitPeriod, limit_period, limit_skips_count, shop_plan_get
from campaigns.selectors import emails_sent_count
from commerce.models import Shop
from dashboard import formatting
from loyalty.selectors import orders_earning_count

NEAR_LIMIT_SHARE = 0.8  # the notice warns from 80 % of a limit

LABELS = {LimitKind.ORDERS: _("Orders earning points"), LimitKind.EMAILS: _("Flow emails sent")}


@dataclass(frozen=True)
class UsageLine:
    kind: str
    label: str
    used: int
    limit: int | None
    skipped: int

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    @property
    def near(self) -> bool:
        return self.limit is not None and not self.reached and self.used >= self.limit * NEAR_LIMIT_SHARE

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.limit)) if self.limit else 0


@dataclass(frozen=True)
class PlanUsage:
    row: ShopPlan
    plan: Plan
    period: LimitPeriod
    lines: list[UsageLine]

    @property
    def reached(self) -> bool:
        return any(line.reached or line.skipped for line in self.lines)

    @property
    def near(self) -> bool:
        return not self.reached and any(line.near for line in self.lines)

    @property
    def skipped_orders(self) -> int:
        return sum(line.skipped for line in self.lines if line.kind == LimitKind.ORDERS)

    @property
    def skipped_emails(self) -> int:
        return sum(line.skipped for line in self.lines if line.kind == LimitKind.EMAILS)

    @property
    def skipped_orders_text(self) -> str:
        return formatting.number(self.skipped_orders, 0)

    @property
    def skipped_emails_text(self) -> str:
        return formatting.number(self.skipped_emails, 0)


def plan_usage(*, shop: Shop) -> PlanUsage:
    row = shop_plan_get(shop=shop)
    plan = plan_by_code(row.plan)
    period = limit_period(shop=shop)
    skipped = limit_skips_count(shop=shop, period=period)
    used = {LimitKind.ORDERS: orders_earning_count(shop=shop, since=period.start),
            LimitKind.EMAILS: emails_sent_count(shop=shop, since=period.start)}
    lines = [UsageLine(kind=kind, label=str(LABELS[kind]), used=used[kind], limit=plan.limit(kind),
                       skipped=skipped.get(kind, 0)) for kind in (LimitKind.ORDERS, LimitKind.EMAILS)]
    return PlanUsage(row=row, plan=plan, period=period, lines=lines)


def plan_notice(*, shop: Shop) -> PlanUsage | None:
    """The usage when a limit is near or reached (the notice on every dashboard page), else None."""
    usage = plan_usage(shop=shop)
    if usage.plan.is_paid or not (usage.reached or usage.near):
        return None
    return usage

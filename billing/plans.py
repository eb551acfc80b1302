"""The plan table: every plan Comeback sells, in one place.

Two plans and no feature behind a tier: **Free** has every feature and is limited by volume only
(orders that earn points, flow emails per month); **Comeback** (the paid plan) lifts the limits.
The numbers come from the settings (``BILLING_*``) so an operator can change them without a deploy.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanCode(models.TextChoices):
    FREE = "free", _("Free")
    PAID = "paid", _("Comeback")


class LimitKind(models.TextChoices):
    """What a free shop's monthly volume is counted in."""

    ORDERS = "orders", _("Orders earning points")
    EMAILS = "emails", _("Flow emails")


@dataclass(frozen=True)
class Plan:
    code: str
    #: the subscription's name at the platform (``appSubscriptionCreate(name:)``); matched on the way back
    name: str
    price: Decimal
    currency: str
    interval_days: int
    trial_days: int
    #: per calendar month in the shop's time zone; ``None``: unlimited
    orders_per_month: int | None
    emails_per_month: int | None

    @property
    def is_paid(self) -> bool:
        return self.price > 0

    def limit(self, kind: str) -> int | None:
        return self.orders_per_month if kind == LimitKind.ORDERS else self.emails_per_month


def free_plan() -> Plan:
    return Plan(code=PlanCode.FREE, name="Free", price=Decimal("0"), currency=settings.BILLING_CURRENCY,
                interval_days=30, trial_days=0, orders_per_month=settings.BILLING_FREE_ORDERS_PER_MONTH,
                emails_per_month=settings.BILLING_FREE_EMAILS_PER_MONTH)


def paid_plan() -> Plan:
    return Plan(code=PlanCode.PAID, name=settings.BILLING_PLAN_NAME, price=Decimal(settings.BILLING_PLAN_PRICE),
                currency=settings.BILLING_CURRENCY, interval_days=30, trial_days=settings.BILLING_TRIAL_DAYS,
                orders_per_month=None, emails_per_month=None)


def plan_by_code(code: str) -> Plan:
    return paid_plan() if code == PlanCode.PAID else free_plan()


def plans() -> list[Plan]:
    return [free_plan(), paid_plan()]

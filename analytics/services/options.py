"""The report's options: the shop's ``AnalyticsSettings`` (defaults when none are saved),
overridable per call (the command's flags)."""

from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from analytics.models import (
    DEFAULT_ACTIVITY_DAYS,
    DEFAULT_CHURN_DAYS,
    DEFAULT_LOYAL_MIN_ORDERS,
    AnalyticsSettings,
)
from commerce.models import Shop
from retention_app.errors import ApplicationError
from retention_app.money import ZERO


@dataclass(frozen=True)
class ReportOptions:
    """The knobs of the report: the shop's ``AnalyticsSettings``, overridable per call."""

    activity_days: int = DEFAULT_ACTIVITY_DAYS
    churn_days: int = DEFAULT_CHURN_DAYS
    fulfilment_cost_per_order: Decimal = ZERO
    loyal_min_orders: int = DEFAULT_LOYAL_MIN_ORDERS
    clv_horizon_weeks: int = 52  # 12 months ahead

    def __post_init__(self) -> None:
        for name in ("activity_days", "churn_days", "loyal_min_orders", "clv_horizon_weeks"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ApplicationError(f"{name} must be a whole number of at least 1", code="bad_option")
        try:
            cost = Decimal(str(self.fulfilment_cost_per_order))
        except InvalidOperation as error:
            raise ApplicationError("fulfilment_cost_per_order must be an amount", code="bad_option") from error
        if not cost.is_finite() or cost < 0:
            raise ApplicationError("fulfilment_cost_per_order must be an amount of at least 0", code="bad_option")
        object.__setattr__(self, "fulfilment_cost_per_order", cost)  # "1.50" or 1.5 given: kept as Decimal


def analytics_settings_get(*, shop: Shop) -> AnalyticsSettings:
    """The shop's settings row, or an unsaved one with the defaults (reads never write)."""
    return AnalyticsSettings.objects.filter(shop=shop).first() or AnalyticsSettings(shop=shop)


def report_options(*, shop: Shop, **overrides: Any) -> ReportOptions:
    """The shop's settings, with the overrides that are not ``None`` applied on top."""
    saved = analytics_settings_get(shop=shop)
    options = ReportOptions(activity_days=saved.activity_days, churn_days=saved.churn_days,
                            fulfilment_cost_per_order=saved.fulfilment_cost_per_order,
                            loyal_min_orders=saved.loyal_min_orders)
    return replace(options, **{name: value for name, value in overrides.items() if value is not None})


SETTINGS_FIELDS = ("activity_days", "churn_days", "fulfilment_cost_per_order", "loyal_min_orders")


@transaction.atomic
def analytics_settings_update(*, shop: Shop, **fields: Any) -> AnalyticsSettings:
    """Save the merchant's settings (only the fields given); invalid values raise."""
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise ApplicationError(f"unknown settings: {', '.join(sorted(unknown))}", code="bad_option")
    saved, _ = AnalyticsSettings.objects.select_for_update().get_or_create(shop=shop)
    for name, value in fields.items():
        setattr(saved, name, value)
    ReportOptions(**{name: getattr(saved, name) for name in SETTINGS_FIELDS})  # the report's rules apply
    saved.save()
    return saved

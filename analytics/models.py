"""Per-shop analytics settings, and the product cost of imported orders.

Analytics only reads the store mirror; the two tables here are its own.
"""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from commerce.models import Order, Shop
from retention_app.fields import money_field

DEFAULT_ACTIVITY_DAYS = 365
DEFAULT_CHURN_DAYS = 365
DEFAULT_LOYAL_MIN_ORDERS = 3


class AnalyticsSettings(models.Model):
    """What the merchant may tune; a shop without a row gets the defaults."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="analytics_settings")
    activity_days = models.PositiveIntegerField(
        _("activity window (days)"), default=DEFAULT_ACTIVITY_DAYS, validators=[MinValueValidator(1)],
        help_text=_("A customer is active on a day when they ordered within this many days up to it."),
    )
    churn_days = models.PositiveIntegerField(
        _("churn horizon (days)"), default=DEFAULT_CHURN_DAYS, validators=[MinValueValidator(1)],
        help_text=_("An active customer has churned after this many days without an order."),
    )
    fulfilment_cost_per_order = money_field(
        verbose_name=_("fulfilment cost per order"), validators=[MinValueValidator(0)],
        help_text=_("Picking, packing and any shipping the shop pays for, in the shop's currency."),
    )
    loyal_min_orders = models.PositiveIntegerField(
        _("orders that make a customer loyal"), default=DEFAULT_LOYAL_MIN_ORDERS, validators=[MinValueValidator(1)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "analytics settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(activity_days__gte=1, churn_days__gte=1, loyal_min_orders__gte=1,
                            fulfilment_cost_per_order__gte=0),
                name="analyticssettings_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"analytics settings of {self.shop_id}"


class ImportedOrderCost(models.Model):
    """The product cost of an order imported from a CSV (``import_orders``), which carries a
    cost per order rather than per variant.  Profit uses it instead of the lines' variant costs."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    cost = money_field()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "order"], name="importedordercost_unique_order"),
        ]

    def __str__(self) -> str:
        return f"cost {self.cost} of order {self.order_id}"

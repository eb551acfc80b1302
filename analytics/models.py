"""Per-shop analytics settings, and the product cost of imported orders.

Analytics only reads the store mirror; the two tables here are its own.
"""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from commerce.models import Customer, Order, Shop
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


class CustomerDay(models.Model):
    """The per-customer rollup: one customer's counted orders on one local day of the shop (its
    ``timezone``), kept current by ``analytics.services.rollups.rollups_refresh``.  Every customer
    metric counts local days (activity windows, first orders, cohorts, the CLV model's purchase
    days), so this table answers them without reading the orders.  A read model: rebuilt from the
    orders at any time, never written by anything else."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    orders = models.PositiveIntegerField()  # counted orders, any currency
    money_orders = models.PositiveIntegerField()  # of them, in the shop's currency
    revenue = money_field()  # net value (total - refunded) of the money orders

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "customer", "day"], name="customerday_unique_day"),
        ]
        indexes = [models.Index(fields=["shop", "day", "customer"], name="customerday_shop_day_idx")]

    def __str__(self) -> str:
        return f"customer {self.customer_id} on {self.day}"


class ShopDay(models.Model):
    """The per-day rollup: the shop's counted orders (guests' included) on one local day."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    orders = models.PositiveIntegerField()  # counted orders in the shop's currency
    revenue = money_field()  # their net value
    other_currency_orders = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "day"], name="shopday_unique_day")]

    def __str__(self) -> str:
        return f"{self.shop_id} on {self.day}"


class RollupState(models.Model):
    """How far a shop's rollups are: every order updated before ``refreshed_at`` is in them, with
    days in ``timezone`` (a changed shop time zone rebuilds them)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    refreshed_at = models.DateTimeField()
    timezone = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"rollups of {self.shop_id} at {self.refreshed_at}"

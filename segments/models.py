"""Customer segments: per-customer scores (RFM and what the rules read), segments and memberships.

``CustomerScore`` holds one row per live customer of a shop, with the figures every segment
rule reads (counted orders, net spend, first and last order, the expected next order) and the
R, F, M quintiles (1–5, NULL for customers without a counted order).  Memberships are stored,
so "is this customer in the segment?" is one indexed lookup for campaigns and the dashboard.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from commerce.models import Customer, Shop, ShopOwned
from retention_app.fields import money_field


class SegmentKind(models.TextChoices):
    PREDEFINED = "predefined", _("Predefined")
    MERCHANT = "merchant", _("Merchant-defined")


class SegmentSettings(models.Model):
    """Per-shop settings, and the shop's median repurchase interval from the last full recompute
    (what a one-time buyer's at-risk date is measured with between two recomputes)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    churn_days = models.PositiveIntegerField(default=365)
    median_interval_days = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    recomputed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"segment settings of {self.shop_id}"


class Segment(ShopOwned):
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=SegmentKind.choices)
    # Merchant segments only: the validated condition tree (see ``segments.rules``).
    conditions = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="segment_unique_key")]

    def __str__(self) -> str:
        return self.key


class SegmentMembership(ShopOwned):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "segment", "customer"], name="segmentmembership_unique"),
        ]
        indexes = [models.Index(fields=["shop", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class CustomerScore(ShopOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    orders_count = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    total_spent = money_field()
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    median_interval_days = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # The last order plus 1.5 × the median interval (the customer's, or the shop's for a one-time
    # buyer): past it, the customer is at risk.
    expected_next_order_at = models.DateTimeField(null=True, blank=True)
    r = models.PositiveSmallIntegerField(null=True, blank=True)
    f = models.PositiveSmallIntegerField(null=True, blank=True)
    m = models.PositiveSmallIntegerField(null=True, blank=True)
    # 1 = the biggest net spender (ties share a rank); "top spenders" read it.
    spend_rank = models.PositiveIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "customer"], name="customerscore_unique_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: R{self.r} F{self.f} M{self.m}"

"""A shop's plan (what the platform's billing says) and what its limits held back."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.plans import LimitKind, PlanCode
from commerce.models import Shop


class SubscriptionStatus(models.TextChoices):
    """The platform subscription's state (Shopify's ``AppSubscriptionStatus``)."""

    PENDING = "PENDING", _("Waiting for approval")
    ACTIVE = "ACTIVE", _("Active")
    DECLINED = "DECLINED", _("Declined")
    EXPIRED = "EXPIRED", _("Expired")
    FROZEN = "FROZEN", _("Frozen")
    CANCELLED = "CANCELLED", _("Cancelled")


class ShopPlan(models.Model):
    """One row per shop once billing has touched it; no row means the Free plan.

    ``plan`` is paid only while the platform reports our subscription ACTIVE.  ``status_at`` is the
    platform's time of the state we hold (a webhook's ``updated_at``, or when we asked): an older
    report never overwrites it, so out-of-order webhook deliveries cannot undo a change.
    """

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="plan")
    plan = models.CharField(max_length=10, choices=PlanCode.choices, default=PlanCode.FREE)
    subscription_id = models.CharField(max_length=100, blank=True)  # gid://shopify/AppSubscription/…
    subscription_name = models.CharField(max_length=255, blank=True)
    subscription_status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, blank=True)
    is_test = models.BooleanField(default=False)  # a test charge: the merchant is not billed
    current_period_end = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.plan} ({self.subscription_status or 'no subscription'})"


class LimitSkip(models.Model):
    """Work a Free shop's monthly limit held back: an order that earned no points, a flow email not
    sent.  The order and the message stay recorded where they live; this row says why and when."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=LimitKind.choices)
    key = models.CharField(max_length=100)  # the order's platform id, the scheduled step's id
    period_start = models.DateTimeField()  # the month (shop's time zone) whose limit it passed
    reason = models.CharField(max_length=300)
    at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kind", "key"], name="limitskip_unique_key")]
        indexes = [models.Index(fields=["shop", "period_start", "kind"], name="limitskip_period_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.reason}"

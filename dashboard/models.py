"""Who may open a shop's dashboard outside the Shopify admin (WooCommerce, standalone, the demo).

Embedded Shopify users need no row here: their session token names the shop.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from commerce.models import Shop


class MembershipRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")


class ShopMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, choices=MembershipRole.choices, default=MembershipRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "user"], name="shop_membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop} ({self.role})"


class OnboardingStep(models.TextChoices):
    """The first-run wizard's steps, in order (``?step=`` names them)."""

    PROGRAM = "program", _("Loyalty program")
    REWARDS = "rewards", _("Starter rewards")
    TIERS = "tiers", _("Tiers")
    FLOWS = "flows", _("Emails to switch on")
    HOLIDAYS = "holidays", _("Holiday greetings")
    WIDGET = "widget", _("Widget look")
    LAUNCH = "launch", _("Launch")


class Onboarding(models.Model):
    """A shop's progress through the first-run wizard.  No row: nothing done yet (reads never
    write; the first saved step creates it).  ``launched_at`` and the ``launch_*`` figures record
    the one history backfill the launch applied (in the background: ``launch_requested_at`` says
    it is under way)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    steps_done = models.JSONField(default=list, blank=True)  # ["program", "rewards", ...]
    launched_at = models.DateTimeField(null=True, blank=True)
    launch_requested_at = models.DateTimeField(null=True, blank=True)  # the merchant clicked Launch
    launch_orders = models.PositiveIntegerField(default=0)
    launch_customers = models.PositiveIntegerField(default=0)
    launch_points = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"onboarding of {self.shop_id}: {', '.join(self.steps_done) or 'not started'}"

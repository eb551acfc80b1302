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

"""Billing's part in privacy requests (see ``commerce.privacy``): it keeps nothing about a shopper
(a held-back order is named by its platform id only); ``shop/redact`` removes the shop's plan and
its limit records."""

from billing.models import LimitSkip, ShopPlan
from commerce.models import Shop
from commerce.privacy import DataSubject, PrivacyParticipant


def erase_customer(*, subject: DataSubject) -> None:
    """Nothing of its own."""


def erase_shop(*, shop: Shop) -> None:
    LimitSkip.objects.filter(shop=shop).delete()
    ShopPlan.objects.filter(shop=shop).delete()


BILLING = PrivacyParticipant(
    name="billing", erase_customer=erase_customer, erase_shop=erase_shop,
    not_personal={
        "billing.ShopPlan.subscription_name": "the name of the app's plan at the platform (\"Comeback\")",
        "billing.LimitSkip.key": "an order's platform id or a scheduled step's id, no shopper data",
        "billing.LimitSkip.reason": "why the limit held it back, in fixed words",
    },
)

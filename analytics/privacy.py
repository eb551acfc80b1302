"""Analytics' part in privacy requests (see ``commerce.privacy``): it keeps nothing about a
shopper (it reads the store mirror); ``shop/redact`` deletes its settings and imported costs."""

from analytics.models import AnalyticsSettings, ImportedOrderCost
from commerce.models import Shop
from commerce.privacy import DataSubject, PrivacyParticipant


def erase_customer(*, subject: DataSubject) -> None:
    """Nothing of its own: order costs are the merchant's figures, not the shopper's."""


def erase_shop(*, shop: Shop) -> None:
    ImportedOrderCost.objects.filter(shop=shop).delete()
    AnalyticsSettings.objects.filter(shop=shop).delete()


ANALYTICS = PrivacyParticipant(name="analytics", erase_customer=erase_customer, erase_shop=erase_shop)

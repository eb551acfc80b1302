"""The dashboard's part in privacy requests (see ``commerce.privacy``): it keeps nothing about a
shopper; ``shop/redact`` removes the merchant users' access to the shop (the users themselves
may belong to other shops and are not the shop's data) and the shop's onboarding progress."""

from commerce.models import Shop
from commerce.privacy import DataSubject, PrivacyParticipant
from dashboard.models import Onboarding, ShopMembership


def erase_customer(*, subject: DataSubject) -> None:
    """Nothing of its own."""


def erase_shop(*, shop: Shop) -> None:
    ShopMembership.objects.filter(shop=shop).delete()
    Onboarding.objects.filter(shop=shop).delete()


DASHBOARD = PrivacyParticipant(
    name="dashboard", erase_customer=erase_customer, erase_shop=erase_shop,
    not_personal={"dashboard.Onboarding.steps_done": "the names of the set-up guide's steps the merchant has done"},
)

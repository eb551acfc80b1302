"""Opening a shopper's account when they first show up (widget, storefront)."""

from commerce.models import Customer, Shop
from loyalty.models import Account
from loyalty.services.ledger import account_for_customer
from loyalty.services.tiers import tier_evaluate


def shopper_account_open(*, shop: Shop, customer_platform_id: str) -> Account | None:
    """The logged-in shopper's account, opened (and placed in its tier) on the first visit.
    ``None`` when nobody is logged in or the customer has not reached us yet."""
    if not customer_platform_id:
        return None
    customer = Customer.objects.filter(shop=shop, platform_id=customer_platform_id).first()
    if customer is None:
        return None
    account = account_for_customer(shop=shop, customer=customer)
    if account.tier_id is None:
        tier_evaluate(account=account)
    return Account.objects.select_related("tier", "customer").get(pk=account.pk)

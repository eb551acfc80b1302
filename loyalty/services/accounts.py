"""Opening a shopper's account: when a new customer arrives while the program runs, or when the
widget asks on their first visit (its ``POST``: reading the widget opens nothing)."""

from commerce.models import Customer, Shop
from loyalty.models import Account
from loyalty.selectors import program_get
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


def customer_account_open(*, customer: Customer) -> Account | None:
    """A customer who arrives while the program runs is a member at once (in the first tier, with
    a referral code), so the widget's first read finds the account.  ``None`` while it is off."""
    if not program_get(shop=customer.shop).is_enabled:
        return None
    return shopper_account_open(shop=customer.shop, customer_platform_id=customer.platform_id)

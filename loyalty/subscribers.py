"""Domain events -> loyalty services.  Thin: reload the rows the event names, call a service."""

from billing.services import PLAN_UPGRADED
from commerce import events
from commerce.models import Customer, DomainEvent, Order, Refund, Shop
from loyalty.models import Account
from loyalty.services import accounts, actions, earning, ledger, redemption, referrals, tiers


def on_order_paid(event: DomainEvent) -> None:
    order = Order.objects.filter(shop_id=event.shop_id, pk=event.payload.get("order_id")).select_related(
        "shop", "customer"
    ).first()
    if order is None:
        return
    earning.order_points_award(order=order)
    redemption.redemptions_mark_used(order=order)
    if event.payload.get("is_first_order") or order.discount_codes:  # a friend's code on a later order: refused
        referrals.referral_order_paid(order=order, by_email=bool(event.payload.get("is_first_order")))
    _tier_review(order)


def _tier_review(order: Order) -> None:
    account = earning.order_account(order=order)
    if account is not None:
        tiers.tier_evaluate(account=account)
        actions.badges_review(account=account)
        actions.challenges_review(account=account)


def on_account_enabled(event: DomainEvent) -> None:
    customer = Customer.objects.filter(shop_id=event.shop_id, pk=event.payload.get("customer_id")).select_related(
        "shop"
    ).first()
    if customer is not None:
        ledger.guest_points_claim(customer=customer)
        actions.signup_award(customer=customer)


def on_loyalty_milestone(event: DomainEvent) -> None:
    """Tier reached, referral completed: badges may follow."""
    account_id = event.payload.get("account_id") or event.payload.get("referrer_account_id")
    account = Account.objects.filter(shop_id=event.shop_id, pk=account_id).select_related("tier").first()
    if account is not None:
        actions.badges_review(account=account)


def on_order_fulfilled(event: DomainEvent) -> None:
    """Programs that award on fulfilment earn here instead of on payment."""
    order = Order.objects.filter(shop_id=event.shop_id, pk=event.payload.get("order_id")).select_related(
        "shop", "customer"
    ).first()
    if order is not None:
        earning.order_points_award(order=order, trigger="fulfilled")


def on_order_refunded(event: DomainEvent) -> None:
    refund = Refund.objects.filter(shop_id=event.shop_id, pk=event.payload.get("refund_id")).select_related(
        "order__shop"
    ).first()
    if refund is not None:
        earning.refund_points_reverse(refund=refund)
        referrals.referral_order_reversed(order=refund.order)
        _tier_review(refund.order)


def on_order_cancelled(event: DomainEvent) -> None:
    order = Order.objects.filter(shop_id=event.shop_id, pk=event.payload.get("order_id")).select_related("shop").first()
    if order is not None:
        earning.cancel_points_reverse(order=order)
        referrals.referral_order_reversed(order=order)
        _tier_review(order)


def on_customer_created(event: DomainEvent) -> None:
    customer = Customer.objects.filter(shop_id=event.shop_id, pk=event.payload.get("customer_id")).select_related(
        "shop"
    ).first()
    if customer is None:
        return
    if customer.email:
        ledger.guest_points_claim(customer=customer)  # first: a guest account may become theirs
    accounts.customer_account_open(customer=customer)


def on_plan_upgraded(event: DomainEvent) -> None:
    shop = Shop.objects.filter(pk=event.shop_id).first()
    if shop is not None:
        earning.plan_skipped_orders_award(shop=shop)


def register() -> None:
    events.subscribe(DomainEvent.Name.ORDER_PAID, on_order_paid)
    events.subscribe(DomainEvent.Name.ORDER_REFUNDED, on_order_refunded)
    events.subscribe(DomainEvent.Name.ORDER_CANCELLED, on_order_cancelled)
    events.subscribe(DomainEvent.Name.ORDER_FULFILLED, on_order_fulfilled)
    events.subscribe(DomainEvent.Name.CUSTOMER_CREATED, on_customer_created)
    events.subscribe(DomainEvent.Name.CUSTOMER_ACCOUNT_ENABLED, on_account_enabled)
    events.subscribe("loyalty.tier_reached", on_loyalty_milestone)
    events.subscribe("loyalty.referral_completed", on_loyalty_milestone)
    events.subscribe(PLAN_UPGRADED, on_plan_upgraded)

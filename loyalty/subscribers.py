"""Domain events -> loyalty services.  Thin: reload the rows the event names, call a service."""

from billing.services import PLAN_UPGRADED
from commerce import events
from commerce.models import Customer, DomainEvent, Order, Refund, Shop
from loyalty.models import Account
from loyalty.services import accounts, actions, earning, ledger, paid_orders, referrals, tiers


def on_order_paid(run: list[DomainEvent]) -> None:
    """A run of one shop's paid orders (a batch subscriber: one event is a run of one)."""
    paid_orders.orders_paid_handle(shop_id=run[0].shop_id, paid=[
        paid_orders.PaidOrder(order_id=event.payload.get("order_id"), is_first_order=bool(
            event.payload.get("is_first_order")))
        for event in run if event.payload.get("order_id") is not None
    ])


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


def on_loyalty_milestone(run: list[DomainEvent]) -> None:
    """Tier reached, referral completed: badges may follow (a batch subscriber)."""
    account_ids = [event.payload.get("account_id") or event.payload.get("referrer_account_id") for event in run]
    accounts = list(Account.objects.filter(shop_id=run[0].shop_id, pk__in=[pk for pk in account_ids if pk])
                    .select_related("tier").order_by("pk"))
    actions.badges_review_many(shop_id=run[0].shop_id, accounts=accounts)


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
    events.subscribe_batch(DomainEvent.Name.ORDER_PAID, on_order_paid)
    events.subscribe(DomainEvent.Name.ORDER_REFUNDED, on_order_refunded)
    events.subscribe(DomainEvent.Name.ORDER_CANCELLED, on_order_cancelled)
    events.subscribe(DomainEvent.Name.ORDER_FULFILLED, on_order_fulfilled)
    events.subscribe(DomainEvent.Name.CUSTOMER_CREATED, on_customer_created)
    events.subscribe(DomainEvent.Name.CUSTOMER_ACCOUNT_ENABLED, on_account_enabled)
    events.subscribe_batch("loyalty.tier_reached", on_loyalty_milestone)
    events.subscribe_batch("loyalty.referral_completed", on_loyalty_milestone)
    events.subscribe(PLAN_UPGRADED, on_plan_upgraded)

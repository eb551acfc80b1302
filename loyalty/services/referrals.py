"""Referrals: the friend gets a first-order discount, the referrer is rewarded once the friend's
first order is paid.  Every fraud rule that fires is recorded with its reason.

Hard rules reject: self-referral (same customer, same normalised email, same phone), a friend
who already ordered, the referrer's monthly cap.  Softer signals send the referral to the
merchant's review queue: the same name, too many referrals from one IP in a week.
"""

import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from commerce import events
from commerce.models import Customer, Order, Shop
from integrations.platforms import DiscountKind, DiscountSpec, adapter_for
from loyalty.models import Account, EntryKind, EntrySource, Referral, ReferralStatus
from loyalty.selectors import program_get
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import rule_for
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
REJECT = "reject"
REVIEW = "review"


def email_normalise(email: str) -> str:
    """Lower-case; drop a ``+tag``; for Gmail also drop dots (they all reach one mailbox)."""
    local, _, domain = email.strip().lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}" if domain else local


def _phone(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())[-9:]


def _name(customer: Customer | None) -> str:
    if customer is None:
        return ""
    return f"{customer.first_name} {customer.last_name}".strip().lower()


def fraud_reasons(
    *, shop: Shop, referrer: Account, friend_email: str, friend: Customer | None, ip: str | None,
    exclude_referral_id: int | None = None, completing_order: Order | None = None,
) -> list[tuple[str, str]]:
    """Every rule that fires, as (severity, reason)."""
    reasons: list[tuple[str, str]] = []
    program = program_get(shop=shop)
    referrer_customer = referrer.customer
    if friend is not None and referrer_customer is not None and friend.pk == referrer_customer.pk:
        reasons.append((REJECT, "self-referral: same customer"))
    referrer_email = referrer_customer.email if referrer_customer else referrer.email
    if referrer_email and email_normalise(referrer_email) == email_normalise(friend_email):
        reasons.append((REJECT, "self-referral: same email"))
    if friend is not None and referrer_customer is not None and friend.phone and referrer_customer.phone \
            and _phone(friend.phone) == _phone(referrer_customer.phone):
        reasons.append((REJECT, "self-referral: same phone"))
    if friend is not None and _name(friend) and _name(friend) == _name(referrer_customer):
        reasons.append((REVIEW, "same name as the referrer"))
    mine = Q(email=friend_email.strip().lower())
    if friend is not None:
        mine |= Q(customer=friend)
    if completing_order is not None and completing_order.shipping_address_key and referrer_customer is not None:
        shared = Order.objects.filter(shop=shop, customer=referrer_customer,
                                      shipping_address_key=completing_order.shipping_address_key)
        if shared.exists():
            reasons.append((REVIEW, "same shipping address as the referrer"))
    prior = Order.objects.filter(mine, shop=shop, cancelled_at__isnull=True)
    if completing_order is not None:
        prior = prior.exclude(pk=completing_order.pk).filter(processed_at__lte=completing_order.processed_at)
    if prior.exists():
        reasons.append((REJECT, "friend is not a new customer"))
    now = timezone.now()
    this_month = Referral.objects.filter(
        shop=shop, referrer=referrer, created_at__gte=now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ).exclude(status=ReferralStatus.REJECTED)
    if exclude_referral_id:
        this_month = this_month.exclude(pk=exclude_referral_id)
    if this_month.count() >= program.referral_monthly_cap:
        reasons.append((REJECT, f"referrer reached the cap of {program.referral_monthly_cap} referrals this month"))
    if ip:
        same_ip = Referral.objects.filter(shop=shop, ip=ip, created_at__gte=now - timedelta(days=7))
        if exclude_referral_id:
            same_ip = same_ip.exclude(pk=exclude_referral_id)
        if same_ip.count() >= program.referral_ip_weekly_limit:
            reasons.append((REVIEW, f"more than {program.referral_ip_weekly_limit} referrals from one IP this week"))
    return reasons


def _status(reasons: list[tuple[str, str]], default: str) -> str:
    if any(severity == REJECT for severity, _ in reasons):
        return ReferralStatus.REJECTED
    if reasons:
        return ReferralStatus.REVIEW
    return default


def referral_start(
    *, shop: Shop, code: str, friend_email: str, ip: str | None = None, issue_code: bool = True
) -> Referral:
    """A friend arrives with a referral code and gives an email: record it, check it, and give
    the friend a first-order discount code unless a rule fired."""
    referrer = Account.objects.filter(shop=shop, referral_code=code.strip().upper()).select_related("customer").first()
    if referrer is None:
        raise ApplicationError("unknown referral code", status=404)
    email = friend_email.strip().lower()
    if "@" not in email:
        raise ApplicationError("a valid email is required", status=400)
    friend = Customer.objects.filter(shop=shop, email=email).first()
    reasons = fraud_reasons(shop=shop, referrer=referrer, friend_email=email, friend=friend, ip=ip)
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                shop=shop, referrer=referrer, friend_email=email, friend_customer=friend, ip=ip,
                status=_status(reasons, ReferralStatus.PENDING), reasons=[reason for _, reason in reasons],
            )
    except IntegrityError as error:
        raise ApplicationError("this friend was already referred", status=409) from error
    if referral.status == ReferralStatus.PENDING and issue_code:
        _friend_code_issue(referral=referral)
    return referral


def _friend_code_issue(*, referral: Referral) -> None:
    program = program_get(shop=referral.shop)
    code = "FRIEND-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    spec = DiscountSpec(code=code, title="Comeback referral: first order", kind=DiscountKind.PERCENTAGE,
                        value=Decimal(program.referral_friend_discount_percent), usage_limit=1,
                        ends_at=timezone.now() + timedelta(days=30))
    try:
        adapter_for(referral.shop.platform).discount_code_create(shop=referral.shop, spec=spec)
    except Exception as error:  # the referral stands; the code can be issued again later
        logger.warning("referral %s: friend code failed: %s", referral.pk, error)
        Referral.objects.filter(pk=referral.pk).update(error=f"{type(error).__name__}: {error}"[:500])
        return
    Referral.objects.filter(pk=referral.pk).update(friend_code=code, error="")
    referral.friend_code = code


def _reward(referral: Referral) -> None:
    """Both sides earn; the referrer's points stay pending for the return window."""
    program = program_get(shop=referral.shop)
    available_at = timezone.now() + timedelta(days=program.pending_days)
    referrer_rule = rule_for(shop=referral.shop, kind="referral_referrer")
    if referrer_rule and referrer_rule.points:
        entry_write(account=referral.referrer, kind=EntryKind.EARN, source=EntrySource.RULE,
                    source_id=f"referral:{referral.pk}", key=f"referral:{referral.pk}:referrer",
                    points=referrer_rule.points, available_at=available_at, reason=f"referred {referral.friend_email}")
    friend_rule = rule_for(shop=referral.shop, kind="referral_friend")
    if friend_rule and friend_rule.points and referral.friend_customer is not None:
        friend_account = account_for_customer(shop=referral.shop, customer=referral.friend_customer)
        entry_write(account=friend_account, kind=EntryKind.EARN, source=EntrySource.RULE,
                    source_id=f"referral:{referral.pk}", key=f"referral:{referral.pk}:friend",
                    points=friend_rule.points, available_at=available_at, reason="joined through a referral")
    events.emit(shop=referral.shop, name="loyalty.referral_completed", key=f"referral-completed:{referral.pk}",
                payload={"referral_id": referral.pk, "referrer_account_id": referral.referrer_id})
    events.dispatch_soon()


@transaction.atomic
def referral_order_paid(*, order: Order) -> Referral | None:
    """The friend's first paid order completes the referral (checks run again with what the
    order tells us: customer, phone, name)."""
    if not order.email and order.customer is None:
        return None
    candidates = Referral.objects.select_for_update(of=("self",)).filter(
        shop_id=order.shop_id, status=ReferralStatus.PENDING
    )
    email = (order.customer.email if order.customer else "") or order.email
    referral = candidates.filter(friend_email=email.strip().lower()).select_related("referrer__customer").first()
    if referral is None and order.discount_codes:
        referral = candidates.filter(friend_code__in=[c.upper() for c in order.discount_codes]).first()
    if referral is None:
        return None
    friend = order.customer
    reasons = fraud_reasons(shop=order.shop, referrer=referral.referrer, friend_email=referral.friend_email,
                            friend=friend, ip=None, exclude_referral_id=referral.pk, completing_order=order)
    referral.friend_customer = friend
    referral.friend_order = order
    referral.reasons = [reason for _, reason in reasons]
    referral.status = _status(reasons, ReferralStatus.COMPLETED)
    if referral.status == ReferralStatus.COMPLETED:
        referral.completed_at = timezone.now()
    referral.save()
    if referral.status == ReferralStatus.COMPLETED:
        _reward(referral)
    return referral


@transaction.atomic
def referral_review(*, referral: Referral, approve: bool) -> Referral:
    """The merchant's decision on a referral in the review queue."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != ReferralStatus.REVIEW:
        raise ApplicationError("this referral is not waiting for review", status=409)
    if not approve:
        referral.status = ReferralStatus.REJECTED
        referral.save(update_fields=["status"])
        return referral
    referral.status = ReferralStatus.COMPLETED if referral.friend_order_id else ReferralStatus.PENDING
    if referral.status == ReferralStatus.COMPLETED:
        referral.completed_at = timezone.now()
    referral.save(update_fields=["status", "completed_at"])
    if referral.status == ReferralStatus.COMPLETED:
        _reward(referral)
    return referral

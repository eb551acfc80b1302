"""Referrals: the friend gets a first-order discount, the referrer is rewarded once the friend's
first order is paid.  Every fraud rule that fires is recorded with its reason.

Hard rules reject: self-referral (same customer, same normalised email, same phone; at the
order also the order's own email), a friend who already ordered, the referrer's monthly cap.
Softer signals send the referral to the merchant's review queue: the same name, the same
shipping address as the referrer, too many referrals from one IP in a week.  Claims from one IP
are also rate-limited (``CLAIMS_PER_IP_HOUR``): a burst is refused before anything is written.

The friend's code is created in the store through the platform adapter; the referral completes
on the friend's first paid order that carries the code (or comes from the friend's email).
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from commerce import events
from commerce.models import Customer, Order, Shop
from commerce.selectors import orders_counted
from integrations.platforms import DiscountCodeTaken, DiscountKind, DiscountSpec, adapter_for
from loyalty.models import Account, EarningRule, EntryKind, EntrySource, LedgerEntry, Referral, ReferralStatus, RuleKind
from loyalty.selectors import FRIEND_CODE_DAYS, program_get
from loyalty.services.earning import order_date
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_defaults_create, rule_for
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
REJECT = "reject"
REVIEW = "review"
#: Claims (referrals recorded) from one IP address per hour before further claims are refused.
CLAIMS_PER_IP_HOUR = 10
FRIEND_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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
    friend_emails = {email_normalise(e) for e in (friend_email, completing_order.email if completing_order else "",
                                                  friend.email if friend is not None else "") if e}
    if referrer_email and email_normalise(referrer_email) in friend_emails:
        reasons.append((REJECT, "self-referral: same email"))
    if friend is not None and referrer_customer is not None and friend.phone and referrer_customer.phone \
            and _phone(friend.phone) == _phone(referrer_customer.phone):
        reasons.append((REJECT, "self-referral: same phone"))
    if friend is not None and _name(friend) and _name(friend) == _name(referrer_customer):
        reasons.append((REVIEW, "same name as the referrer"))
    mine = Q(email__in=[friend_email.strip().lower()] + (
        [completing_order.email.strip().lower()] if completing_order is not None and completing_order.email else []))
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


def _referrer_get(*, shop: Shop, code: str) -> Account:
    referrer = (Account.objects.filter(shop=shop, referral_code=code.strip().upper())
                .select_related("customer").first())
    if referrer is None:
        raise ApplicationError("unknown referral code", status=404, code="referral_unknown")
    return referrer


def _friend_identify(*, shop: Shop, friend_email: str, customer_platform_id: str) -> tuple[str, Customer | None]:
    """The friend's email and customer: the logged-in shopper's own, else the email they typed."""
    friend = None
    if customer_platform_id:
        friend = Customer.objects.filter(shop=shop, platform_id=customer_platform_id).first()
    email = ((friend.email if friend is not None else "") or friend_email).strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ApplicationError("a valid email is required", status=400, code="email_required") from error
    if friend is None:
        friend = Customer.objects.filter(shop=shop, email=email).first()
    return email, friend


def referral_start(
    *, shop: Shop, code: str, friend_email: str = "", customer_platform_id: str = "", ip: str | None = None,
    issue_code: bool = True,
) -> Referral:
    """A friend arrives with a referral code: record the referral (pending, or rejected / held for
    review with the reasons), and give the friend a single-use first-order code unless a rule fired.

    The friend is the logged-in shopper (``customer_platform_id``) or whoever owns
    ``friend_email``.  Refused without writing anything: an unknown code (404), a paused program,
    a bad email (400), a friend already referred (409), too many claims from one IP (429).
    """
    referrer = _referrer_get(shop=shop, code=code)
    if not program_get(shop=shop).is_enabled:
        raise ApplicationError("the rewards program is paused", status=409, code="program_inactive")
    email, friend = _friend_identify(shop=shop, friend_email=friend_email, customer_platform_id=customer_platform_id)
    existing = Referral.objects.filter(shop=shop, friend_email=email).first()
    if existing is not None:
        if (existing.referrer_id == referrer.pk and existing.status == ReferralStatus.PENDING
                and not existing.friend_code and issue_code):
            _friend_code_issue(referral=existing)  # the first attempt at the code failed: try again
            return existing
        raise ApplicationError("this friend was already referred", status=409, code="already_referred")
    if ip:
        hour_ago = timezone.now() - timedelta(hours=1)
        recent = list(Referral.objects.filter(shop=shop, ip=ip, created_at__gte=hour_ago)
                      .order_by("-created_at").values_list("created_at", flat=True)[:CLAIMS_PER_IP_HOUR])
        if len(recent) >= CLAIMS_PER_IP_HOUR:
            # the claim that frees a place is the oldest of the last CLAIMS_PER_IP_HOUR, an hour on
            wait = max(1, int((recent[-1] - hour_ago).total_seconds()) + 1)
            raise ApplicationError("too many referral claims from this address; try again later", status=429,
                                   code="rate_limited", extra={"retry_after": wait})
    reasons = fraud_reasons(shop=shop, referrer=referrer, friend_email=email, friend=friend, ip=ip)
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                shop=shop, referrer=referrer, friend_email=email, friend_customer=friend, ip=ip,
                status=_status(reasons, ReferralStatus.PENDING), reasons=[reason for _, reason in reasons],
            )
    except IntegrityError as error:  # the same friend, claimed at the same moment
        raise ApplicationError("this friend was already referred", status=409, code="already_referred") from error
    if referral.status == ReferralStatus.PENDING and issue_code:
        _friend_code_issue(referral=referral)
    return referral


def friend_code_expires_at(*, referral: Referral) -> datetime:
    """The friend's code ends ``FRIEND_CODE_DAYS`` after the claim, also when issued on a retry."""
    return referral.created_at + timedelta(days=FRIEND_CODE_DAYS)


def _friend_code_issue(*, referral: Referral) -> None:
    """Create the friend's single-use code in the store (limited to the friend when they are a
    known customer).  A failure is recorded on the referral and the claim can be retried."""
    program = program_get(shop=referral.shop)
    adapter = adapter_for(referral.shop.platform)
    friend_ids = (referral.friend_customer.platform_id,) if referral.friend_customer_id and \
        referral.friend_customer is not None else ()
    for _ in range(3):
        code = "FRIEND-" + "".join(secrets.choice(FRIEND_CODE_ALPHABET) for _ in range(8))
        spec = DiscountSpec(code=code, title="Referral: first order", kind=DiscountKind.PERCENTAGE,
                            value=Decimal(program.referral_friend_discount_percent), usage_limit=1,
                            starts_at=timezone.now(), ends_at=friend_code_expires_at(referral=referral),
                            customer_platform_ids=friend_ids)
        try:
            adapter.discount_code_create(shop=referral.shop, spec=spec)
        except DiscountCodeTaken:
            continue
        except Exception as error:  # the referral stands; the claim can ask for the code again
            logger.warning("referral %s: friend code failed: %s", referral.pk, error)
            Referral.objects.filter(pk=referral.pk).update(error=f"{type(error).__name__}: {error}"[:500])
            referral.error = f"{type(error).__name__}: {error}"[:500]
            return
        Referral.objects.filter(pk=referral.pk).update(friend_code=code, error="")
        referral.friend_code, referral.error = code, ""
        return


def _reward(referral: Referral) -> None:
    """Both sides earn; the points stay pending for the return window after the friend's order,
    like the program's purchase points."""
    program = program_get(shop=referral.shop)
    order = referral.friend_order
    occurred_at = order_date(order=order) if order is not None else timezone.now()
    available_at = occurred_at + timedelta(days=program.pending_days)
    referrer_rule = rule_for(shop=referral.shop, kind="referral_referrer")
    if referrer_rule and referrer_rule.points:
        entry_write(account=referral.referrer, kind=EntryKind.EARN, source=EntrySource.RULE,
                    source_id=f"referral:{referral.pk}", key=f"referral:{referral.pk}:referrer",
                    points=referrer_rule.points, occurred_at=occurred_at, available_at=available_at,
                    reason="referred a friend")
    friend_rule = rule_for(shop=referral.shop, kind="referral_friend")
    if friend_rule and friend_rule.points and referral.friend_customer is not None:
        friend_account = account_for_customer(shop=referral.shop, customer=referral.friend_customer)
        entry_write(account=friend_account, kind=EntryKind.EARN, source=EntrySource.RULE,
                    source_id=f"referral:{referral.pk}", key=f"referral:{referral.pk}:friend",
                    points=friend_rule.points, occurred_at=occurred_at, available_at=available_at,
                    reason="joined through a referral")
    events.emit(shop=referral.shop, name="loyalty.referral_completed", key=f"referral-completed:{referral.pk}",
                payload={"referral_id": referral.pk, "referrer_account_id": referral.referrer_id})
    events.dispatch_soon()


def _referral_for_order(*, order: Order, by_email: bool) -> Referral | None:
    """The open referral an order answers, locked: the one whose code the order used (codes are
    case-insensitive at checkout), else the one made for the order's email."""
    open_referrals = Referral.objects.select_for_update(of=("self",)).filter(
        Q(status=ReferralStatus.PENDING) | Q(status=ReferralStatus.REVIEW, friend_order__isnull=True),
        shop_id=order.shop_id,
    ).select_related("referrer__customer")
    codes = [str(code).strip().upper() for code in order.discount_codes or () if str(code).strip()]
    if codes:
        by_code = open_referrals.filter(friend_code__in=codes).order_by("pk").first()
        if by_code is not None:
            return by_code
    emails = {e.strip().lower() for e in (order.email, order.customer.email if order.customer else "") if e}
    if not emails or not by_email:
        return None
    return open_referrals.filter(friend_email__in=emails).order_by("pk").first()


@transaction.atomic
def referral_order_paid(*, order: Order, by_email: bool = True) -> Referral | None:
    """The friend's first paid order completes the referral and rewards both sides, once: the
    referral row is locked and leaves the open states, so a second delivery finds nothing.  The
    fraud checks run again with what the order tells us (customer, email, phone, name, address);
    a referral held for review keeps waiting for the merchant, now with its order.  ``by_email``:
    whether the order may match by email (the customer's first order), not only by the code."""
    if not orders_counted(shop=order.shop_id).filter(pk=order.pk).exists():
        return None  # a test order, or one already cancelled or refunded in full, completes nothing
    referral = _referral_for_order(order=order, by_email=by_email)
    if referral is None:
        return None
    friend = order.customer
    reasons = fraud_reasons(shop=order.shop, referrer=referral.referrer, friend_email=referral.friend_email,
                            friend=friend, ip=None, exclude_referral_id=referral.pk, completing_order=order)
    held = referral.status == ReferralStatus.REVIEW
    earlier = [reason for reason in referral.reasons if held]
    referral.friend_customer = friend or referral.friend_customer
    referral.friend_order = order
    referral.reasons = earlier + [reason for _, reason in reasons if reason not in earlier]
    referral.status = _status(reasons, ReferralStatus.REVIEW if held else ReferralStatus.COMPLETED)
    if referral.status == ReferralStatus.COMPLETED:
        referral.completed_at = timezone.now()
    referral.save()
    if referral.status == ReferralStatus.COMPLETED:
        _reward(referral)
    return referral


@transaction.atomic
def referral_order_reversed(*, order: Order) -> Referral | None:
    """The friend's order was cancelled or refunded in full within the return window: the
    referral's points, still pending, are taken back (each once) and the referral no longer
    counts.  After the window the reward stands, as purchase points do."""
    referral = (Referral.objects.select_for_update(of=("self",))
                .filter(shop_id=order.shop_id, friend_order=order, status=ReferralStatus.COMPLETED).first())
    if referral is None or orders_counted(shop=order.shop_id).filter(pk=order.pk).exists():
        return None
    now = timezone.now()
    earned = LedgerEntry.objects.filter(shop_id=order.shop_id, kind=EntryKind.EARN, source_id=f"referral:{referral.pk}",
                                        available_at__gt=now).select_related("account")
    if not earned:
        return None
    source = EntrySource.CANCELLATION if order.cancelled_at else EntrySource.REFUND
    for entry in earned:
        entry_write(account=entry.account, kind=EntryKind.REVERSE, source=source, source_id=entry.source_id,
                    key=f"reverse:{entry.idempotency_key}", points=-entry.points, available_at=entry.available_at,
                    occurred_at=order.cancelled_at or now, reason="the friend's order was returned")
    referral.status = ReferralStatus.REJECTED
    referral.reasons = [*referral.reasons, "the friend's order was cancelled or refunded within the return window"]
    referral.save(update_fields=["status", "reasons"])
    return referral


@transaction.atomic
def referral_review(*, referral: Referral, approve: bool, reason: str = "", actor: str = "") -> Referral:
    """The merchant's decision on a referral in the review queue, with why and by whom.  Approved
    after the friend's order: both sides are rewarded now; before it: the friend gets the code."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != ReferralStatus.REVIEW:
        raise ApplicationError("this referral is not waiting for review", status=409)
    referral.review_note = reason.strip()[:500]
    referral.reviewed_by = actor[:100]
    referral.reviewed_at = timezone.now()
    decided = ["status", "review_note", "reviewed_by", "reviewed_at"]
    if not approve:
        referral.status = ReferralStatus.REJECTED
        referral.save(update_fields=decided)
        return referral
    referral.status = ReferralStatus.COMPLETED if referral.friend_order_id else ReferralStatus.PENDING
    if referral.status == ReferralStatus.COMPLETED:
        referral.completed_at = timezone.now()
    referral.save(update_fields=[*decided, "completed_at"])
    if referral.status == ReferralStatus.COMPLETED:
        _reward(referral)
    elif not referral.friend_code:  # approved before the friend ordered: now the friend's code
        transaction.on_commit(lambda: _friend_code_issue(referral=referral))
    return referral


@dataclass(frozen=True)
class ReferralSettings:
    """What the merchant sets for referrals: the friend's first-order discount, both sides'
    points (the two referral earning rules; 0 switches a side's reward off) and the fraud limits."""

    referral_friend_discount_percent: int
    referral_referrer_points: int
    referral_friend_points: int
    referral_monthly_cap: int
    referral_ip_weekly_limit: int


def referral_settings_get(*, shop: Shop) -> ReferralSettings:
    program = program_get(shop=shop)
    points = dict(EarningRule.objects.filter(shop=shop, kind__in=[RuleKind.REFERRAL_REFERRER, RuleKind.REFERRAL_FRIEND],
                                             is_enabled=True).values_list("kind", "points"))
    return ReferralSettings(
        referral_friend_discount_percent=program.referral_friend_discount_percent,
        referral_referrer_points=points.get(RuleKind.REFERRAL_REFERRER, 0),
        referral_friend_points=points.get(RuleKind.REFERRAL_FRIEND, 0),
        referral_monthly_cap=program.referral_monthly_cap,
        referral_ip_weekly_limit=program.referral_ip_weekly_limit,
    )


@transaction.atomic
def referral_settings_update(*, shop: Shop, settings: ReferralSettings) -> ReferralSettings:
    """Save the referral settings; they apply to referrals claimed or completed from now on."""
    if not 1 <= settings.referral_friend_discount_percent <= 100:
        raise ApplicationError("the friend's discount is between 1 and 100 percent", status=400)
    if min(settings.referral_referrer_points, settings.referral_friend_points, settings.referral_monthly_cap,
           settings.referral_ip_weekly_limit) < 0:
        raise ApplicationError("points and limits cannot be negative", status=400)
    program = program_defaults_create(shop=shop)
    program.referral_friend_discount_percent = settings.referral_friend_discount_percent
    program.referral_monthly_cap = settings.referral_monthly_cap
    program.referral_ip_weekly_limit = settings.referral_ip_weekly_limit
    program.save(update_fields=["referral_friend_discount_percent", "referral_monthly_cap", "referral_ip_weekly_limit",
                                "updated_at"])
    for kind, points in ((RuleKind.REFERRAL_REFERRER, settings.referral_referrer_points),
                         (RuleKind.REFERRAL_FRIEND, settings.referral_friend_points)):
        EarningRule.objects.update_or_create(shop=shop, kind=kind, defaults={"points": points, "is_enabled": True})
    return referral_settings_get(shop=shop)

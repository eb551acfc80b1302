"""Points for what shoppers do besides buying, and the game around it: badges and challenges.

Each action earns once per its natural key: signup once per account, a birthday once a year
(and a changed birthday cannot earn again within 12 months), a review once per review, a survey
once per survey, each social action once per network.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from commerce import events
from commerce.models import Customer, Shop
from commerce.selectors import ORDER_NET_VALUE
from loyalty.models import (
    Account,
    AccountBadge,
    Badge,
    BadgeKind,
    Challenge,
    ChallengeCompletion,
    ChallengeGoal,
    EntryKind,
    EntrySource,
    LedgerEntry,
    Referral,
    ReferralStatus,
    Review,
    RuleKind,
)
from loyalty.selectors import account_orders, program_get
from loyalty.services.earning import rule_points_award
from loyalty.services.ledger import account_for_customer, entry_write
from retention_app.errors import ApplicationError

SOCIAL_NETWORKS = {"instagram", "facebook", "tiktok", "x", "youtube", "whatsapp", "telegram"}


def signup_award(*, customer: Customer) -> LedgerEntry | None:
    account = account_for_customer(shop=customer.shop, customer=customer)
    entry = rule_points_award(account=account, kind=RuleKind.SIGNUP, reason="joined the program")
    badges_review(account=account)
    return entry


def birthdays_award(*, shop: Shop, today: date | None = None) -> int:
    """Daily: birthday points for customers whose birthday is today in the shop's time zone."""
    program = program_get(shop=shop)
    if not program.is_enabled:
        return 0
    today = today or timezone.now().astimezone(ZoneInfo(shop.timezone or "UTC")).date()
    born_today = Customer.objects.filter(shop=shop, is_deleted=False, birthday__month=today.month,
                                         birthday__day=today.day)
    if today.month == 3 and today.day == 1 and not _leap(today.year):
        born_today = born_today | Customer.objects.filter(shop=shop, is_deleted=False, birthday__month=2,
                                                          birthday__day=29)
    awarded = 0
    for customer in born_today.select_related("shop"):
        account = account_for_customer(shop=shop, customer=customer)
        recent = LedgerEntry.objects.filter(
            account=account, source_id=RuleKind.BIRTHDAY,
            # 363 days: next year's birthday still earns even if the daily job runs a bit earlier
            created_at__gte=timezone.now() - timedelta(days=363),
        ).exists()
        if recent:  # a birthday changed to a nearer date cannot earn twice in 12 months
            continue
        if rule_points_award(account=account, kind=RuleKind.BIRTHDAY, key_suffix=str(today.year),
                             reason="happy birthday"):
            awarded += 1
    return awarded


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def review_record(*, account: Account, external_id: str, product_platform_id: str = "",
                  rating: int | None = None) -> Review:
    """A review reported by the review app: points once per review, then badges and challenges."""
    try:
        with transaction.atomic():
            review = Review.objects.create(shop_id=account.shop_id, account=account, external_id=external_id,
                                           product_platform_id=product_platform_id, rating=rating)
    except IntegrityError:
        return Review.objects.get(shop_id=account.shop_id, external_id=external_id)
    rule_points_award(account=account, kind=RuleKind.REVIEW, key_suffix=external_id, reason="product review")
    events.emit(shop=account.shop, name="loyalty.review_recorded", key=f"review-recorded:{review.pk}",
                payload={"account_id": account.pk, "review_id": review.pk})
    events.dispatch_soon()
    badges_review(account=account)
    challenges_review(account=account)
    return review


def survey_answered(*, account: Account, survey_id: str) -> LedgerEntry | None:
    return rule_points_award(account=account, kind=RuleKind.SURVEY, key_suffix=survey_id, reason="survey answered")


def social_action(*, account: Account, action: str, network: str) -> LedgerEntry | None:
    network = network.strip().lower()
    if network not in SOCIAL_NETWORKS:
        raise ApplicationError("unknown network", status=400)
    kind = {"follow": RuleKind.SOCIAL_FOLLOW, "share": RuleKind.SOCIAL_SHARE}.get(action)
    if kind is None:
        raise ApplicationError("unknown social action", status=400)
    return rule_points_award(account=account, kind=kind, key_suffix=network, reason=f"{action} on {network}")


# --- badges ----------------------------------------------------------------------------------

def _earned(badge: Badge, account: Account) -> bool:
    if badge.kind == BadgeKind.MEMBER:
        return True
    if badge.kind == BadgeKind.PARTNER:
        return Referral.objects.filter(referrer=account, status=ReferralStatus.COMPLETED).exists()
    if badge.kind == BadgeKind.FIRST_REVIEW:
        return Review.objects.filter(account=account).exists()
    if badge.kind == BadgeKind.ORDERS:
        return account_orders(account=account).count() >= badge.threshold
    if badge.kind == BadgeKind.TIER:
        return account.tier is not None and account.tier.name == badge.tier_name
    return False


def badges_review(*, account: Account) -> list[Badge]:
    """Award every badge the account now qualifies for (once each, with its points)."""
    owned = set(AccountBadge.objects.filter(account=account).values_list("badge_id", flat=True))
    awarded = []
    for badge in Badge.objects.filter(shop_id=account.shop_id, is_active=True).exclude(pk__in=owned):
        if not _earned(badge, account):
            continue
        try:
            with transaction.atomic():
                AccountBadge.objects.create(shop_id=account.shop_id, account=account, badge=badge)
        except IntegrityError:
            continue
        if badge.points:
            entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.RULE, source_id=f"badge:{badge.pk}",
                        key=f"badge:{badge.pk}:{account.pk}", points=badge.points, reason=f"badge: {badge.name}")
        awarded.append(badge)
    return awarded


# --- challenges ------------------------------------------------------------------------------

def challenge_progress(*, challenge: Challenge, account: Account, at: datetime | None = None) -> Decimal:
    at = at or timezone.now()
    until = min(at, challenge.ends_at)
    if challenge.goal == ChallengeGoal.REVIEWS:
        return Decimal(Review.objects.filter(account=account, created_at__gte=challenge.starts_at,
                                             created_at__lte=until).count())
    orders = account_orders(account=account).filter(processed_at__gte=challenge.starts_at, processed_at__lte=until)
    if challenge.goal == ChallengeGoal.ORDERS:
        return Decimal(orders.count())
    return orders.aggregate(spend=Sum(ORDER_NET_VALUE))["spend"] or Decimal("0")


def challenges_review(*, account: Account, at: datetime | None = None) -> list[Challenge]:
    at = at or timezone.now()
    done = set(ChallengeCompletion.objects.filter(account=account).values_list("challenge_id", flat=True))
    completed = []
    running = Challenge.objects.filter(shop_id=account.shop_id, is_active=True, starts_at__lte=at,
                                       ends_at__gte=at - timedelta(days=1)).exclude(pk__in=done)
    for challenge in running:
        if challenge_progress(challenge=challenge, account=account, at=at) < challenge.target:
            continue
        try:
            with transaction.atomic():
                ChallengeCompletion.objects.create(shop_id=account.shop_id, challenge=challenge, account=account)
        except IntegrityError:
            continue
        if challenge.points:
            entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.RULE,
                        source_id=f"challenge:{challenge.pk}", key=f"challenge:{challenge.pk}:{account.pk}",
                        points=challenge.points, reason=f"challenge: {challenge.name}")
        completed.append(challenge)
    return completed

"""Points for what shoppers do besides buying, and the game around it: badges and challenges.

Each action earns once per its natural key: signup once per account, a birthday once a year
(and a changed birthday cannot earn again within 12 months), a review once per review, a survey
once per survey, each social action once per network.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
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
from loyalty.selectors import account_orders, counted_orders, program_get
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


def badges_review_many(*, shop_id: int, accounts: list[Account]) -> None:
    """``badges_review`` for many accounts of one shop, with one read per kind of check for all
    of them (what they hold, completed referrals, reviews, counted orders) instead of per account
    and badge; awarding stays one at a time (it is rare)."""
    badges = list(Badge.objects.filter(shop_id=shop_id, is_active=True).order_by("pk"))
    if not badges or not accounts:
        return
    ids = [account.pk for account in accounts]
    owned: dict[int, set[int]] = {}
    for account_id, badge_id in AccountBadge.objects.filter(shop_id=shop_id, account_id__in=ids).values_list(
            "account_id", "badge_id"):
        owned.setdefault(account_id, set()).add(badge_id)
    wanted = [(account, badge) for account in accounts for badge in badges if badge.pk not in owned.get(account.pk, ())]
    kinds = {badge.kind for _, badge in wanted}
    partners = set(Referral.objects.filter(shop_id=shop_id, referrer_id__in=ids, status=ReferralStatus.COMPLETED)
                   .values_list("referrer_id", flat=True)) if BadgeKind.PARTNER in kinds else set()
    reviewers = set(Review.objects.filter(shop_id=shop_id, account_id__in=ids).values_list("account_id", flat=True)
                    ) if BadgeKind.FIRST_REVIEW in kinds else set()
    counts = _orders_counted_by_account(shop_id=shop_id, accounts=accounts) if BadgeKind.ORDERS in kinds else {}
    for account, badge in wanted:
        earned = (badge.kind == BadgeKind.MEMBER
                  or (badge.kind == BadgeKind.PARTNER and account.pk in partners)
                  or (badge.kind == BadgeKind.FIRST_REVIEW and account.pk in reviewers)
                  or (badge.kind == BadgeKind.ORDERS and counts.get(account.pk, 0) >= badge.threshold)
                  or (badge.kind == BadgeKind.TIER and account.tier is not None
                      and account.tier.name == badge.tier_name))
        if not earned:
            continue
        try:
            with transaction.atomic():
                AccountBadge.objects.create(shop_id=shop_id, account=account, badge=badge)
        except IntegrityError:
            continue
        if badge.points:
            entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.RULE, source_id=f"badge:{badge.pk}",
                        key=f"badge:{badge.pk}:{account.pk}", points=badge.points, reason=f"badge: {badge.name}")


def _orders_counted_by_account(*, shop_id: int, accounts: list[Account]) -> dict[int, int]:
    """How many counted orders each account has (``account_orders(...).count()`` for each)."""
    orders = counted_orders(shop_id=shop_id)
    counts: dict[int, int] = {}
    by_customer = {account.customer_id: account.pk for account in accounts if account.customer_id}
    if by_customer:
        for customer_id, count in (orders.filter(customer_id__in=list(by_customer)).values("customer_id")
                                   .annotate(orders=Count("pk")).order_by().values_list("customer_id", "orders")):
            counts[by_customer[customer_id]] = count
    by_email = {account.email: account.pk for account in accounts if not account.customer_id}
    if by_email:
        for email, count in (orders.filter(email__in=list(by_email)).values("email")
                             .annotate(orders=Count("pk")).order_by().values_list("email", "orders")):
            counts[by_email[email]] = count
    return counts


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

"""The loyalty program: settings, earning rules, accounts, the points ledger, rewards, tiers.

The ledger (``LedgerEntry``) is append-only: a balance is the sum of entries, and every entry
carries a per-shop ``idempotency_key`` naming its source (``earn:order:5001``,
``reverse:refund:77``), so the same source can never earn or reverse twice.  Pending points are
entries whose ``available_at`` lies in the future (the return window); they become spendable
when that time passes, without a second write.  On PostgreSQL the database holds the rule too: a
trigger (migration 0009) refuses UPDATE and DELETE of entries except along the privacy eraser's
paths (``loyalty.privacy.ledger_erasure``).

Each entry has three times: ``occurred_at`` (when what it records happened: the order's date for
purchase points, the refund's or cancellation's for a reversal, the moment itself for everything
else; reports, the shopper's activity and tier periods use it), ``available_at`` (when the
points became spendable; expiry counts from it) and ``created_at`` (when the row was written).
Entries written by the history backfill carry ``actor=HISTORY_ACTOR``.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from commerce.models import Customer, Order, Shop
from loyalty.program_version import program_cache_bump
from retention_app.fields import money_field


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    NEAREST = "nearest", _("Round to nearest")
    UP = "up", _("Round up")


class AwardOn(models.TextChoices):
    PAID = "paid", _("When the order is paid")
    FULFILLED = "fulfilled", _("When the order is fulfilled")


class NegativePolicy(models.TextChoices):
    ALLOW_NEGATIVE = "allow_negative", _("Allow a negative balance that later earnings repay")
    CAP_AT_ZERO = "cap_at_zero", _("Stop at zero and record the shortfall")


class ExpiryMode(models.TextChoices):
    NONE = "none", _("Points never expire")
    INACTIVITY = "inactivity", _("All points expire after months without an order")
    BATCH = "batch", _("Each earned batch expires after a number of days")


class ProgramDataQuerySet(models.QuerySet[Any]):
    """Rows the storefront widget caches per shop (``loyalty.program_cache``): writes that send no
    ``post_save`` (``update``, ``bulk_create``, ``bulk_update``) invalidate the shops they touch."""

    def update(self, **kwargs: Any) -> int:
        shop_ids = set(self.order_by().values_list("shop_id", flat=True).distinct())
        rows = super().update(**kwargs)
        for shop_id in shop_ids:
            program_cache_bump(shop_id=shop_id)
        return rows

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        for shop_id in {int(obj.shop_id) for obj in created}:
            program_cache_bump(shop_id=shop_id)
        return created

    def bulk_update(self, objs: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        rows = super().bulk_update(objs, *args, **kwargs)
        for shop_id in {int(obj.shop_id) for obj in objs}:
            program_cache_bump(shop_id=shop_id)
        return rows


class Program(models.Model):
    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="loyalty_program")
    is_enabled = models.BooleanField(default=False)
    points_per_currency_unit = models.DecimalField(max_digits=10, decimal_places=4, default=1)
    rounding = models.CharField(max_length=10, choices=Rounding.choices, default=Rounding.DOWN)
    include_tax = models.BooleanField(default=False)
    include_shipping = models.BooleanField(default=False)
    award_on = models.CharField(max_length=10, choices=AwardOn.choices, default=AwardOn.PAID)
    pending_days = models.PositiveIntegerField(default=14)
    negative_policy = models.CharField(
        max_length=20, choices=NegativePolicy.choices, default=NegativePolicy.ALLOW_NEGATIVE
    )
    expiry_mode = models.CharField(max_length=12, choices=ExpiryMode.choices, default=ExpiryMode.NONE)
    expiry_months = models.PositiveIntegerField(default=12)
    expiry_days = models.PositiveIntegerField(default=365)
    expiry_warning_days = models.PositiveIntegerField(default=14)
    # What a point is worth to the shop, for the liability report (e.g. 100 points = 5.00).
    point_value = money_field(default=Decimal("0.05"))
    referral_friend_discount_percent = models.PositiveIntegerField(default=10)
    referral_monthly_cap = models.PositiveIntegerField(default=10)
    referral_ip_weekly_limit = models.PositiveIntegerField(default=3)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProgramDataQuerySet.as_manager()  # set-based writes invalidate the widget cache

    def __str__(self) -> str:
        return f"loyalty program of {self.shop}"


class RuleKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    SIGNUP = "signup", _("Account created")
    BIRTHDAY = "birthday", _("Birthday")
    REVIEW = "review", _("Product review")
    SURVEY = "survey", _("Survey answered")
    REFERRAL_REFERRER = "referral_referrer", _("Referred a friend")
    REFERRAL_FRIEND = "referral_friend", _("Joined through a referral")
    SOCIAL_FOLLOW = "social_follow", _("Followed us")
    SOCIAL_SHARE = "social_share", _("Shared us")


class EarningRule(models.Model):
    """Points for one kind of action.  ``multipliers`` (purchase only) maps product or
    collection platform ids to a factor: ``{"products": {"123": "2"}, "collections": {}}``."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    points = models.PositiveIntegerField(default=0)
    is_enabled = models.BooleanField(default=True)
    multipliers = models.JSONField(default=dict, blank=True)

    objects = ProgramDataQuerySet.as_manager()  # set-based writes invalidate the widget cache

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kind"], name="earningrule_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.points}"


class TierBasis(models.TextChoices):
    SPEND = "spend", _("Money spent")
    POINTS = "points", _("Points earned")


class TierPeriod(models.TextChoices):
    LIFETIME = "lifetime", _("Lifetime")
    CALENDAR_YEAR = "calendar_year", _("Calendar year")
    ROLLING_12_MONTHS = "rolling_12_months", _("Rolling 12 months")


class TierScheme(models.Model):
    """One version of the tier rules; exactly one is active per shop.  Changing the rules
    creates a new version (and a dry run first), so earlier decisions stay explainable."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    version = models.PositiveIntegerField()
    basis = models.CharField(max_length=10, choices=TierBasis.choices, default=TierBasis.SPEND)
    period = models.CharField(max_length=20, choices=TierPeriod.choices, default=TierPeriod.LIFETIME)
    grace_days = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProgramDataQuerySet.as_manager()  # set-based writes invalidate the widget cache

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "version"], name="tierscheme_unique_version"),
            models.UniqueConstraint(fields=["shop"], condition=Q(is_active=True), name="tierscheme_one_active"),
        ]

    def __str__(self) -> str:
        return f"tiers v{self.version} of {self.shop_id}"


def name_in(names: dict[str, str] | None, fallback: str, language: str) -> str:
    """A merchant-given name in ``language`` (``he``, ``fa-IR``…), else the default ``name``."""
    if names and language:
        chosen = names.get(language) or names.get(language.split("-")[0].lower())
        if chosen:
            return str(chosen)
    return fallback


class Tier(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    scheme = models.ForeignKey(TierScheme, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=100)
    names = models.JSONField(default=dict, blank=True)  # {"he": "זהב", "fa": "طلایی"}: name per language
    threshold = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    earn_multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=1)
    perks = models.JSONField(default=dict, blank=True)  # free_shipping, birthday_gift, early_access
    entry_points = models.PositiveIntegerField(default=0)

    objects = ProgramDataQuerySet.as_manager()  # set-based writes invalidate the widget cache

    class Meta:
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "scheme", "name"], name="tier_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ManualTierMode(models.TextChoices):
    NONE = "", _("Computed")
    FLOOR = "floor", _("At least this tier")
    FIXED = "fixed", _("Exactly this tier")


class Account(models.Model):
    """A shopper's loyalty account: a customer's, or a guest's held against an email."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.CharField(max_length=320, blank=True)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tier_since = models.DateTimeField(null=True, blank=True)
    manual_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    manual_tier_mode = models.CharField(max_length=5, choices=ManualTierMode.choices, blank=True, default="")
    referral_code = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "customer"], condition=Q(customer__isnull=False), name="account_unique_customer"
            ),
            models.UniqueConstraint(
                fields=["shop", "email"], condition=Q(customer__isnull=True), name="account_unique_guest_email"
            ),
            models.UniqueConstraint(fields=["shop", "referral_code"], name="account_unique_referral_code"),
        ]

    def __str__(self) -> str:
        return f"account {self.pk} ({self.customer_id or self.email})"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    REVERSE = "reverse", _("Reversed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")
    TRANSFER = "transfer", _("Transferred")


class EntrySource(models.TextChoices):
    ORDER = "order", _("Order")
    REFUND = "refund", _("Refund")
    CANCELLATION = "cancellation", _("Cancellation")
    RULE = "rule", _("Earning rule")
    REVIEW = "review", _("Review")
    REDEMPTION = "redemption", _("Reward redemption")
    ADMIN = "admin", _("Merchant")
    EXPIRY = "expiry", _("Expiry")
    ACCOUNT = "account", _("Account merge")


# ``LedgerEntry.actor`` of the entries the history backfill writes (points for orders from before
# the program): expiry gives them a full period from the backfill, not from the order's date.
HISTORY_ACTOR = "history-backfill"


class LedgerEntry(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    source = models.CharField(max_length=15, choices=EntrySource.choices)
    source_id = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=200)
    points = models.IntegerField()
    # Points a reversal could not take back because they were spent (cap-at-zero policy).
    shortfall = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=100, blank=True)  # who, when not an operator: "shopify-user:42"
    # When it happened (the order's date for purchase points); ``created_at``: when it was written.
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["shop", "idempotency_key"], name="ledgerentry_unique_key"),
        ]
        indexes = [
            models.Index(fields=["account", "available_at"]),
            models.Index(fields=["shop", "occurred_at"]),  # the points report, per day
            # reversals and the backfill look entries up by their source (an order's id)
            models.Index(fields=["shop", "source_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.kind} ({self.idempotency_key})"


class RewardKind(models.TextChoices):
    FIXED_AMOUNT = "fixed_amount", _("Fixed amount off")
    PERCENTAGE = "percentage", _("Percentage off")
    FREE_SHIPPING = "free_shipping", _("Free shipping")
    FREE_PRODUCT = "free_product", _("Free product")


class Reward(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=200)
    names = models.JSONField(default=dict, blank=True)  # {"he": "...", "fa": "..."}: name per language
    kind = models.CharField(max_length=20, choices=RewardKind.choices)
    points_cost = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    minimum_subtotal = models.DecimalField(max_digits=20, decimal_places=3, null=True, blank=True)
    collection_platform_id = models.CharField(max_length=64, blank=True)
    variant_platform_id = models.CharField(max_length=64, blank=True)
    code_valid_days = models.PositiveIntegerField(default=30)
    tier_only = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Scope the code to the shopper's favourite category (from their purchase history).
    personalised = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProgramDataQuerySet.as_manager()  # set-based writes invalidate the widget cache

    class Meta:
        indexes = [models.Index(fields=["shop", "is_active", "points_cost"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.points_cost} points)"

    def name_in(self, language: str) -> str:
        return name_in(self.names, self.name, language)


class RedemptionStatus(models.TextChoices):
    PENDING = "pending", _("Creating the code")
    ISSUED = "issued", _("Code issued")
    FAILED = "failed", _("Failed (points returned)")
    USED = "used", _("Used in an order")


class Redemption(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField()
    code = models.CharField(max_length=64)
    platform_discount_id = models.CharField(max_length=64, blank=True)
    scope = models.CharField(max_length=200, blank=True)  # e.g. the favourite category it was scoped to
    status = models.CharField(max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.PENDING)
    error = models.CharField(max_length=500, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "code"], name="redemption_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} ({self.status})"


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the friend's first order")
    REVIEW = "review", _("Waiting for the merchant's review")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


class Referral(models.Model):
    """A friend referred by an account.  ``reasons`` lists every fraud rule that fired."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    referrer = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="referrals")
    friend_email = models.CharField(max_length=320)
    friend_customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    friend_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING)
    reasons = models.JSONField(default=list, blank=True)
    friend_code = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The merchant's decision on a referral held for review: why, who ("shopify-user:42"), when.
    review_note = models.CharField(max_length=500, blank=True)
    reviewed_by = models.CharField(max_length=100, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "friend_email"], name="referral_unique_friend"),
        ]
        indexes = [models.Index(fields=["shop", "status"]), models.Index(fields=["shop", "ip", "created_at"])]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.friend_email} ({self.status})"


class BadgeKind(models.TextChoices):
    MEMBER = "member", _("Member: joined the program")
    PARTNER = "partner", _("Partner: referred a friend who ordered")
    FIRST_REVIEW = "first_review", _("Wrote a first review")
    ORDERS = "orders", _("Placed a number of orders")
    TIER = "tier", _("Reached a tier")


class Badge(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=15, choices=BadgeKind.choices)
    name = models.CharField(max_length=100)
    threshold = models.PositiveIntegerField(default=1)  # orders for ORDERS; unused otherwise
    tier_name = models.CharField(max_length=100, blank=True)  # for TIER
    points = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="badge_unique_name")]

    def __str__(self) -> str:
        return self.name


class AccountBadge(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="badges")
    badge = models.ForeignKey(Badge, on_delete=models.CASCADE, related_name="+")
    awarded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "account", "badge"], name="accountbadge_unique")]

    def __str__(self) -> str:
        return f"{self.badge_id} for {self.account_id}"


class ChallengeGoal(models.TextChoices):
    ORDERS = "orders", _("Place orders")
    REVIEWS = "reviews", _("Review products")
    SPEND = "spend", _("Spend an amount")


class Challenge(models.Model):
    """A time-boxed goal: e.g. 3 orders within 90 days of joining the challenge window."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=200)
    goal = models.CharField(max_length=10, choices=ChallengeGoal.choices)
    target = models.DecimalField(max_digits=20, decimal_places=3)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    points = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class ChallengeCompletion(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "challenge", "account"], name="challengecompletion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.challenge_id} by {self.account_id}"


class Review(models.Model):
    """A product review reported by the merchant's review app (for points, badges, challenges)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=100)
    product_platform_id = models.CharField(max_length=64, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "external_id"], name="review_unique_external")]

    def __str__(self) -> str:
        return f"review {self.external_id}"


#: The languages the widget speaks (its texts per language in the designer).
WIDGET_LANGUAGES = ("en", "he", "fa")
#: The widget's sections the merchant can show or hide, in the panel's order.
WIDGET_SECTIONS = ("points", "ways_to_earn", "rewards", "tiers", "referrals", "surveys")


class LauncherPosition(models.TextChoices):
    THEME = "", _("As set in the theme editor")
    RIGHT = "right", _("Bottom right")
    LEFT = "left", _("Bottom left")
    BOTTOM = "bottom", _("Bottom centre")


class WidgetSettings(models.Model):
    """The widget designer's choices for one shop.  A blank colour, position or text means "not
    set here": the theme editor's app-embed setting applies, then the widget's own default (the
    designer wins over the block settings, which are the fallback)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="widget_settings")
    accent_color = models.CharField(max_length=7, blank=True)  # "#4a2f8f"; blank: the theme editor's
    accent_text_color = models.CharField(max_length=7, blank=True)  # text on the accent; blank: white
    launcher_position = models.CharField(max_length=6, choices=LauncherPosition.choices, blank=True, default="")
    # {"he": {"launcher_label": "...", "title": "...", "welcome": "..."}}: the merchant's texts per language
    texts = models.JSONField(default=dict, blank=True)
    show_points = models.BooleanField(default=True)
    show_ways_to_earn = models.BooleanField(default=True)
    show_rewards = models.BooleanField(default=True)
    show_tiers = models.BooleanField(default=True)
    show_referrals = models.BooleanField(default=True)
    show_surveys = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProgramDataQuerySet.as_manager()  # set-based writes invalidate the widget cache

    class Meta:
        verbose_name_plural = "widget settings"

    def __str__(self) -> str:
        return f"widget settings of {self.shop_id}"

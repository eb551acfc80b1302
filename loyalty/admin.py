"""Operators' views of the loyalty program.  The ledger is append-only, also here."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from loyalty.models import (
    Account,
    Badge,
    Challenge,
    EarningRule,
    LedgerEntry,
    Program,
    Redemption,
    Referral,
    Reward,
    Tier,
    TierScheme,
)
from loyalty.services.ledger import account_balance
from loyalty.services.referrals import referral_review


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("shop", "is_enabled", "points_per_currency_unit", "pending_days", "expiry_mode",
                    "negative_policy")
    list_filter = ("is_enabled", "expiry_mode")


@admin.register(EarningRule)
class EarningRuleAdmin(admin.ModelAdmin):
    list_display = ("shop", "kind", "points", "is_enabled")
    list_filter = ("kind", "is_enabled")


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ("occurred_at", "kind", "points", "shortfall", "available_at", "reason", "idempotency_key", "actor",
              "created_at")
    readonly_fields = fields
    ordering = ("-occurred_at", "-pk")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "customer", "email", "tier", "referral_code", "balance")
    list_filter = ("shop",)
    search_fields = ("email", "customer__email", "referral_code", "customer__platform_id")
    list_select_related = ("shop", "customer", "tier")
    readonly_fields = ("shop", "customer", "email", "referral_code", "tier", "tier_since", "balance")
    inlines = [LedgerEntryInline]

    @admin.display(description="balance (available / pending)")
    def balance(self, account: Account) -> str:
        balance = account_balance(account=account)
        return f"{balance.available} / {balance.pending}"

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # it would take its ledger entries along (refused on PostgreSQL); privacy requests erase


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "created_at", "shop", "account", "kind", "source", "points", "shortfall", "reason")
    list_filter = ("kind", "source", "shop")
    search_fields = ("idempotency_key", "reason", "source_id")
    date_hierarchy = "created_at"

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # adjustments go through the merchant API, with a reason and an author


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "kind", "points_cost", "value", "tier_only", "is_active")
    list_filter = ("kind", "is_active", "shop")


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ("code", "shop", "account", "reward", "points", "status", "created_at", "used_at")
    list_filter = ("status", "shop")
    search_fields = ("code",)
    readonly_fields = [f.name for f in Redemption._meta.fields]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "referrer", "friend_email", "status", "reasons", "ip", "created_at")
    list_filter = ("status", "shop")
    search_fields = ("friend_email", "referrer__referral_code")
    readonly_fields = [f.name for f in Referral._meta.fields]
    actions = ["approve", "reject"]

    def _review(self, request: HttpRequest, queryset: QuerySet[Referral], approve: bool) -> None:
        done = 0
        for referral in queryset.filter(status="review"):
            referral_review(referral=referral, approve=approve)
            done += 1
        self.message_user(request, f"{done} referrals reviewed.", messages.SUCCESS)

    @admin.action(description="Approve the selected referrals under review")
    def approve(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        self._review(request, queryset, True)

    @admin.action(description="Reject the selected referrals under review")
    def reject(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        self._review(request, queryset, False)


class TierInline(admin.TabularInline):
    model = Tier
    extra = 0
    fields = ("name", "threshold", "earn_multiplier", "entry_points", "perks")


@admin.register(TierScheme)
class TierSchemeAdmin(admin.ModelAdmin):
    list_display = ("shop", "version", "basis", "period", "grace_days", "is_active")
    list_filter = ("is_active", "basis", "period")
    inlines = [TierInline]


admin.site.register(Badge)
admin.site.register(Challenge)

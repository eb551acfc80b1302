"""The merchant's loyalty API (embedded admin, Shopify session token).

One thin view per operation: validate with ``InputSerializer``, call one service or selector,
answer with ``OutputSerializer``.  ``self.shop`` comes from the verified token; every lookup is
scoped by it, so a shop can never reach another's rows.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Manager, QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from commerce.models import Customer
from loyalty import selectors
from loyalty.models import Account, Badge, Challenge, EarningRule, Program, Referral, Reward, TierScheme
from loyalty.services import actions, badges, earning, referrals, rewards, tiers
from loyalty.services.ledger import account_balance, account_for_customer
from loyalty.services.program import program_update, rule_update
from retention_app.api import ShopScopedApi
from retention_app.bounds import MAX_YEAR, MIN_YEAR, year_in_bounds
from retention_app.errors import ApplicationError


@contextmanager
def _field_errors() -> Iterator[None]:
    """A service's ``ValidationError`` (its rules, keyed by field) answered as the API's 400."""
    try:
        yield
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.message_dict) from error


def _get(queryset: "QuerySet[Any] | Manager[Any]", **lookup: Any) -> Any:
    found = queryset.filter(**lookup).first()
    if found is None:
        raise ApplicationError("not found", status=404)
    return found


class ProgramApi(ShopScopedApi):
    class ProgramSerializer(serializers.ModelSerializer):
        class Meta:
            model = Program
            exclude = ["id", "shop", "created_at", "updated_at"]

    def get(self, request: Request) -> Response:
        return Response(self.ProgramSerializer(selectors.program_get(shop=self.shop)).data)

    def patch(self, request: Request) -> Response:
        serializer = self.ProgramSerializer(selectors.program_get(shop=self.shop), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with _field_errors():
            program = program_update(shop=self.shop, changes=serializer.validated_data)
        return Response(self.ProgramSerializer(program).data)


class RuleListApi(ShopScopedApi):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = EarningRule
            fields = ["kind", "points", "is_enabled", "multipliers"]
            read_only_fields = ["kind"]

    def get(self, request: Request) -> Response:
        rules = EarningRule.objects.filter(shop=self.shop).order_by("kind")
        return Response(self.OutputSerializer(rules, many=True).data)


class RuleUpdateApi(ShopScopedApi):
    def patch(self, request: Request, kind: str) -> Response:
        rule = _get(EarningRule.objects, shop=self.shop, kind=kind)
        serializer = RuleListApi.OutputSerializer(rule, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with _field_errors():
            rule = rule_update(shop=self.shop, kind=kind, changes=serializer.validated_data)
        return Response(RuleListApi.OutputSerializer(rule).data)


class RewardSerializer(serializers.ModelSerializer):
    """Types only; the rules a reward follows live in ``loyalty.services.rewards``."""

    class Meta:
        model = Reward
        fields = ["id", "name", "names", "kind", "points_cost", "value", "minimum_subtotal", "collection_platform_id",
                  "variant_platform_id", "code_valid_days", "tier_only", "personalised", "is_active"]


class RewardListApi(ShopScopedApi):
    def get(self, request: Request) -> Response:
        return Response(RewardSerializer(Reward.objects.filter(shop=self.shop).order_by("points_cost"), many=True).data)

    def post(self, request: Request) -> Response:
        serializer = RewardSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with _field_errors():
            reward = rewards.reward_create(shop=self.shop, data=serializer.validated_data)
        return Response(RewardSerializer(reward).data, status=201)


class RewardDetailApi(ShopScopedApi):
    def patch(self, request: Request, reward_id: int) -> Response:
        reward = _get(Reward.objects, shop=self.shop, pk=reward_id)
        serializer = RewardSerializer(reward, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with _field_errors():
            reward = rewards.reward_update(reward=reward, changes=serializer.validated_data)
        return Response(RewardSerializer(reward).data)


class TierSchemeApi(ShopScopedApi):
    class TierInput(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        threshold = serializers.DecimalField(max_digits=20, decimal_places=3, min_value=Decimal(0))
        earn_multiplier = serializers.DecimalField(max_digits=6, decimal_places=3, min_value=Decimal(0),
                                                   default=Decimal(1))
        entry_points = serializers.IntegerField(min_value=0, default=0)
        perks = serializers.DictField(required=False)
        names = serializers.DictField(child=serializers.CharField(max_length=100, allow_blank=True), required=False)

    class InputSerializer(serializers.Serializer):
        basis = serializers.ChoiceField(choices=["spend", "points"])
        period = serializers.ChoiceField(choices=["lifetime", "calendar_year", "rolling_12_months"])
        grace_days = serializers.IntegerField(min_value=0, default=30)
        tiers = serializers.ListField(child=serializers.DictField(), min_length=1)

    def get(self, request: Request) -> Response:
        schemes = TierScheme.objects.filter(shop=self.shop).prefetch_related("tiers").order_by("-version")
        return Response([
            {"id": s.pk, "version": s.version, "basis": s.basis, "period": s.period, "grace_days": s.grace_days,
             "is_active": s.is_active,
             "tiers": [{"name": t.name, "threshold": str(t.threshold), "earn_multiplier": str(t.earn_multiplier),
                        "entry_points": t.entry_points, "perks": t.perks, "names": t.names} for t in s.tiers.all()]}
            for s in schemes
        ])

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        specs = []
        for raw in data.validated_data["tiers"]:
            tier = self.TierInput(data=raw)
            tier.is_valid(raise_exception=True)
            specs.append(tiers.TierSpec(**tier.validated_data))
        scheme = tiers.tier_scheme_propose(shop=self.shop, basis=data.validated_data["basis"],
                                           period=data.validated_data["period"],
                                           grace_days=data.validated_data["grace_days"], tiers=specs)
        return Response({"id": scheme.pk, "version": scheme.version}, status=201)


def _plan(plan: tiers.DryRun) -> dict:
    return {"up": plan.up, "down": plan.down,
            "moves": [{"account_id": m.account_id, "from": m.before, "to": m.after} for m in plan.moves]}


class TierSchemeDryRunApi(ShopScopedApi):
    def get(self, request: Request, scheme_id: int) -> Response:
        scheme = _get(TierScheme.objects, shop=self.shop, pk=scheme_id)
        return Response(_plan(tiers.tier_scheme_dry_run(scheme=scheme)))


class TierSchemeActivateApi(ShopScopedApi):
    def post(self, request: Request, scheme_id: int) -> Response:
        scheme = _get(TierScheme.objects, shop=self.shop, pk=scheme_id)
        return Response(_plan(tiers.tier_scheme_activate(scheme=scheme)))


class ReferralListApi(ShopScopedApi):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Referral
            fields = ["id", "referrer", "friend_email", "status", "reasons", "ip", "friend_code", "friend_order",
                      "error", "review_note", "reviewed_by", "reviewed_at", "created_at", "completed_at"]

    def get(self, request: Request) -> Response:
        found = Referral.objects.filter(shop=self.shop).order_by("-created_at")
        if request.query_params.get("status"):
            found = found.filter(status=request.query_params["status"])
        return Response(self.OutputSerializer(found[:200], many=True).data)


class ReferralReviewApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        approve = serializers.BooleanField()
        reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    def post(self, request: Request, referral_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral = referrals.referral_review(referral=_get(Referral.objects, shop=self.shop, pk=referral_id),
                                             approve=data.validated_data["approve"],
                                             reason=data.validated_data["reason"], actor=self.actor)
        return Response(ReferralListApi.OutputSerializer(referral).data)


def _account_summary(account: Account) -> dict:
    balance = account_balance(account=account)
    return {"id": account.pk, "customer_platform_id": account.customer.platform_id if account.customer else None,
            "email": account.customer.email if account.customer else account.email,
            "tier": account.tier.name if account.tier else None,
            "available": balance.available, "pending": balance.pending, "referral_code": account.referral_code}


class CustomerLookupApi(ShopScopedApi):
    def get(self, request: Request) -> Response:
        email = (request.query_params.get("email") or "").strip().lower()
        if not email:
            raise ApplicationError("email is required", status=400)
        accounts = Account.objects.filter(shop=self.shop).select_related("customer", "tier")
        found = accounts.filter(customer__email=email) | accounts.filter(customer__isnull=True, email=email)
        return Response([_account_summary(account) for account in found])


class CustomerDetailApi(ShopScopedApi):
    def get(self, request: Request, account_id: int) -> Response:
        account = _get(Account.objects.select_related("customer", "tier"), shop=self.shop, pk=account_id)
        history = selectors.widget_state(shop=self.shop, account=account)["history"]
        return Response({**_account_summary(account), "history": history})


class CustomerAdjustApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        points = serializers.IntegerField()
        reason = serializers.CharField(max_length=500)
        request_id = serializers.CharField(max_length=100, required=False)

    def post(self, request: Request, account_id: int) -> Response:
        account = _get(Account.objects.select_related("customer", "tier"), shop=self.shop, pk=account_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            earning.points_adjust(account=account, points=data.validated_data["points"],
                                  reason=data.validated_data["reason"], actor=self.actor,
                                  key=data.validated_data.get("request_id"))
        except ValueError as error:
            raise ApplicationError(str(error), status=400) from error
        return Response(_account_summary(account), status=201)


class BackfillApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        apply = serializers.BooleanField(default=False)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = earning.backfill(shop=self.shop, apply=data.validated_data["apply"])
        return Response({"applied": data.validated_data["apply"], "orders": plan.orders,
                         "customers": plan.customers, "points": plan.points})


class PointsReportApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        start = serializers.DateField()
        end = serializers.DateField()

    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        start: date = data.validated_data["start"]
        end: date = data.validated_data["end"]
        if not (year_in_bounds(start) and year_in_bounds(end)):  # year 9999 overflows a day later
            raise ApplicationError(f"dates must be between the years {MIN_YEAR} and {MAX_YEAR}", status=400)
        if end < start or (end - start).days > 366:
            raise ApplicationError("the range must be at most a year, start before end", status=400)
        return Response(selectors.points_accounting(shop=self.shop, start=start, end=end))


class ReviewRecordApi(ShopScopedApi):
    """For the merchant's review app (or its webhook relay): a customer wrote a review."""

    class InputSerializer(serializers.Serializer):
        customer_platform_id = serializers.CharField(max_length=64)
        external_id = serializers.CharField(max_length=100)
        product_platform_id = serializers.CharField(max_length=64, required=False, default="")
        rating = serializers.IntegerField(min_value=1, max_value=5, required=False)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = _get(Customer.objects, shop=self.shop, platform_id=data.validated_data["customer_platform_id"])
        review = actions.review_record(account=account_for_customer(shop=self.shop, customer=customer),
                                       external_id=data.validated_data["external_id"],
                                       product_platform_id=data.validated_data["product_platform_id"],
                                       rating=data.validated_data.get("rating"))
        return Response({"id": review.pk}, status=201)


class ReferralSettingsApi(ShopScopedApi):
    """The referral settings (the same fields as the Referrals settings page)."""

    class InputSerializer(serializers.Serializer):
        referral_friend_discount_percent = serializers.IntegerField(min_value=1, max_value=100, required=False)
        referral_referrer_points = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
        referral_friend_points = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
        referral_monthly_cap = serializers.IntegerField(min_value=0, max_value=1000, required=False)
        referral_ip_weekly_limit = serializers.IntegerField(min_value=0, max_value=1000, required=False)

    def get(self, request: Request) -> Response:
        return Response(vars(referrals.referral_settings_get(shop=self.shop)))

    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        current = referrals.referral_settings_get(shop=self.shop)
        chosen = referrals.ReferralSettings(**{**vars(current), **data.validated_data})
        return Response(vars(referrals.referral_settings_update(shop=self.shop, settings=chosen)))


class BadgeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Badge
        fields = ["id", "kind", "name", "threshold", "tier_name", "points", "is_active"]
        read_only_fields = ["id"]


class BadgeListApi(ShopScopedApi):
    """The shop's badges; a new one is checked by ``loyalty.services.badges`` as on the page."""

    def get(self, request: Request) -> Response:
        return Response(BadgeSerializer(Badge.objects.filter(shop=self.shop).order_by("name"), many=True).data)

    def post(self, request: Request) -> Response:
        serializer = BadgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _field_errors():
            badge = badges.badge_create(shop=self.shop, kind=data["kind"], name=data["name"],
                                        threshold=data.get("threshold", 1), tier_name=data.get("tier_name", ""),
                                        points=data.get("points", 0))
        if data.get("is_active") is False:
            badges.badge_activate(badge=badge, active=False)
        return Response(BadgeSerializer(badge).data, status=201)


class BadgeDetailApi(ShopScopedApi):
    def patch(self, request: Request, badge_id: int) -> Response:
        badge = _get(Badge.objects, shop=self.shop, pk=badge_id)
        serializer = BadgeSerializer(badge, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        merged = {**BadgeSerializer(badge).data, **serializer.validated_data}
        with _field_errors():
            badge = badges.badge_update(badge=badge, kind=merged["kind"], name=merged["name"],
                                        threshold=merged["threshold"], tier_name=merged["tier_name"],
                                        points=merged["points"], is_active=merged["is_active"])
        return Response(BadgeSerializer(badge).data)


class ChallengeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Challenge
        fields = ["id", "name", "goal", "target", "starts_at", "ends_at", "points", "is_active"]
        read_only_fields = ["id"]


class ChallengeListApi(ShopScopedApi):
    def get(self, request: Request) -> Response:
        found = Challenge.objects.filter(shop=self.shop).order_by("-starts_at", "pk")
        return Response(ChallengeSerializer(found, many=True).data)

    def post(self, request: Request) -> Response:
        serializer = ChallengeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _field_errors():
            challenge = badges.challenge_create(shop=self.shop, name=data["name"], goal=data["goal"],
                                                target=data["target"], starts_at=data["starts_at"],
                                                ends_at=data["ends_at"], points=data.get("points", 0))
        if data.get("is_active") is False:
            badges.challenge_activate(challenge=challenge, active=False)
        return Response(ChallengeSerializer(challenge).data, status=201)


class ChallengeDetailApi(ShopScopedApi):
    def patch(self, request: Request, challenge_id: int) -> Response:
        challenge = _get(Challenge.objects, shop=self.shop, pk=challenge_id)
        serializer = ChallengeSerializer(challenge, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        merged = {"name": challenge.name, "goal": challenge.goal, "target": challenge.target,
                  "starts_at": challenge.starts_at, "ends_at": challenge.ends_at, "points": challenge.points,
                  "is_active": challenge.is_active, **serializer.validated_data}
        with _field_errors():
            challenge = badges.challenge_update(challenge=challenge, **merged)
        return Response(ChallengeSerializer(challenge).data)

"""Loyalty's part in privacy requests (see ``commerce.privacy``).

A redacted shopper's accounts stay, blanked, so the ledger's amounts keep the merchant's points
figures (issued, redeemed, liability) right: a customer's account loses its email; a guest
account, keyed by email alone, gets a tombstone instead (``redacted:<id>``, never an address, so
no guest order or claim can find it again; its (shop, email) uniqueness still holds).  Ledger
reasons that name an email ("guest points of ...", "referred ...") have it replaced, and the
merchant's free-text notes on the shopper's entries are dropped.  Where the shopper was a
referred friend, the referral keeps its status and dates without their email, IP or error text.
``shop/redact`` deletes every loyalty row of the shop: no account survives, as guest or not.

These are the only writes to ledger rows after they are appended.  On PostgreSQL a trigger
(migration ``0009_ledger_append_only``) refuses every UPDATE and DELETE of a ledger row unless the
transaction opened the path with ``ledger_erasure``: for ``customers/redact`` an UPDATE of the
shop's rows that changes ``reason`` alone, for ``shop/redact`` a DELETE of that shop's rows.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from django.db import connections, router, transaction
from django.db.models import CharField, F, Q, Sum, Value
from django.db.models.functions import Cast, Concat, Replace

from commerce.models import DomainEvent, Shop
from commerce.privacy import DataSubject, JSONWithout, PrivacyParticipant, admin_log_erase
from loyalty.models import (
    Account,
    AccountBadge,
    Badge,
    Challenge,
    ChallengeCompletion,
    EarningRule,
    EntrySource,
    LedgerEntry,
    Program,
    Redemption,
    Referral,
    Review,
    Reward,
    Tier,
    TierScheme,
    WidgetSettings,
)

REDACTED = "[redacted]"


def _any_of(field: str, values: tuple[str, ...]) -> Q:
    query = Q(pk__in=[])
    for value in values:
        query |= Q(**{f"{field}__icontains": value})
    return query


def _tombstone() -> Concat:
    return Concat(Value("redacted:"), Cast("pk", output_field=CharField()), output_field=CharField())


def _accounts(subject: DataSubject) -> Any:
    return Account.objects.filter(shop=subject.shop).filter(
        Q(customer_id__in=subject.customer_ids) | Q(customer__isnull=True, email__in=subject.emails)
    )


LEDGER_ERASURE_SETTING = "comeback.ledger_erasure"


@contextmanager
def ledger_erasure(*, shop: Shop, request: Literal["customer-redact", "shop-redact"]) -> Iterator[None]:
    """Open the append-only ledger's one way in for a privacy request, for the body of this block
    (``SET LOCAL`` in a savepoint of its own, reset on the way out; a failure rolls it back with
    the savepoint).  The trigger checks the shop and what changes; a no-op off PostgreSQL."""
    alias = router.db_for_write(LedgerEntry)
    connection = connections[alias]
    with transaction.atomic(using=alias):
        if connection.vendor != "postgresql":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [LEDGER_ERASURE_SETTING, f"{request}:{shop.pk}"])
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, '', true)", [LEDGER_ERASURE_SETTING])


def erase_customer(*, subject: DataSubject) -> None:
    shop = subject.shop
    account_ids = list(_accounts(subject).values_list("pk", flat=True))
    Account.objects.filter(pk__in=account_ids, customer__isnull=False).update(email="")
    Account.objects.filter(pk__in=account_ids, customer__isnull=True).update(email=_tombstone())
    admin_log_erase(objects=Account.objects.filter(pk__in=account_ids))
    with ledger_erasure(shop=shop, request="customer-redact"):
        _ledger_reasons_erase(subject=subject, account_ids=account_ids)
    referral_ids = list(Referral.objects.filter(shop=shop).filter(
        Q(friend_customer_id__in=subject.customer_ids) | Q(friend_email__in=subject.emails)
    ).values_list("pk", flat=True))
    Referral.objects.filter(pk__in=referral_ids).update(friend_email=_tombstone(), ip=None, error="", review_note="")
    admin_log_erase(objects=Referral.objects.filter(pk__in=referral_ids))
    # ``loyalty.points_earned`` events carry a copy of the entry's reason
    DomainEvent.objects.filter(shop=shop, name__startswith="loyalty.", payload__account_id__in=account_ids).update(
        payload=JSONWithout("payload", "reason")
    )
    if subject.emails:
        DomainEvent.objects.filter(shop=shop, name__startswith="loyalty.").filter(
            _any_of("payload__reason", subject.emails)
        ).update(payload=JSONWithout("payload", "reason"))


def _ledger_reasons_erase(*, subject: DataSubject, account_ids: list[int]) -> None:
    """The merchant's notes on the shopper's entries go; the shopper's emails in any entry's reason
    ("guest points of ...", "referred ...") are replaced.  Only ``reason`` changes."""
    shop = subject.shop
    LedgerEntry.objects.filter(shop=shop, account_id__in=account_ids, source=EntrySource.ADMIN).exclude(
        reason="").update(reason="")
    if subject.emails:
        mentions = LedgerEntry.objects.filter(shop=shop).filter(_any_of("reason", subject.emails))
        reason: Any = F("reason")
        for email in subject.emails:
            reason = Replace(reason, Value(email), Value(REDACTED))
        mentions.update(reason=reason)
        # what a case-sensitive replace missed
        LedgerEntry.objects.filter(shop=shop).filter(_any_of("reason", subject.emails)).update(reason=REDACTED)


def erase_shop(*, shop: Shop) -> None:
    admin_log_erase(objects=Account.objects.filter(shop=shop))
    admin_log_erase(objects=Referral.objects.filter(shop=shop))
    # children before parents (Redemption.reward is PROTECT; accounts before the tiers they name)
    with ledger_erasure(shop=shop, request="shop-redact"):
        for model in (AccountBadge, ChallengeCompletion, Review, Redemption, Referral, LedgerEntry, Account,
                      Reward, Badge, Challenge, Tier, TierScheme, EarningRule, Program, WidgetSettings):
            model._default_manager.filter(shop=shop).delete()


def export(*, subject: DataSubject) -> dict[str, Any]:
    """The shopper's accounts with their points history, rewards and badges, and the referrals
    they made (friends as status and dates only: a friend's email is the friend's data) or came by."""
    accounts = list(_accounts(subject).select_related("tier").order_by("pk"))
    account_ids = [account.pk for account in accounts]
    entries = LedgerEntry.objects.filter(shop=subject.shop, account_id__in=account_ids).order_by("occurred_at", "pk")
    balances = dict(entries.order_by().values_list("account_id").annotate(total=Sum("points")))
    redemptions = (Redemption.objects.filter(shop=subject.shop, account_id__in=account_ids)
                   .select_related("reward").order_by("created_at", "pk"))
    badges = (AccountBadge.objects.filter(shop=subject.shop, account_id__in=account_ids)
              .select_related("badge").order_by("awarded_at", "pk"))
    made = (Referral.objects.filter(shop=subject.shop, referrer_id__in=account_ids).order_by("created_at", "pk"))
    received = (Referral.objects.filter(shop=subject.shop)
                .filter(Q(friend_customer_id__in=subject.customer_ids) | Q(friend_email__in=subject.emails))
                .select_related("referrer").order_by("created_at", "pk"))
    return {
        "accounts": [
            {"email": account.email, "referral_code": account.referral_code,
             "tier": account.tier.name if account.tier else None, "points_balance": balances.get(account.pk, 0),
             "created_at": account.created_at.isoformat()}
            for account in accounts
        ],
        "points_history": [
            {"at": entry.occurred_at.isoformat(), "kind": entry.kind, "source": entry.source,
             "source_id": entry.source_id, "points": entry.points, "reason": entry.reason,
             "available_at": entry.available_at.isoformat(), "recorded_at": entry.created_at.isoformat()}
            for entry in entries
        ],
        "redemptions": [
            {"reward": redemption.reward.name, "points": redemption.points, "code": redemption.code,
             "status": redemption.status, "created_at": redemption.created_at.isoformat(),
             "used_at": redemption.used_at.isoformat() if redemption.used_at else None}
            for redemption in redemptions
        ],
        "badges": [{"badge": badge.badge.name, "awarded_at": badge.awarded_at.isoformat()} for badge in badges],
        "referrals_made": [
            {"status": referral.status, "created_at": referral.created_at.isoformat(),
             "completed_at": referral.completed_at.isoformat() if referral.completed_at else None}
            for referral in made
        ],
        "referred_by": [
            {"referral_code": referral.referrer.referral_code, "friend_email": referral.friend_email,
             "friend_code": referral.friend_code, "ip": referral.ip, "status": referral.status,
             "created_at": referral.created_at.isoformat(),
             "completed_at": referral.completed_at.isoformat() if referral.completed_at else None}
            for referral in received
        ],
    }


LOYALTY = PrivacyParticipant(
    name="loyalty",
    erase_customer=erase_customer,
    erase_shop=erase_shop,
    export=export,
    personal_fields=(
        "loyalty.Account.email", "loyalty.LedgerEntry.reason",  # and its copy in loyalty events' payload
        "loyalty.Referral.friend_email", "loyalty.Referral.ip", "loyalty.Referral.error",
        "loyalty.Referral.review_note",  # the merchant's words on a held referral may name the friend
    ),
    not_personal={
        "loyalty.Tier.name": "the tier's name (Gold)",
        "loyalty.Tier.names": "the tier's name in other languages",
        "loyalty.Tier.perks": "the tier's perks (free shipping...)",
        "loyalty.EarningRule.multipliers": "product and collection ids with a factor",
        "loyalty.Reward.name": "the reward's name",
        "loyalty.Reward.names": "the reward's name in other languages",
        "loyalty.Badge.name": "the badge's name",
        "loyalty.Badge.tier_name": "a tier's name",
        "loyalty.Challenge.name": "the challenge's name",
        "loyalty.Referral.reasons": "which fraud rules fired, in fixed words (no values)",
        "loyalty.Referral.reviewed_by": "which staff member decided (an admin user id), not the shopper",
        "loyalty.Redemption.error": "the platform's error creating a discount code",
        "loyalty.LedgerEntry.actor": "the merchant's staff user id that made an adjustment, not the shopper",
        "loyalty.WidgetSettings.texts": "the merchant's widget texts per language (launcher label, title, welcome)",
        "loyalty.WidgetSettings.accent_text_color": "a colour, #RRGGBB",
    },
)

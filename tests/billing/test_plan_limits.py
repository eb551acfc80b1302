"""The Free plan is limited by volume only: past a monthly limit the order still lands and earns
nothing, the email is skipped with its reason, both recorded; the dashboard says so; paid is unlimited."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail

from billing.models import LimitSkip, ShopPlan, SubscriptionStatus
from billing.plans import LimitKind, PlanCode
from billing.selectors import limit_period
from billing.services import SubscriptionState, subscription_update_apply
from campaigns.models import Message, MessageStatus, Reason, ScheduledStep
from campaigns.services.engine import run_due
from campaigns.services.flows import flow_enable
from commerce import events
from commerce.models import Customer, Order
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from loyalty.models import LedgerEntry
from loyalty.services.program import program_enable
from tests.factories import ShopFactory, UserFactory
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(settings: Any) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.BILLING_FREE_ORDERS_PER_MONTH = 2
    settings.BILLING_FREE_EMAILS_PER_MONTH = 1
    shop = ShopFactory(installed_at=NOON - timedelta(days=400), timezone="Asia/Jerusalem", locale="en")
    program_enable(shop=shop)
    return shop


def paid(shop: Any) -> None:
    ShopPlan.objects.create(shop=shop, plan=PlanCode.PAID, subscription_status=SubscriptionStatus.ACTIVE,
                            subscription_id="gid://shopify/AppSubscription/1", subscription_name="Comeback")


def three_orders(shop: Any) -> None:
    for number in ("1", "2", "3"):
        deliver(shop, order(number, [line(f"{number}a", 1, "40.00")], customer=f"c{number}",
                            email=f"buyer{number}@example.com", at=NOON))


def test_a_free_shop_past_its_order_limit_records_the_order_and_skips_its_points_with_the_reason(shop) -> None:
    three_orders(shop)
    # every order is recorded; only the first two earned points
    assert Order.objects.filter(shop=shop).count() == 3
    assert sorted(LedgerEntry.objects.filter(shop=shop).values_list("source_id", flat=True)) == ["1", "2"]
    skip = LimitSkip.objects.get(shop=shop)
    assert (skip.kind, skip.key) == (LimitKind.ORDERS, "3")
    assert skip.reason == "plan limit: the Free plan's 2 orders earning points this month were reached"
    # a second delivery of the same order records nothing new
    deliver(shop, order("3", [line("3a", 1, "40.00")], customer="c3", email="buyer3@example.com", at=NOON,
                        version=1))
    assert LimitSkip.objects.filter(shop=shop).count() == 1
    assert LedgerEntry.objects.filter(shop=shop).count() == 2


def test_a_paid_shop_is_not_limited(shop) -> None:
    paid(shop)
    three_orders(shop)
    assert LedgerEntry.objects.filter(shop=shop).count() == 3
    assert not LimitSkip.objects.exists()


def _thank_you_for_three(shop: Any) -> list[Any]:
    flow_enable(shop=shop, key="order_thank_you")
    for number in ("1", "2", "3"):
        Customer.objects.update_or_create(shop=shop, platform_id=f"c{number}", defaults={
            "email": f"buyer{number}@example.com", "first_name": "Dana", "email_consent": "subscribed"})
    three_orders(shop)
    return run_due(now=NOON + timedelta(minutes=1))


def test_a_free_shop_past_its_email_limit_skips_the_message_with_the_reason(shop) -> None:
    shop_outcomes = _thank_you_for_three(shop)
    assert sorted(outcome.status for outcome in shop_outcomes) == ["sent", "skipped", "skipped"]
    assert len(mail.outbox) == 1
    skipped = Message.objects.filter(shop=shop, status=MessageStatus.SKIPPED)
    assert skipped.count() == 2
    assert {message.reason for message in skipped} == {"plan limit: the Free plan's 1 emails this month were sent"}
    assert ScheduledStep.objects.filter(shop=shop, reason_code=Reason.PLAN_LIMIT).count() == 2
    assert LimitSkip.objects.filter(shop=shop, kind=LimitKind.EMAILS).count() == 2


def test_a_paid_shop_sends_every_email(shop) -> None:
    paid(shop)
    outcomes = _thank_you_for_three(shop)
    assert [outcome.status for outcome in outcomes] == ["sent", "sent", "sent"]
    assert len(mail.outbox) == 3


@pytest.mark.parametrize("language, upgrade, reached", [
    ("en", "Upgrade", "You reached the Free plan's monthly limit."),
    ("he", "שדרוג", "הגעתם למגבלה החודשית של התוכנית החינמית."),
    ("fa", "ارتقا", "به سقف ماهانهٔ طرح رایگان رسیدید."),
])
def test_the_dashboard_says_the_limit_was_reached_with_an_upgrade_button(client, shop, language, upgrade,
                                                                          reached) -> None:
    three_orders(shop)  # the third order passed the limit (this month, by the real clock)
    user = UserFactory()
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client.force_login(user)
    client.cookies["django_language"] = language
    page = client.get("/dashboard/loyalty/").content.decode()
    assert 'id="plan-notice"' in page and reached in page
    assert {"en": "1 order earned no points.", "he": "הזמנה אחת לא צברה נקודות.",
            "fa": "۱ سفارش امتیازی نگرفت."}[language] in page
    assert f'href="/dashboard/plan/">{upgrade}</a>' in page
    plan_page = client.get("/dashboard/plan/").content.decode()
    assert 'id="plan-upgrade"' in plan_page and 'id="plan-notice"' not in plan_page
    paid(shop)
    assert 'id="plan-notice"' not in client.get("/dashboard/loyalty/").content.decode()


def test_moving_onto_the_paid_plan_awards_the_points_this_months_limit_held_back(shop) -> None:
    three_orders(shop)
    assert LedgerEntry.objects.filter(shop=shop).count() == 2
    # when Shopify reports the merchant's approved subscription
    subscription_update_apply(shop=shop, state=SubscriptionState(
        platform_id="gid://shopify/AppSubscription/9", name="Comeback", status="ACTIVE"),
        updated_at=datetime.now(UTC))
    events.dispatch_pending()
    # then the held-back order earns its points, once
    assert sorted(LedgerEntry.objects.filter(shop=shop).values_list("source_id", flat=True)) == ["1", "2", "3"]
    events.dispatch_pending()
    assert LedgerEntry.objects.filter(shop=shop).count() == 3


def test_the_month_is_the_shops_own() -> None:
    shop = ShopFactory.build(timezone="Asia/Jerusalem")
    # 22:30 UTC on 30 June is already 1 July in Jerusalem
    period = limit_period(shop=shop, now=datetime(2026, 6, 30, 22, 30, tzinfo=UTC))
    assert (period.start.isoformat(), period.end.isoformat()) == ("2026-07-01T00:00:00+03:00",
                                                                  "2026-08-01T00:00:00+03:00")
    december = limit_period(shop=shop, now=datetime(2026, 12, 15, tzinfo=UTC))
    assert (december.start.month, december.end.year, december.end.month) == (12, 2027, 1)


def test_the_dashboard_warns_before_the_limit(client, shop, settings) -> None:
    settings.BILLING_FREE_ORDERS_PER_MONTH = 5
    three_orders(shop)
    deliver(shop, order("4", [line("4a", 1, "40.00")], customer="c4", email="buyer4@example.com", at=NOON))
    # 4 of 5: past 80 %
    user = UserFactory()
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client.force_login(user)
    page = client.get("/dashboard/flows/").content.decode()
    assert "You are close to the Free plan&#x27;s monthly limit." in page or \
        "You are close to the Free plan's monthly limit." in page
    assert not LimitSkip.objects.exists()

"""Birthday, anniversary, review request after delivery, loyalty notices — at the right time,
in the right language.  (Flows that create codes are run against the sandbox in tests/e2e.)"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import Enrolment, Message
from campaigns.services.engine import dates_scan, run_due
from campaigns.services.flows import flow_enable
from commerce import events
from commerce.models import Customer
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(timezone="Asia/Jerusalem", locale="en", installed_at=NOON - timedelta(days=800),
                       name="Shira Cosmetics")


def customer(shop, locale="en", **fields) -> Customer:
    return Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com", first_name="Noa",
                                   email_consent="subscribed", locale=locale, **fields)


def daytime() -> datetime:
    """Loyalty events happen on the real clock: run the scheduler tomorrow at 14:00 in Jerusalem."""
    return (timezone.now() + timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)


def without_codes(flow):
    flow.steps.update(config={})
    return flow


def test_birthday_greeting_on_the_day_in_the_shop_zone_once_a_year(shop):
    flow = without_codes(flow_enable(shop=shop, key="birthday"))
    customer(shop, locale="fa", birthday=date(1992, 6, 11))
    # 22:30 UTC on the 10th is already the 11th in Jerusalem
    late = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)
    assert dates_scan(flow=flow, now=late) == 1
    assert dates_scan(flow=flow, now=late + timedelta(hours=2)) == 0
    run_due(now=datetime(2026, 6, 11, 8, 0, tzinfo=UTC))
    [sent] = mail.outbox
    assert sent.subject == "تولدتان مبارک، Noa!"
    assert 'dir="rtl"' in sent.alternatives[0][0]


def test_first_order_anniversary(shop):
    flow = without_codes(flow_enable(shop=shop, key="anniversary"))
    customer(shop, first_order_at=datetime(2025, 6, 10, 9, 0, tzinfo=UTC))
    assert dates_scan(flow=flow, now=NOON) == 1
    run_due(now=NOON)
    assert mail.outbox[0].subject == "A year together, Noa"


def paid_then_fulfilled(shop):
    lines = [line("1a", 1, "30.00")]
    deliver(shop, order("1", lines, customer="c1", email="noa@example.com", at=NOON))
    deliver(shop, order("1", lines, customer="c1", email="noa@example.com", at=NOON, version=1,
                        fulfillment="fulfilled"))


def test_review_request_goes_a_week_after_delivery(shop):
    flow_enable(shop=shop, key="review_request")
    customer(shop, locale="he")
    paid_then_fulfilled(shop)
    assert Enrolment.objects.filter(flow__key="review_request").count() == 1
    assert run_due(now=NOON + timedelta(days=6)) == []
    outcomes = run_due(now=NOON + timedelta(days=7, hours=1))
    assert [o.status for o in outcomes] == ["sent"]
    assert mail.outbox[0].subject.startswith("איך הייתה ההזמנה")


def test_loyalty_tier_reached_notice(shop):
    program_enable(shop=shop)
    flow_enable(shop=shop, key="loyalty_tier_reached")
    member = customer(shop)
    deliver(shop, order("1", [line("1a", 1, "600.00")], customer="c1", email="noa@example.com", at=NOON))
    run_due(now=daytime())
    subjects = [m.subject for m in mail.outbox]
    assert "Welcome to Silver!" in subjects
    assert Message.objects.filter(customer=member, template="loyalty_tier_reached", status="sent").count() == 1


def test_points_earned_notice_mentions_the_points(shop):
    program_enable(shop=shop)
    flow_enable(shop=shop, key="loyalty_points_earned")
    member = customer(shop)
    entry_write(account=account_for_customer(shop=shop, customer=member), kind="adjust", source="admin",
                key="gift", points=75, reason="gift")
    events.dispatch_pending()
    run_due(now=daytime())
    assert mail.outbox[0].subject == "You earned 75 points"


def test_holiday_greetings_from_the_merchants_calendar_in_the_shoppers_language(shop):
    flow = flow_enable(shop=shop, key="holiday_greetings")
    flow.settings = {"calendars": ["IL", "IR"], "occasions": {},
                     "custom": [{"date": "06-10", "name": "Our anniversary sale"}]}
    flow.save()
    customer(shop, locale="he")
    rosh_hashanah_eve = datetime(2026, 9, 11, 6, 0, tzinfo=UTC)  # 09:00 in Jerusalem; the greeting is due at 10:00
    assert dates_scan(flow=flow, now=rosh_hashanah_eve) == 0  # (dates_scan is for birthdays/anniversaries)
    from campaigns.services.holidays import flow_greetings, holiday_scan

    assert holiday_scan(flow=flow, now=rosh_hashanah_eve) == 1
    assert holiday_scan(flow=flow, now=rosh_hashanah_eve + timedelta(hours=1)) == 0
    run_due(now=rosh_hashanah_eve + timedelta(hours=1, minutes=1))
    [sent] = mail.outbox
    assert sent.subject == "שנה טובה ומתוקה!" and "ראש השנה" in sent.body
    assert [g.key for g in flow_greetings(flow=flow, send_date=date(2026, 3, 21))] == ["nowruz", "eid_al_fitr"]
    assert [g.name for g in flow_greetings(flow=flow, send_date=date(2026, 6, 10))] == ["Our anniversary sale"]
    assert flow_greetings(flow=flow, send_date=date(2026, 6, 9)) == []


def test_vip_early_access_reaches_only_the_chosen_tiers(shop, client):
    from loyalty.models import Tier
    from tests.integrations.test_oauth import session_token

    program_enable(shop=shop)
    gold_member = customer(shop)
    bronze_member = Customer.objects.create(shop=shop, platform_id="c2", email="b@example.com",
                                            email_consent="subscribed")
    for member, tier in ((gold_member, "Gold"), (bronze_member, "Bronze")):
        account = account_for_customer(shop=shop, customer=member)
        account.tier = Tier.objects.get(shop=shop, name=tier, scheme__is_active=True)
        account.save()
    response = client.post("/api/campaigns/vip-early-access", {"tiers": ["Gold"], "launch": "Winter collection"},
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {session_token(shop.domain)}"})
    assert response.json() == {"enrolled": 1}
    assert list(Enrolment.objects.filter(flow__key="vip_early_access").values_list("customer_id", flat=True)) == [
        gold_member.pk]


def test_a_review_is_thanked_with_a_message(shop):
    from loyalty.services.actions import review_record

    program_enable(shop=shop)
    flow = without_codes(flow_enable(shop=shop, key="review_reward"))
    member = customer(shop)
    review_record(account=account_for_customer(shop=shop, customer=member), external_id="rv-9", rating=5)
    events.dispatch_pending()
    assert Enrolment.objects.filter(flow=flow, customer=member).count() == 1
    run_due(now=daytime())
    assert "Thank you for your review, Noa" in [m.subject for m in mail.outbox]


def test_review_request_links_the_post_delivery_survey_when_switched_on(shop, client):
    from surveys.models import Response
    from surveys.selectors import survey_list
    from surveys.services import survey_activate

    satisfaction = next(s for s in survey_list(shop=shop) if s.kind == "satisfaction")
    survey_activate(shop=shop, survey_id=satisfaction.pk)
    flow_enable(shop=shop, key="review_request")
    customer(shop)
    paid_then_fulfilled(shop)
    run_due(now=NOON + timedelta(days=7, hours=1))
    text = mail.outbox[0].body
    assert "Answer three quick questions" in text
    link = next(word for word in text.split() if "/surveys/r/" in word)
    page = client.get(link[link.index("/surveys/r/"):])
    assert page.status_code == 200
    assert b"on time" in page.content.lower() and b"expectations" in page.content.lower()
    assert Response.objects.count() == 0


def test_review_request_has_no_survey_link_while_the_survey_is_off(shop):
    flow_enable(shop=shop, key="review_request")
    customer(shop)
    paid_then_fulfilled(shop)
    run_due(now=NOON + timedelta(days=7, hours=1))
    assert "/surveys/r/" not in mail.outbox[0].body

"""Quiet hours on the shopper's own clock (from their address), the shop's when it is unknown."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from campaigns.models import ScheduledStep
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_enable
from commerce.models import Customer
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

# 19:00 UTC in January: 22:30 in Tehran (quiet), 11:00 in Los Angeles, 21:00 in Jerusalem (quiet)
EVENING = datetime(2026, 1, 15, 19, 0, tzinfo=UTC)


@pytest.fixture
def shop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(installed_at=EVENING - timedelta(days=400), timezone="Asia/Jerusalem", locale="en")


@pytest.fixture
def flow(shop):
    flow = flow_enable(shop=shop, key="winback")
    flow.steps.update(config={})  # no discount code in the store: not what is tested here
    return flow


def shopper(shop, pid: str, timezone: str) -> Customer:
    return Customer.objects.create(shop=shop, platform_id=pid, email=f"{pid}@example.com", first_name="Dana",
                                   email_consent="subscribed", timezone=timezone)


def due_now(flow, customer: Customer) -> ScheduledStep:
    enrol(flow=flow, customer=customer, trigger_key=f"t-{customer.platform_id}", at=EVENING)
    return ScheduledStep.objects.get(enrolment__customer=customer)


def test_same_instant_quiet_in_tehran_daytime_in_los_angeles(shop, flow):
    # given two shoppers, one in Tehran and one in Los Angeles, both due at 19:00 UTC
    tehran = due_now(flow, shopper(shop, "tehran", "Asia/Tehran"))
    los_angeles = due_now(flow, shopper(shop, "la", "America/Los_Angeles"))
    # when the scheduler runs
    outcomes = run_due(now=EVENING)
    # then Los Angeles (11:00) gets it now, Tehran (22:30) waits for its own morning
    assert sorted(o.status for o in outcomes) == ["deferred", "sent"]
    assert [m.to for m in mail.outbox] == [["la@example.com"]]
    tehran.refresh_from_db()
    los_angeles.refresh_from_db()
    assert los_angeles.status == "done"
    assert tehran.status == "pending"
    assert tehran.due_at == datetime(2026, 1, 16, 5, 30, tzinfo=UTC)  # 09:00 in Tehran (UTC+03:30)
    # and at Tehran's 08:59 nothing goes, at 09:00 it does
    assert run_due(now=tehran.due_at - timedelta(minutes=1)) == []
    assert [o.status for o in run_due(now=tehran.due_at)] == ["sent"]
    assert [m.to for m in mail.outbox] == [["la@example.com"], ["tehran@example.com"]]


def test_the_other_way_round_los_angeles_at_night(shop, flow):
    # 06:00 UTC: 22:00 the evening before in Los Angeles, 09:30 in Tehran
    morning = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    tehran = shopper(shop, "tehran", "Asia/Tehran")
    los_angeles = shopper(shop, "la", "America/Los_Angeles")
    for customer in (tehran, los_angeles):
        enrol(flow=flow, customer=customer, trigger_key=f"m-{customer.platform_id}", at=morning)
    run_due(now=morning)
    assert [m.to for m in mail.outbox] == [["tehran@example.com"]]
    waiting = ScheduledStep.objects.get(enrolment__customer=los_angeles)
    assert waiting.due_at == datetime(2026, 1, 15, 17, 0, tzinfo=UTC)  # 09:00 PST


def test_a_shopper_without_an_address_keeps_the_shops_clock(shop, flow):
    # the shop is in Jerusalem, where 19:00 UTC is 21:00: quiet
    unknown = due_now(flow, shopper(shop, "nowhere", ""))
    assert [o.status for o in run_due(now=EVENING)] == ["deferred"]
    unknown.refresh_from_db()
    assert unknown.due_at == datetime(2026, 1, 16, 7, 0, tzinfo=UTC)  # 09:00 in Jerusalem (UTC+2)
    assert mail.outbox == []


def test_the_shoppers_zone_wins_over_the_shops(shop, flow):
    # 19:00 UTC is quiet in the shop's Jerusalem but 11:00 for the shopper in Los Angeles
    due_now(flow, shopper(shop, "la", "America/Los_Angeles"))
    assert [o.status for o in run_due(now=EVENING)] == ["sent"]


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../etc/passwd", "America", "x" * 64])
def test_an_unknown_zone_name_falls_back_to_the_shops(shop, flow, bad):
    step = due_now(flow, shopper(shop, "odd", bad))
    assert [o.status for o in run_due(now=EVENING)] == ["deferred"]  # Jerusalem's 21:00
    step.refresh_from_db()
    assert step.due_at == datetime(2026, 1, 16, 7, 0, tzinfo=UTC)


def test_an_unknown_shop_zone_falls_back_to_utc(shop, flow):
    shop.timezone = "Nowhere/Special"
    shop.save(update_fields=["timezone"])
    night = datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
    customer = shopper(shop, "odd", "Mars/Olympus")
    enrol(flow=flow, customer=customer, trigger_key="night", at=night)
    assert [o.status for o in run_due(now=night)] == ["deferred"]
    assert ScheduledStep.objects.get().due_at == datetime(2026, 1, 16, 9, 0, tzinfo=UTC)

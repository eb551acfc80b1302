"""Order events refresh only their customer; campaign steps read memberships."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from campaigns.models import Enrolment, FlowStep
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_enable
from commerce.models import Customer
from segments.models import CustomerScore
from segments.selectors import customer_segment_keys
from segments.services import shop_recompute
from tests.factories import CustomerFactory
from tests.loyalty.helpers import deliver, line, order, refund
from tests.segments.helpers import buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


def keys(customer: Customer) -> list[str]:
    return [key for key in customer_segment_keys(customer=customer) if key != "top_spenders"]


def test_order_events_recompute_only_that_customers_rows(shop, now):
    dana = CustomerFactory(shop=shop, platform_id="c-dana", email="dana@example.com")
    other = buyer(shop, 100, now=now)
    big = buyer(shop, 100, spend="1000", now=now)  # the top spender throughout
    deliver(shop, order("o1", [line("o1a", 1, "40.00")], customer="c-dana", at=now - timedelta(days=100)))
    shop_recompute(shop=shop, now=now)
    untouched = {score.customer_id: score.computed_at for score in CustomerScore.objects.exclude(customer=dana)}
    assert keys(dana) == ["one_time"]
    # when dana orders again (webhook -> upsert -> order.paid -> subscriber)
    deliver(shop, order("o2", [line("o2a", 1, "60.00")], customer="c-dana", at=now - timedelta(hours=1)))
    # then her figures and memberships changed, nobody else's
    score = CustomerScore.objects.get(customer=dana)
    assert (score.orders_count, score.total_spent) == (2, 100)
    assert keys(dana) == []  # neither one-time nor new any more
    assert {s.customer_id: s.computed_at for s in CustomerScore.objects.exclude(customer=dana)} == untouched
    assert keys(other) == ["one_time"] and "top_spenders" in customer_segment_keys(customer=big)
    # when the new order is refunded in full, she is a one-time buyer again
    deliver(shop, order("o2", [line("o2a", 1, "60.00")], customer="c-dana", at=now - timedelta(hours=1), version=1,
                        status="refunded", refunds=(refund("r1", "o2", [("o2a", 1, "60.00")]),)))
    assert CustomerScore.objects.get(customer=dana).orders_count == 1
    assert keys(dana) == ["one_time"]


def test_a_cancelled_order_leaves_the_segments(shop, now):
    CustomerFactory(shop=shop, platform_id="c-lior")
    deliver(shop, order("o1", [line("o1a", 1, "25.00")], customer="c-lior", at=now - timedelta(days=3)))
    lior = Customer.objects.get(shop=shop, platform_id="c-lior")
    assert set(keys(lior)) == {"one_time", "new"}
    deliver(shop, order("o1", [line("o1a", 1, "25.00")], customer="c-lior", at=now - timedelta(days=3), version=1,
                        cancelled=True))
    assert keys(lior) == []
    assert CustomerScore.objects.get(customer=lior).orders_count == 0


NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem: no quiet hours


@pytest.mark.parametrize("condition, member_outcome, other_outcome", [
    ({"segment": "loyal"}, "sent", "exited"),
    ({"not_segment": "loyal"}, "exited", "sent"),
])
def test_campaign_step_for_a_customer_outside_the_segment_ends_the_enrolment(
        settings, shop, condition, member_outcome, other_outcome):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    shop.timezone = "Asia/Jerusalem"
    shop.save()
    flow = flow_enable(shop=shop, key="winback")
    FlowStep.objects.filter(flow=flow).update(conditions=condition, config={})
    member = buyer(shop, 300, 200, 100, now=NOON, email="loyal@example.com", email_consent="subscribed")
    outsider = buyer(shop, 100, now=NOON, email="once@example.com", email_consent="subscribed")
    shop_recompute(shop=shop, now=NOON)
    for customer in (member, outsider):
        enrol(flow=flow, customer=customer, trigger_key=f"test:{customer.pk}", at=NOON)
    # when
    outcomes = {outcome for outcome in run_due(now=NOON + timedelta(minutes=1))}
    # then
    by_customer = {e.customer_id: e for e in Enrolment.objects.filter(flow=flow)}
    statuses = {by_customer[member.pk].status, by_customer[outsider.pk].status}
    assert statuses == {"exited", "completed"}
    exited = member if member_outcome == "exited" else outsider
    assert by_customer[exited.pk].status == "exited"
    [reason] = [outcome.reason for outcome in outcomes if outcome.status == "exited"]
    assert reason == ("the customer is not in the segment loyal" if "segment" in condition
                      else "the customer is in the segment loyal")
    assert {outcome.status for outcome in outcomes} == {member_outcome, other_outcome}


def test_a_finished_history_sync_segments_the_whole_shop(shop, now):
    """History is not news (no order events): the sync's end is what starts the segments."""
    from commerce import events
    from commerce.models import DomainEvent
    from commerce.services import history_synced

    loyal = buyer(shop, 10, 50, 90, now=now)
    once = buyer(shop, 30, now=now)
    assert not CustomerScore.objects.exists()
    history_synced(shop=shop, sync_id=1)
    events.dispatch_pending()
    assert "loyal" in keys(loyal) and "one_time" not in keys(loyal)
    assert "one_time" in keys(once)
    assert CustomerScore.objects.filter(customer__in=[loyal, once]).count() == 2
    history_synced(shop=shop, sync_id=1)  # the same sync announced twice: one event
    assert DomainEvent.objects.filter(name="shop.history_synced").count() == 1

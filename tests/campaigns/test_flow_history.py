"""Apply a flow to recent history: replay the last days' store events into that flow only."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import Enrolment, ScheduledStep
from campaigns.services.engine import run_due
from campaigns.services.flows import flow_apply_history, flow_edit, flow_enable
from commerce.models import Customer
from retention_app.errors import ApplicationError
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem
AGES = {"two": 2, "five": 5, "ten": 10, "hundred": 100}  # days since each customer's order


@pytest.fixture
def shop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    shop = ShopFactory(timezone="Asia/Jerusalem", locale="en", installed_at=NOW - timedelta(days=400))
    # orders paid while every flow was off
    for pid, days in AGES.items():
        Customer.objects.create(shop=shop, platform_id=pid, email=f"{pid}@example.com", email_consent="subscribed")
        deliver(shop, order(f"o-{pid}", [line(f"l-{pid}", 1, "20.00")], customer=pid, email=f"{pid}@example.com",
                            at=NOW - timedelta(days=days)))
    assert not Enrolment.objects.exists()
    return shop


def enrolled(flow_key: str) -> dict[str, datetime]:
    return {e.customer.platform_id: e.enrolled_at for e in Enrolment.objects.filter(flow__key=flow_key)}


def test_the_last_days_are_replayed_into_this_flow_only_and_only_once(shop):
    flow_enable(shop=shop, key="order_thank_you")
    flow_enable(shop=shop, key="bounce_back").steps.update(config={})  # another order.paid flow, switched on too
    assert flow_apply_history(shop=shop, key="order_thank_you", days=7, now=NOW) == 2
    assert enrolled("order_thank_you") == {"two": NOW - timedelta(days=2), "five": NOW - timedelta(days=5)}
    assert enrolled("bounce_back") == {}
    # running it again enrols nobody twice; a longer window adds the older order
    assert flow_apply_history(shop=shop, key="order_thank_you", days=7, now=NOW) == 0
    assert flow_apply_history(shop=shop, key="order_thank_you", days=30, now=NOW) == 1
    assert set(enrolled("order_thank_you")) == {"two", "five", "ten"}


def test_days_are_capped_at_ninety(shop):
    flow_enable(shop=shop, key="order_thank_you")
    assert flow_apply_history(shop=shop, key="order_thank_you", days=400, now=NOW) == 3
    assert "hundred" not in enrolled("order_thank_you")


def test_delays_count_from_the_original_event_with_the_current_version(shop):
    flow_enable(shop=shop, key="order_thank_you")
    flow_edit(shop=shop, key="order_thank_you",
              steps=[{"delay_minutes": 3 * 24 * 60, "template": "order_thank_you", "is_marketing": False}])
    flow_apply_history(shop=shop, key="order_thank_you", days=7, now=NOW)
    due = {s.enrolment.customer.platform_id: (s.due_at, s.enrolment.flow_version)
           for s in ScheduledStep.objects.select_related("enrolment__customer")}
    assert due == {"two": (NOW + timedelta(days=1), 2), "five": (NOW - timedelta(days=2), 2)}
    # at the next tick only the step already due runs
    assert [o.status for o in run_due(now=NOW)] == ["sent"]
    assert mail.outbox[0].to == ["five@example.com"]


def test_marketing_steps_older_than_the_stale_limit_are_skipped_when_they_run(shop):
    flow = flow_enable(shop=shop, key="bounce_back")
    flow.steps.update(config={})
    assert flow_apply_history(shop=shop, key="bounce_back", days=30, now=NOW) == 3
    outcomes = {o.reason or o.status for o in run_due(now=NOW)}
    assert outcomes == {"sent", f"stale: due since {NOW - timedelta(days=10):%Y-%m-%d %H:%M}, more than 7 days ago"}
    assert sorted(m.to[0] for m in mail.outbox) == ["five@example.com", "two@example.com"]


def test_a_paused_or_date_triggered_flow_is_refused(shop):
    with pytest.raises(ApplicationError) as paused:
        flow_apply_history(shop=shop, key="order_thank_you", days=7, now=NOW)
    assert (paused.value.status, paused.value.code) == (409, "flow_paused")
    flow_enable(shop=shop, key="winback")
    with pytest.raises(ApplicationError) as scheduled:
        flow_apply_history(shop=shop, key="winback", days=7, now=NOW)
    assert scheduled.value.status == 400
    assert not Enrolment.objects.exists()


def test_apply_history_api(shop, client):
    deliver(shop, order("recent", [line("recent-a", 1, "20.00")], customer="two", email="two@example.com",
                        at=timezone.now() - timedelta(days=1)))
    flow_enable(shop=shop, key="order_thank_you")
    headers = {"Authorization": f"Bearer {session_token(shop.domain)}"}
    response = client.post("/api/campaigns/flows/order_thank_you/apply-history", {"days": 7},
                           content_type="application/json", headers=headers)
    assert response.status_code == 200, response.json()
    assert response.json() == {"flow": "order_thank_you", "days": 7, "enrolled": 1}
    assert client.post("/api/campaigns/flows/order_thank_you/apply-history", {"days": 7},
                       content_type="application/json", headers=headers).json()["enrolled"] == 0
    bad = client.post("/api/campaigns/flows/order_thank_you/apply-history", {"days": 0},
                      content_type="application/json", headers=headers)
    assert bad.status_code == 400


def test_orders_from_the_synced_history_are_applied_once_too(shop):
    """Right after install the recent orders came by the history sync, which emits no events."""
    from commerce import services as commerce
    from commerce.models import DomainEvent

    shop.installed_at = NOW - timedelta(hours=1)  # just installed: older orders are history, not news
    shop.save()
    Customer.objects.create(shop=shop, platform_id="synced", email="synced@example.com", email_consent="subscribed")
    commerce.orders_upsert(shop=shop, live=False, records=[
        order("o-synced", [line("l-synced", 1, "30.00")], customer="synced", email="synced@example.com",
              at=NOW - timedelta(days=3))])
    assert not DomainEvent.objects.filter(key="order.paid:o-synced").exists()
    flow_enable(shop=shop, key="order_thank_you")
    assert flow_apply_history(shop=shop, key="order_thank_you", days=7, now=NOW) == 3
    assert set(enrolled("order_thank_you")) == {"two", "five", "synced"}
    assert Enrolment.objects.get(customer__platform_id="synced").trigger_key == "order.paid:o-synced"
    assert flow_apply_history(shop=shop, key="order_thank_you", days=7, now=NOW) == 0

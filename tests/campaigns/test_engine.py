"""The flow engine: the right message at the right time, once, and never harassing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from campaigns.models import Message, ScheduledStep
from campaigns.selectors import flow_list
from campaigns.services.engine import enrol, run_due, winback_scan
from campaigns.services.flows import flow_enable
from commerce.models import Customer
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem


@pytest.fixture
def shop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(installed_at=NOON - timedelta(days=400), timezone="Asia/Jerusalem", locale="en")


def buyer(shop, pid="c1", *, consent="subscribed", locale="en", email="dana@example.com") -> Customer:
    customer, _ = Customer.objects.update_or_create(
        shop=shop, platform_id=pid,
        defaults={"email": email, "first_name": "Dana", "email_consent": consent, "locale": locale})
    return customer


def test_presets_start_switched_off(shop):
    flows = flow_list(shop=shop)
    assert {f.key for f in flows} == {"anniversary", "birthday", "bounce_back", "holiday_greetings",
                                      "loyalty_points_earned", "replenishment", "review_reward",
                                      "vip_early_access", "post_purchase_upsell",
                                      "loyalty_points_expiring", "loyalty_tier_reached", "order_thank_you",
                                      "review_request", "winback"}
    assert not any(f.is_enabled for f in flows)


def test_order_thank_you_is_transactional_and_in_the_shoppers_language(shop):
    flow_enable(shop=shop, key="order_thank_you")
    buyer(shop, consent="not_subscribed", locale="he")
    deliver(shop, order("1", [line("1a", 2, "45.00")], customer="c1", email="dana@example.com", at=NOON))
    outcomes = run_due(now=NOON + timedelta(minutes=1))
    assert [o.status for o in outcomes] == ["sent"]  # no marketing consent needed, no quiet hours
    [sent] = mail.outbox
    assert sent.subject.startswith("תודה על ההזמנה")
    html = str(sent.alternatives[0][0])
    assert 'dir="rtl"' in html and 'lang="he"' in html
    assert "item 1a" in sent.body and "90.00" in sent.body
    assert "List-Unsubscribe" not in sent.extra_headers
    assert Message.objects.get().language == "he"


def test_a_step_runs_once_even_when_the_scheduler_runs_twice(shop):
    flow_enable(shop=shop, key="order_thank_you")
    buyer(shop)
    deliver(shop, order("1", [line("1a", 1, "10.00")], customer="c1", email="dana@example.com", at=NOON))
    run_due(now=NOON + timedelta(minutes=1))
    run_due(now=NOON + timedelta(minutes=2))
    assert len(mail.outbox) == 1
    assert Message.objects.count() == 1


def winback(shop, discount: bool = False):
    """The win-back flow; without its discount unless asked (the code is created in the store:
    the sandbox tests cover that)."""
    flow = flow_enable(shop=shop, key="winback")
    if not discount:
        flow.steps.update(config={})
    return flow


def lapsed(shop, pid="c1", **kwargs) -> Customer:
    customer = buyer(shop, pid, **kwargs)
    deliver(shop, order(f"o-{pid}", [line(f"l-{pid}", 1, "30.00")], customer=pid, email=customer.email,
                        at=NOON - timedelta(days=200)))
    return customer


def test_winback_needs_marketing_consent(shop):
    flow = winback(shop)
    lapsed(shop, consent="not_subscribed")
    assert winback_scan(flow=flow, now=NOON) == 1
    assert [o.reason for o in run_due(now=NOON)] == ["no marketing consent for email"]
    assert mail.outbox == []


def test_quiet_hours_defer_to_the_morning_in_the_shop_zone(shop):
    flow = winback(shop)
    lapsed(shop)
    night = datetime(2026, 6, 10, 20, 30, tzinfo=UTC)  # 23:30 in Jerusalem
    winback_scan(flow=flow, now=night)
    assert [o.status for o in run_due(now=night)] == ["deferred"]
    step = ScheduledStep.objects.get()
    assert step.due_at == datetime(2026, 6, 11, 6, 0, tzinfo=UTC)  # 09:00 local
    assert run_due(now=night + timedelta(hours=2)) == []
    assert [o.status for o in run_due(now=step.due_at)] == ["sent"]
    assert len(mail.outbox) == 1


def test_frequency_cap_defers_and_duplicate_content_is_suppressed(shop):
    flow = winback(shop)
    customer = lapsed(shop)
    first = enrol(flow=flow, customer=customer, trigger_key="a", at=NOON)
    second = enrol(flow=flow, customer=customer, trigger_key="b", at=NOON)
    assert first and second
    outcomes = run_due(now=NOON)
    assert [o.status for o in outcomes] == ["sent", "skipped"]
    assert "was sent within 30 days" in outcomes[1].reason
    # a different marketing template the same day waits for the daily cap
    other = enrol(flow=flow, customer=customer, trigger_key="c", at=NOON + timedelta(hours=1))
    Message.objects.filter(template="winback").update(template="something_else")
    assert other
    assert [o.status for o in run_due(now=NOON + timedelta(hours=1))] == ["deferred"]
    # the next day with room on the shopper's calendar, when quiet hours end (09:00 in Jerusalem)
    assert ScheduledStep.objects.get(enrolment=other).due_at == datetime(2026, 6, 11, 6, 0, tzinfo=UTC)


def test_unsubscribe_link_takes_effect_at_once(shop, client):
    flow = winback(shop)
    customer = lapsed(shop)
    enrol(flow=flow, customer=customer, trigger_key="first", at=NOON)
    run_due(now=NOON)
    sent = mail.outbox[0]
    link = sent.extra_headers["List-Unsubscribe"].strip("<>")
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{path}").status_code == 200
    assert client.post(f"/{path}").status_code == 200  # one-click
    enrol(flow=flow, customer=customer, trigger_key="later", at=NOON + timedelta(days=40))
    assert [o.reason for o in run_due(now=NOON + timedelta(days=40))] == ["no marketing consent for email"]
    assert client.get("/u/forged-token").status_code == 400


def test_winback_exits_when_the_customer_orders_again(shop):
    flow = winback(shop)
    step = flow.steps.get()
    step.delay_minutes = 60 * 24
    step.save()
    customer = lapsed(shop)
    winback_scan(flow=flow, now=NOON)
    deliver(shop, order("again", [line("again-a", 1, "20.00")], customer="c1", email=customer.email,
                        at=NOON + timedelta(hours=3)))
    assert [o.status for o in run_due(now=NOON + timedelta(days=2))] == ["exited"]
    assert mail.outbox == []


def test_winback_scan_enrols_once_per_lapse(shop):
    flow = winback(shop)
    lapsed(shop)
    assert winback_scan(flow=flow, now=NOON) == 1
    assert winback_scan(flow=flow, now=NOON + timedelta(days=1)) == 0


def test_a_failed_send_is_retried_later_not_lost(shop, settings):
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:1"  # the store cannot create the discount code
    flow = winback(shop, discount=True)
    lapsed(shop)
    winback_scan(flow=flow, now=NOON)
    outcome = run_due(now=NOON)
    assert [o.status for o in outcome] == ["deferred"]
    assert "sending failed" in outcome[0].reason
    assert ScheduledStep.objects.get().due_at == NOON + timedelta(minutes=15)
    assert mail.outbox == []


def test_attribution_counts_an_order_once_by_code_or_window(shop):
    from campaigns.models import Attribution
    from campaigns.services.attribution import flow_stats

    flow = winback(shop)
    customer = lapsed(shop)
    winback_scan(flow=flow, now=NOON)
    run_due(now=NOON)
    Message.objects.filter(status="sent").update(discount_code="BACK-CODE1")
    # an order with the flow's code, delivered twice (two webhooks, same order)
    record = order("came-back", [line("cb", 1, "80.00")], customer="c1", email=customer.email,
                   at=NOON + timedelta(days=10), codes=("back-code1",))
    deliver(shop, record, record)
    credit = Attribution.objects.get()
    assert (credit.via, credit.flow, credit.revenue) == ("code", flow, record.total)
    # a later order inside the window after the message would count too — but only once per order
    deliver(shop, order("window", [line("w", 1, "20.00")], customer="c1", email=customer.email,
                        at=NOON + timedelta(days=2)))
    assert Attribution.objects.filter(via="window").count() == 1
    # an order long after the window is not credited
    deliver(shop, order("late", [line("late", 1, "20.00")], customer="c1", email=customer.email,
                        at=NOON + timedelta(days=60)))
    assert Attribution.objects.count() == 2
    stats = {row["flow"]: row for row in flow_stats(shop=shop)}
    assert (stats["winback"]["sent"], stats["winback"]["orders"]) == (1, 2)


def test_merchant_sees_and_switches_flows_only_for_their_shop(shop, client):
    from tests.integrations.test_oauth import session_token

    other = ShopFactory(domain="other-flows.myshopify.com")
    headers = {"Authorization": f"Bearer {session_token(shop.domain)}"}
    listed = client.get("/api/campaigns/flows", headers=headers).json()
    assert {"bounce_back", "order_thank_you", "winback", "birthday"} <= {row["flow"] for row in listed}
    switched = client.post("/api/campaigns/flows/winback/enable", {"enabled": True},
                           content_type="application/json", headers=headers)
    assert switched.json() == {"flow": "winback", "enabled": True}
    from campaigns.models import Flow

    assert Flow.objects.get(shop=shop, key="winback").is_enabled
    assert not Flow.objects.filter(shop=other, is_enabled=True).exists()


def test_one_scheduler_job_runs_batch_after_batch_until_nothing_is_due(shop):
    from django.utils import timezone

    from campaigns.services.engine import run_due_for

    flow_enable(shop=shop, key="order_thank_you")
    paid_at = timezone.now() - timedelta(minutes=5)  # the job runs on the real clock
    for n in range(7):
        buyer(shop, f"c{n}", email=f"c{n}@example.com")
        deliver(shop, order(f"{n}", [line(f"{n}a", 1, "10.00")], customer=f"c{n}", email=f"c{n}@example.com",
                            at=paid_at))
    assert run_due_for(seconds=0, limit=3) == 3  # out of time after one batch: the rest waits
    assert run_due_for(seconds=60, limit=3) == 4
    assert len(mail.outbox) == 7
    assert run_due_for(seconds=60, limit=3) == 0

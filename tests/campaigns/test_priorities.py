"""Never drop what the merchant scheduled: priorities under the frequency caps, deferral to the
next day with room, and skips only when a message's moment has passed."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from campaigns.models import Message, Priority, ScheduledStep
from campaigns.services import engine
from campaigns.services.attribution import flow_stats
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_enable
from commerce.models import Customer
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem
MORNING = datetime(2026, 6, 11, 6, 0, tzinfo=UTC)  # 09:00 in Jerusalem, the next day
SIX_FLOWS = ["holiday_greetings", "birthday", "winback", "replenishment", "review_request", "loyalty_points_earned"]


@pytest.fixture
def shop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(installed_at=NOON - timedelta(days=400), timezone="Asia/Jerusalem", locale="en")


@pytest.fixture
def shopper(shop) -> Customer:
    return Customer.objects.create(shop=shop, platform_id="c1", email="dana@example.com", first_name="Dana",
                                   email_consent="subscribed")


def flow(shop, key):
    """The preset switched on, without its discount (codes are made in the store: the sandbox
    tests cover that)."""
    found = flow_enable(shop=shop, key=key)
    found.steps.update(config={})
    return found


CONTEXTS = {"holiday_greetings": {"holiday": "Shavuot", "holiday_date": "2026-06-10"},
            "replenishment": {"product": "Hair serum"}, "loyalty_points_earned": {"points": 40}}


def six_flows_on_one_day(shop, shopper) -> dict[str, int]:
    """Six flows whose first step falls due at NOON for one shopper; the scheduled step of each."""
    steps = {}
    for key in SIX_FLOWS:
        found = flow(shop, key)
        # the review request waits a week after fulfilment: fulfilled a week ago, due an hour before the others
        at = NOON - timedelta(days=7, hours=1) if key == "review_request" else NOON
        enrolment = enrol(flow=found, customer=shopper, trigger_key=f"{key}:1", at=at, context=CONTEXTS.get(key))
        assert enrolment is not None
        steps[key] = enrolment.scheduled.get().pk
    return steps


def test_priority_comes_from_the_flows_kind(shop, shopper):
    # given / when
    steps = six_flows_on_one_day(shop, shopper)
    thanks = enrol(flow=flow(shop, "order_thank_you"), customer=shopper, trigger_key="o1", at=NOON)
    # then
    priorities = {key: ScheduledStep.objects.get(pk=pk).priority for key, pk in steps.items()}
    assert priorities == {"holiday_greetings": Priority.DATE_BOUND, "birthday": Priority.DATE_BOUND,
                          "winback": Priority.MARKETING, "replenishment": Priority.MARKETING,
                          "review_request": Priority.MARKETING, "loyalty_points_earned": Priority.MARKETING}
    assert thanks is not None and thanks.scheduled.get().priority == Priority.TRANSACTIONAL
    vip = flow(shop, "vip_early_access")
    dated = enrol(flow=vip, customer=shopper, trigger_key="vip:spring", at=NOON,
                  context={"launch": "Spring", "starts_at": "2026-06-12T07:00:00+00:00"})
    undated = enrol(flow=vip, customer=shopper, trigger_key="vip:someday", at=NOON, context={"launch": "Someday"})
    assert dated is not None and dated.scheduled.get().priority == Priority.DATE_BOUND
    assert undated is not None and undated.scheduled.get().priority == Priority.MARKETING


def test_six_flows_on_one_day_date_bound_go_on_their_day_the_others_spread_none_skipped(shop, shopper, monkeypatch,
                                                                                       client):
    # given: two marketing messages a day (and room for them in the week)
    monkeypatch.setattr(engine, "DAILY_CAP", 2)
    monkeypatch.setattr(engine, "WEEKLY_CAP", 14)
    steps = six_flows_on_one_day(shop, shopper)

    # when: the scheduler runs on the day
    outcomes = run_due(now=NOON)

    # then: the holiday greeting and the birthday go out (the review request, due first, leaves them
    # the day's room); the four others wait, two per next day
    assert sorted(outcome.status for outcome in outcomes) == ["deferred"] * 4 + ["sent"] * 2
    assert {message.flow.key for message in Message.objects.filter(status="sent")} == {"holiday_greetings",
                                                                                        "birthday"}
    due = {key: ScheduledStep.objects.get(pk=pk).due_at for key, pk in steps.items() if key in SIX_FLOWS[2:]}
    # oldest first: the review request was due first, then the others in the order they came
    assert due == {"review_request": MORNING, "winback": MORNING,
                   "replenishment": MORNING + timedelta(days=1), "loyalty_points_earned": MORNING + timedelta(days=1)}
    # the merchant's flow numbers say so
    listed = client.get("/api/campaigns/flows", headers={"Authorization": f"Bearer {session_token(shop.domain)}"})
    numbers = {row["flow"]: row for row in listed.json()}
    assert (numbers["winback"]["sent"], numbers["winback"]["deferred"], numbers["winback"]["skipped"]) == (0, 1, 0)
    assert numbers["winback"]["deferred_reasons"] == {"frequency_cap": 1}
    assert numbers["birthday"]["sent"] == 1 and numbers["birthday"]["deferred"] == 0

    # when: the next two mornings
    assert run_due(now=MORNING - timedelta(minutes=1)) == []
    assert [outcome.status for outcome in run_due(now=MORNING)] == ["sent", "sent"]
    assert [outcome.status for outcome in run_due(now=MORNING + timedelta(days=1))] == ["sent", "sent"]

    # then: all six went out, none skipped, and the numbers add up
    assert len(mail.outbox) == 6
    assert not Message.objects.filter(status="skipped").exists()
    per_day = sorted(Message.objects.values_list("at", flat=True))
    assert per_day == [NOON, NOON, MORNING, MORNING, MORNING + timedelta(days=1), MORNING + timedelta(days=1)]
    numbers = {row["flow"]: row for row in flow_stats(shop=shop)}
    for key in SIX_FLOWS:
        row = numbers[key]
        assert (row["scheduled"], row["sent"], row["skipped"], row["deferred"], row["waiting"]) == (1, 1, 0, 0, 0)
    assert sum(numbers[key]["ever_deferred"] for key in SIX_FLOWS) == 4


def test_ordinary_marketing_held_by_the_caps_for_more_than_a_week_still_goes_out(shop, shopper):
    # given: the default caps (one a day, three a week) and six ordinary marketing flows on one day
    for key in ["winback", "replenishment", "review_request", "loyalty_points_earned", "loyalty_tier_reached",
                "review_reward"]:
        enrol(flow=flow(shop, key), customer=shopper, trigger_key=f"{key}:1", at=NOON,
              context={"product": "Hair serum", "points": 40, "tier": "Gold"})

    # when: the scheduler runs every morning for two weeks
    sent_days = []
    for day in range(15):
        moment = NOON if day == 0 else MORNING + timedelta(days=day - 1)
        for outcome in run_due(now=moment):
            assert outcome.status in ("sent", "deferred"), outcome
            if outcome.status == "sent":
                sent_days.append(day)

    # then: a week's three, then the next week's three; nothing skipped as stale
    assert sent_days == [0, 1, 2, 7, 8, 9]
    assert not Message.objects.filter(status="skipped").exists()


def test_a_date_bound_greeting_goes_out_on_its_day_even_when_the_cap_is_full(shop, shopper):
    # given: today's one marketing message is already out
    enrol(flow=flow(shop, "winback"), customer=shopper, trigger_key="lapse", at=NOON - timedelta(hours=2))
    assert [outcome.status for outcome in run_due(now=NOON - timedelta(hours=2))] == ["sent"]
    # when: the holiday greeting is due the same day
    enrol(flow=flow(shop, "holiday_greetings"), customer=shopper, trigger_key="holiday:Shavuot:2026:c1", at=NOON,
          context=CONTEXTS["holiday_greetings"])
    # then
    assert [outcome.status for outcome in run_due(now=NOON)] == ["sent"]
    assert Message.objects.filter(status="sent", template="holiday").count() == 1


def test_a_holiday_greeting_a_week_late_is_skipped_because_its_day_has_passed(shop, shopper):
    # given: the greeting was held (the flow paused over the holiday)
    greetings = flow(shop, "holiday_greetings")
    enrol(flow=greetings, customer=shopper, trigger_key="holiday:Shavuot:2026:c1", at=NOON,
          context=CONTEXTS["holiday_greetings"])
    # when: the scheduler reaches it a week later
    [outcome] = run_due(now=NOON + timedelta(days=7))
    # then
    assert (outcome.status, outcome.code) == ("skipped", "moment_passed")
    assert outcome.reason == "moment passed: its day was 2026-06-10"
    assert mail.outbox == []
    row = next(row for row in flow_stats(shop=shop) if row["flow"] == "holiday_greetings")
    assert (row["sent"], row["skipped"], row["skipped_reasons"]) == (0, 1, {"moment_passed": 1})


def test_a_greeting_that_quiet_hours_would_push_past_its_day_is_skipped_not_sent_late(shop, shopper):
    # given: the greeting became due at 23:30 in Jerusalem
    night = datetime(2026, 6, 10, 20, 30, tzinfo=UTC)
    enrol(flow=flow(shop, "holiday_greetings"), customer=shopper, trigger_key="holiday:Shavuot:2026:c1", at=night,
          context=CONTEXTS["holiday_greetings"])
    # when
    [outcome] = run_due(now=night)
    # then
    assert (outcome.status, outcome.code) == ("skipped", "moment_passed")
    assert outcome.reason == "moment passed: its day was 2026-06-10 (quiet hours)"


def test_points_expiring_notice_waits_for_the_morning_but_not_past_the_expiry(shop, shopper):
    # given: points expire at 08:00 tomorrow in Jerusalem; the notice is due at 23:30 tonight
    night = datetime(2026, 6, 10, 20, 30, tzinfo=UTC)
    expiring = flow(shop, "loyalty_points_expiring")
    enrol(flow=expiring, customer=shopper, trigger_key="expiring:1", at=night,
          context={"points": 40, "expires_at": "2026-06-11T05:00:00+00:00"})
    enrol(flow=expiring, customer=shopper, trigger_key="expiring:2", at=night,
          context={"points": 40, "expires_at": "2026-06-20T05:00:00+00:00"})
    # when
    outcomes = run_due(now=night)
    # then: quiet hours would end after the first expiry: skipped; the second waits for the morning
    assert [(outcome.status, outcome.code) for outcome in outcomes] == [("skipped", "moment_passed"),
                                                                        ("deferred", "quiet_hours")]

"""Editing a flow makes a new version for new enrolments; pausing holds its steps."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from campaigns.models import Enrolment, Flow, FlowStep, Message, ScheduledStep
from campaigns.services.engine import STALE_AFTER, enrol, run_due, steps_for_new_enrolment
from campaigns.services.flows import flow_edit, flow_enable
from commerce.models import Customer
from retention_app.errors import ApplicationError
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem


@pytest.fixture
def shop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(timezone="Asia/Jerusalem", locale="en", name="Shira Cosmetics")


def member(shop, pid="c1") -> Customer:
    return Customer.objects.create(shop=shop, platform_id=pid, email=f"{pid}@example.com", first_name="Noa",
                                   email_consent="subscribed", locale="en")


def winback(shop) -> Flow:
    flow = flow_enable(shop=shop, key="winback")
    flow.steps.update(config={})  # no code in the store: the sandbox tests cover that
    return flow


def headers(shop) -> dict:
    return {"Authorization": f"Bearer {session_token(shop.domain)}"}


NEW_STEPS = [{"delay_minutes": 60, "template": "winback", "conditions": {"no_order_since_enrolment": True}},
             {"delay_minutes": 24 * 60, "template": "review_request"}]


def test_an_edit_is_a_new_version_and_earlier_enrolments_keep_their_steps(shop):
    # given a customer enrolled in version 1
    flow = winback(shop)
    early = enrol(flow=flow, customer=member(shop, "c1"), trigger_key="early", at=NOON)
    old_step = ScheduledStep.objects.get(enrolment=early).step
    # when the merchant edits the steps
    edited = flow_edit(shop=shop, key="winback", steps=NEW_STEPS)
    # then the flow is at version 2, and the early enrolment still points at the version-1 row
    assert edited.version == 2
    assert early.flow_version == 1
    assert FlowStep.objects.filter(pk=old_step.pk, version=1).exists()
    assert [(s.version, s.position, s.template, s.delay_minutes) for s in steps_for_new_enrolment(edited)] == [
        (2, 0, "winback", 60), (2, 1, "review_request", 24 * 60)]
    # and a new enrolment gets the new steps, delays counted from the trigger
    late = enrol(flow=edited, customer=member(shop, "c2"), trigger_key="late", at=NOON)
    assert late.flow_version == 2
    assert [(s.step.template, s.due_at) for s in ScheduledStep.objects.filter(enrolment=late).order_by("due_at")] == [
        ("winback", NOON + timedelta(minutes=60)), ("review_request", NOON + timedelta(minutes=60 + 24 * 60))]
    # when the scheduler runs at noon, only the early enrolment's version-1 step is due
    assert [o.status for o in run_due(now=NOON)] == ["sent"]
    assert Message.objects.get().customer.platform_id == "c1"
    assert Enrolment.objects.get(pk=early.pk).status == "completed"


def test_an_unchanged_edit_makes_no_version(shop):
    flow = winback(shop)
    current = [{"delay_minutes": s.delay_minutes, "action": s.action, "template": s.template,
                "is_marketing": s.is_marketing, "conditions": s.conditions, "config": s.config}
               for s in flow.steps.all()]
    assert flow_edit(shop=shop, key="winback", steps=current, settings={"inactive_days": 180}).version == 1
    assert FlowStep.objects.filter(flow=flow).count() == 1


def test_a_settings_edit_is_a_version_with_the_same_steps(shop):
    flow = winback(shop)
    edited = flow_edit(shop=shop, key="winback", settings={"inactive_days": 90})
    assert (edited.version, edited.settings) == (2, {"inactive_days": 90})
    assert [(s.version, s.template, s.conditions) for s in steps_for_new_enrolment(edited)] == [
        (2, "winback", {"no_order_since_enrolment": True})]
    assert FlowStep.objects.filter(flow=flow).count() == 2


def test_a_step_may_be_limited_to_a_segment(shop):
    winback(shop)
    edited = flow_edit(shop=shop, key="winback", steps=[{"template": "winback", "conditions": {"segment": "loyal"}}])
    assert [s.conditions for s in steps_for_new_enrolment(edited)] == [{"segment": "loyal"}]


@pytest.mark.parametrize(("changes", "steps", "message"), [
    (None, [], "a flow needs at least one step"),
    (None, [{"template": "nope"}], "step 1: unknown template 'nope' for send_email"),
    (None, [{"template": "winback", "action": "send_fax"}], "step 1: unknown action 'send_fax'"),
    (None, [{"template": "winback", "delay_minutes": -5}], "step 1: the delay must be 0 to"),
    (None, [{"template": "winback"}, {"template": "birthday", "action": "send_sms"}],
     "step 2: unknown template 'birthday' for send_sms"),
    (None, [{"template": "winback", "action": "send_sms", "config": {"discount_percent": 10}}],
     "step 1: unknown setting 'discount_percent' for send_sms"),
    (None, [{"template": "winback", "is_marketing": False}], "step 1: winback is marketing and needs"),
    (None, [{"template": "winback", "conditions": {"sunny": True}}], "step 1: conditions may be"),
    (None, [{"template": "winback", "conditions": {"segment": True}}], "step 1: conditions may be"),
    (None, [{"template": "winback", "config": {"discount_percent": 150}}],
     "step 1: discount_percent must be a whole number from 1 to 100"),
    (None, [{"template": "upsell_sms", "action": "send_sms", "config": {"co_purchased": 1}}],
     "step 1: co_purchased needs a flow started by an order"),
    ({"colour": "red"}, None, "unknown setting 'colour' for winback (known: inactive_days)"),
    ({"inactive_days": 0}, None, "inactive_days must be a whole number above zero"),
    (None, None, "nothing to change"),
])
def test_invalid_edits_are_refused_and_change_nothing(shop, changes, steps, message):
    flow = winback(shop)
    with pytest.raises(ApplicationError) as refused:
        flow_edit(shop=shop, key="winback", settings=changes, steps=steps)
    assert refused.value.message.startswith(message), refused.value.message
    assert refused.value.status == 400
    flow.refresh_from_db()
    assert (flow.version, flow.settings, FlowStep.objects.filter(flow=flow).count()) == (1, {"inactive_days": 180}, 1)


def test_merchant_edits_through_the_api_and_sees_versions_in_the_list(shop, client):
    other = ShopFactory(domain="other-versions.myshopify.com")
    winback(other)
    response = client.put("/api/campaigns/flows/winback", {"steps": NEW_STEPS}, content_type="application/json",
                          headers=headers(shop))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["flow"], body["version"]) == ("winback", 2)
    assert [(s["position"], s["template"], s["delay_minutes"], s["action"], s["is_marketing"])
            for s in body["steps"]] == [(0, "winback", 60, "send_email", True),
                                        (1, "review_request", 1440, "send_email", True)]
    listed = {row["flow"]: row for row in client.get("/api/campaigns/flows", headers=headers(shop)).json()}
    assert listed["winback"]["version"] == 2
    assert [s["template"] for s in listed["winback"]["steps"]] == ["winback", "review_request"]
    assert listed["birthday"]["version"] == 1 and listed["birthday"]["steps"][0]["template"] == "birthday"
    assert "sent" in listed["winback"]  # the figures are still there
    assert Flow.objects.get(shop=other, key="winback").version == 1


def test_a_bad_edit_through_the_api_is_a_400_with_the_reason(shop, client):
    winback(shop)
    bad_template = client.put("/api/campaigns/flows/winback", {"steps": [{"template": "nope"}]},
                              content_type="application/json", headers=headers(shop))
    assert bad_template.status_code == 400
    assert bad_template.json()["error"].startswith("step 1: unknown template 'nope' for send_email (known: ")
    bad_delay = client.put("/api/campaigns/flows/winback", {"steps": [{"template": "winback", "delay_minutes": -1}]},
                           content_type="application/json", headers=headers(shop))
    assert bad_delay.status_code == 400 and "delay_minutes" in str(bad_delay.json()["fields"])
    empty = client.put("/api/campaigns/flows/winback", {"steps": []}, content_type="application/json",
                       headers=headers(shop))
    assert empty.status_code == 400
    unknown = client.put("/api/campaigns/flows/nope", {"settings": {}}, content_type="application/json",
                         headers=headers(shop))
    assert unknown.status_code == 404
    assert Flow.objects.get(shop=shop, key="winback").version == 1


def test_a_paused_flow_enrols_nobody(shop):
    flow = flow_enable(shop=shop, key="order_thank_you", enabled=False)
    member(shop)
    deliver(shop, order("1", [line("1a", 1, "10.00")], customer="c1", email="c1@example.com", at=NOON))
    assert enrol(flow=flow, customer=Customer.objects.get(platform_id="c1"), trigger_key="direct", at=NOON) is None
    assert not Enrolment.objects.exists()


def test_pausing_holds_due_steps_and_resuming_runs_them(shop):
    flow = winback(shop)
    enrol(flow=flow, customer=member(shop), trigger_key="t", at=NOON)
    flow_enable(shop=shop, key="winback", enabled=False)
    assert run_due(now=NOON + timedelta(hours=1)) == []
    assert ScheduledStep.objects.get().status == "pending"  # held, not dropped
    flow_enable(shop=shop, key="winback", enabled=True)
    assert [o.status for o in run_due(now=NOON + timedelta(days=1))] == ["sent"]
    assert len(mail.outbox) == 1


def test_a_marketing_step_held_longer_than_the_stale_limit_is_skipped_with_the_reason(shop):
    flow = winback(shop)
    enrol(flow=flow, customer=member(shop), trigger_key="t", at=NOON)
    flow_enable(shop=shop, key="winback", enabled=False)
    flow_enable(shop=shop, key="winback", enabled=True)
    later = NOON + STALE_AFTER + timedelta(hours=1)
    [outcome] = run_due(now=later)
    assert outcome.status == "skipped"
    assert outcome.reason == "stale: due since 2026-06-10 12:00, more than 7 days ago"
    assert Message.objects.get().reason == outcome.reason
    assert mail.outbox == []


def test_an_order_thank_you_held_past_the_stale_limit_is_skipped_too(shop):
    flow_enable(shop=shop, key="order_thank_you")
    member(shop)
    flow_enable(shop=shop, key="order_thank_you", enabled=False)
    deliver(shop, order("1", [line("1a", 1, "10.00")], customer="c1", email="c1@example.com", at=NOON))
    assert Enrolment.objects.count() == 0  # paused: nobody enrolled
    flow_enable(shop=shop, key="order_thank_you")
    deliver(shop, order("2", [line("2a", 1, "10.00")], customer="c1", email="c1@example.com", at=NOON))
    flow_enable(shop=shop, key="order_thank_you", enabled=False)
    flow_enable(shop=shop, key="order_thank_you")
    [outcome] = run_due(now=NOON + STALE_AFTER + timedelta(hours=1))
    assert (outcome.status, outcome.reason) == ("skipped", "stale: due since 2026-06-10 12:00, more than 7 days ago")
    assert mail.outbox == []

"""Flow settings pages: what a save changes in the engine's behaviour (a paused flow enrols nobody,
a new delay moves the next step's due time, a segment condition skips non-members, a holiday's
hour moves its send time), refusals with 400 and the field named, the SMS counter, the preview,
"apply to recent history" with its dry run, and creating a flow."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from campaigns.models import Enrolment, Flow, FlowStep, Message, ScheduledStep
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_enable, flow_presets_create
from campaigns.services.holidays import holiday_scan
from commerce.models import Customer
from segments.models import Segment, SegmentKind, SegmentMembership
from tests.loyalty.helpers import deliver, line, order

LIST = "/dashboard/settings/flows/"
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem


@pytest.fixture
def shop(alpha: Any, settings: Any) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    flow_presets_create(shop=alpha)
    return alpha


def flow_url(key: str) -> str:
    return f"{LIST}{key}/"


def paid(shop: Any, number: str, customer: str, at: datetime = NOON) -> None:
    """A paid order of a known customer (with an email address), through the pipe."""
    Customer.objects.get_or_create(shop=shop, platform_id=customer,
                                   defaults={"email": f"{customer}@example.com", "email_consent": "subscribed"})
    deliver(shop, order(number, [line(f"{number}a", 1, "20.00")], customer=customer, email=f"{customer}@example.com",
                        at=at))


def steps_post(flow: Flow, **changes: Any) -> dict[str, Any]:
    """The editor's form as the page renders it for the flow's current steps, with ``changes``
    (``{"0-delay_minutes": "2"}``) typed over it."""
    data: dict[str, Any] = {"action": "save", "steps-TOTAL_FORMS": "0", "steps-INITIAL_FORMS": "0",
                            "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "10"}
    steps = list(FlowStep.objects.filter(flow=flow, version=Flow.objects.get(pk=flow.pk).version).order_by("position"))
    data["steps-TOTAL_FORMS"] = data["steps-INITIAL_FORMS"] = str(len(steps))
    for index, step in enumerate(steps):
        prefix = f"steps-{index}-"
        data.update({f"{prefix}delay_minutes": str(step.delay_minutes), f"{prefix}delay_unit": "minutes",
                     f"{prefix}action": step.action, f"{prefix}template": step.template,
                     f"{prefix}original_position": str(step.position)})
        for name, value in (step.conditions or {}).items():
            data[f"{prefix}{name}"] = "on" if value is True else value
        for name in ("discount_percent", "discount_hours"):
            if name in (step.config or {}):
                data[f"{prefix}{name}"] = str(step.config[name])
    data.update({f"steps-{name}": value for name, value in changes.items()})
    return data


def test_the_list_shows_every_flow_with_the_reports_numbers_and_pausing_stops_enrolment(client_in: Client,
                                                                                       shop: Any) -> None:
    # given the thank-you flow switched on from the page
    response = client_in.post(LIST, {"action": "enable", "flow": "order_thank_you"})
    assert response.status_code == 302 and "saved=1" in response["Location"]
    paid(shop, "o1", "c1")
    assert Enrolment.objects.filter(flow__key="order_thank_you").count() == 1
    assert [outcome.status for outcome in run_due(now=NOON + timedelta(minutes=1))] == ["sent"], \
        ScheduledStep.objects.values_list("result", flat=True)
    # the list shows each flow with its figures (the Flows report's selector)
    page = client_in.get(LIST).content.decode()
    card = re.search(r'<li id="flow-order_thank_you">(.*?)</li>\s*<li id=', page, re.S)
    assert card is not None and "<dt>Sent</dt><dd>1</dd>" in card.group(1) and ">On<" in card.group(1)
    assert page.count('<li id="flow-') == Flow.objects.filter(shop=shop).count()
    # when the merchant pauses it
    assert client_in.post(LIST, {"action": "pause", "flow": "order_thank_you"}).status_code == 302
    # then the next paid order enrols nobody
    paid(shop, "o2", "c2")
    assert Enrolment.objects.filter(flow__key="order_thank_you").count() == 1
    assert not Flow.objects.get(shop=shop, key="order_thank_you").is_enabled


def test_a_changed_delay_moves_the_next_scheduled_steps_due_time(client_in: Client, shop: Any) -> None:
    flow = flow_enable(shop=shop, key="order_thank_you")
    page = client_in.get(flow_url("order_thank_you"))
    assert page.status_code == 200 and 'name="steps-0-delay_minutes"' in page.content.decode()
    # when the merchant sets the wait to 2 hours
    response = client_in.post(flow_url("order_thank_you"),
                              steps_post(flow, **{"0-delay_minutes": "2", "0-delay_unit": "hours"}))
    assert response.status_code == 302
    # then it is a new version, and the next order's step is due two hours after it
    flow.refresh_from_db()
    assert flow.version == 2
    paid(shop, "o1", "c1")
    [scheduled] = ScheduledStep.objects.filter(enrolment__flow=flow)
    assert scheduled.due_at == NOON + timedelta(hours=2)
    # and the page shows the wait in hours
    html = client_in.get(flow_url("order_thank_you")).content.decode()
    assert re.search(r'name="steps-0-delay_minutes" value="2"', html)
    assert re.search(r'<option value="hours" selected>', html)


def test_a_segment_condition_skips_customers_outside_the_segment(client_in: Client, shop: Any) -> None:
    vip = Segment.objects.create(shop=shop, key="vip", name="VIP", kind=SegmentKind.MERCHANT)
    flow = flow_enable(shop=shop, key="winback")
    FlowStep.objects.filter(flow=flow).update(config={})  # no discount code in the store
    assert "VIP (0)" in client_in.get(flow_url("winback")).content.decode()  # the shop's segments to choose
    response = client_in.post(flow_url("winback"), steps_post(flow, **{"0-segment": "vip"}))
    assert response.status_code == 302
    flow.refresh_from_db()
    inside, outside = (Customer.objects.create(shop=shop, platform_id=pid, email=f"{pid}@example.com",
                                               email_consent="subscribed") for pid in ("in", "out"))
    SegmentMembership.objects.create(shop=shop, segment=vip, customer=inside)
    for customer in (inside, outside):
        enrol(flow=flow, customer=customer, trigger_key=customer.platform_id, at=NOON)
    outcomes = {outcome.status: outcome.reason for outcome in run_due(now=NOON)}
    assert outcomes == {"sent": "", "exited": "the customer is not in the segment vip"}
    assert list(Message.objects.filter(status="sent").values_list("customer__platform_id", flat=True)) == ["in"]


def test_refusals_are_400_with_the_field_named_and_change_nothing(client_in: Client, shop: Any) -> None:
    flow = Flow.objects.get(shop=shop, key="winback")
    bad_delay = client_in.post(flow_url("winback"), steps_post(flow, **{"0-delay_minutes": "-5"}))
    assert bad_delay.status_code == 400
    assert 'id="id_steps-0-delay_minutes-field"' in bad_delay.content.decode()
    assert 'class="field invalid" id="id_steps-0-delay_minutes-field"' in bad_delay.content.decode()
    # an SMS text with an unknown placeholder: the service's refusal lands on that text
    sms = steps_post(flow, **{"0-action": "send_sms", "0-template": "winback", "0-text_en": "Hi {firstname}"})
    refused = client_in.post(flow_url("winback"), sms).content.decode()
    assert "unknown placeholder {firstname}" in refused
    assert 'class="field invalid" id="id_steps-0-text_en-field"' in refused
    # a template of the other channel
    wrong = client_in.post(flow_url("winback"), steps_post(flow, **{"0-action": "send_sms", "0-template": "birthday"}))
    assert wrong.status_code == 400 and "unknown template" in wrong.content.decode()
    removed = steps_post(flow, **{"0-DELETE": "on"})
    assert client_in.post(flow_url("winback"), removed).status_code == 400
    assert Flow.objects.get(pk=flow.pk).version == 1


def test_an_sms_step_saves_its_texts_and_the_counter_counts_live(client_in: Client, shop: Any) -> None:
    flow = Flow.objects.get(shop=shop, key="winback")
    data = steps_post(flow, **{"0-action": "send_sms", "0-template": "winback",
                               "0-text_he": "{first_name}, התגעגענו! {shop}"})
    assert client_in.post(flow_url("winback"), data).status_code == 302
    step = FlowStep.objects.get(flow=flow, version=2)
    assert step.config["texts"] == {"he": "{first_name}, התגעגענו! {shop}"}
    html = client_in.get(flow_url("winback")).content.decode()
    assert "UCS-2" in html and 'hx-get="' in html and "part=sms_count" in html
    # the counter the textarea asks for as the merchant types
    counted = client_in.get(flow_url("winback"), {"part": "sms_count", "language": "en", "field": "steps-0-text_en",
                                                  "steps-0-text_en": "a" * 139, "is_marketing": "0"})
    assert counted.status_code == 200
    assert "139 characters (GSM-7): 1 SMS segment, 21 characters left in it." in counted.content.decode()
    two = client_in.get(flow_url("winback"), {"part": "sms_count", "language": "he", "field": "t",
                                              "t": "ש" * 71, "is_marketing": "0"}).content.decode()
    assert "71 characters (UCS-2): 2 SMS segments, 63 characters left in the last one." in two


def test_the_preview_finds_a_customer_and_shows_each_step_without_sending(client_in: Client, shop: Any) -> None:
    Customer.objects.create(shop=shop, platform_id="p1", email="noa@example.com", first_name="Noa",
                            email_consent="subscribed")
    Customer.objects.create(shop=shop, platform_id="p2", email="dan@example.com", first_name="Dan")
    found = client_in.get(flow_url("winback"), {"part": "customers", "q": "noa"}).content.decode()
    assert "noa@example.com" in found and "dan@example.com" not in found
    preview_url = re.search(r'hx-get="([^"]+)"', found).group(1).replace("&amp;", "&")
    preview = client_in.get(preview_url).content.decode()
    assert "we miss you" in preview.lower() and "Noa" in preview
    assert Message.objects.count() == 0 and Enrolment.objects.count() == 0


def test_apply_to_recent_history_counts_first_then_enrols(client_in: Client, shop: Any) -> None:
    flow_enable(shop=shop, key="order_thank_you")
    recent = datetime.now(UTC) - timedelta(days=3)
    paid(shop, "old", "c1", at=recent)
    Enrolment.objects.all().delete()  # as if the flow had been off then
    counted = client_in.post(flow_url("order_thank_you"), {"action": "history_dry_run", "days": "7"})
    assert counted.status_code == 200
    assert "1 customer would enter the flow from the last 7 days." in counted.content.decode()
    assert Enrolment.objects.count() == 0
    applied = client_in.post(flow_url("order_thank_you"), {"action": "history_apply", "days": "7"})
    assert applied.status_code == 302 and "enrolled=1" in applied["Location"]
    assert Enrolment.objects.filter(flow__key="order_thank_you").count() == 1
    assert client_in.post(flow_url("order_thank_you"), {"action": "history_dry_run", "days": "0"}).status_code == 400


def test_a_flow_is_created_from_the_trigger_list_paused(client_in: Client, shop: Any) -> None:
    page = client_in.get(LIST).content.decode()
    assert '<option value="order.fulfilled">' in page
    response = client_in.post(LIST, {"action": "create", "trigger": "order.fulfilled", "name": "Care tips"})
    assert response.status_code == 302 and response["Location"].startswith(flow_url("custom_1"))
    flow = Flow.objects.get(shop=shop, key="custom_1")
    assert (flow.name, flow.trigger, flow.is_enabled) == ("Care tips", "order.fulfilled", False)
    assert client_in.get(flow_url("custom_1")).status_code == 200
    refused = client_in.post(LIST, {"action": "create", "trigger": "schedule:daily", "name": "x"})
    assert refused.status_code == 400 and Flow.objects.filter(shop=shop, key="custom_2").count() == 0


# --- the holiday calendar ---------------------------------------------------------------------------

HOLIDAYS = "/dashboard/settings/holidays/"


def test_a_holidays_hour_sets_its_scheduled_send_time(client_in: Client, shop: Any) -> None:
    # given the holiday greetings (Israeli calendar) and a subscribed shopper
    flow_enable(shop=shop, key="holiday_greetings")
    noa = Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com", first_name="Noa",
                                  email_consent="subscribed", locale="en")
    page = client_in.get(HOLIDAYS, {"year": "2026"}).content.decode()
    assert 'name="occasions-IL-rosh_hashanah"' in page and "2026" in page
    # when the merchant keeps only Rosh Hashanah, on its eve, at 15:00
    response = client_in.post(HOLIDAYS + "?year=2026", {
        "action": "save", "calendars": ["IL"], "occasions-IL-rosh_hashanah": "1",
        "occasions-IL-rosh_hashanah-offset_days": "-1", "occasions-IL-rosh_hashanah-hour": "15"})
    assert response.status_code == 302
    flow = Flow.objects.get(shop=shop, key="holiday_greetings")
    assert flow.settings["occasions"] == {"IL": {"rosh_hashanah": {"offset_days": -1, "hour": 15}}}
    # then the greeting is scheduled at 15:00 in Jerusalem on the eve (11 September 2026)
    assert holiday_scan(flow=flow, now=datetime(2026, 9, 10, 5, 0, tzinfo=UTC)) == 1
    [scheduled] = ScheduledStep.objects.filter(enrolment__customer=noa)
    assert scheduled.due_at == datetime(2026, 9, 11, 12, 0, tzinfo=UTC)
    # and Sukkot, switched off, sends nothing
    assert holiday_scan(flow=flow, now=datetime(2026, 9, 25, 5, 0, tzinfo=UTC)) == 0


def test_a_holiday_hour_in_the_quiet_hours_is_refused(client_in: Client, shop: Any) -> None:
    response = client_in.post(HOLIDAYS, {
        "action": "save", "calendars": ["IL"], "occasions-IL-purim": "1",
        "occasions-IL-purim-offset_days": "0", "occasions-IL-purim-hour": "22"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "hour must be from 9 to 20" in html and 'aria-invalid="true"' in html
    assert Flow.objects.get(shop=shop, key="holiday_greetings").version == 1


def test_the_win_back_wait_is_a_setting_of_the_flow(client_in: Client, shop: Any) -> None:
    page = client_in.get(flow_url("winback")).content.decode()
    assert 'name="inactive_days" value="180"' in page
    assert client_in.post(flow_url("winback"), {"action": "settings", "inactive_days": "90"}).status_code == 302
    flow = Flow.objects.get(shop=shop, key="winback")
    assert (flow.settings["inactive_days"], flow.version) == (90, 2)
    assert client_in.post(flow_url("winback"), {"action": "settings", "inactive_days": "0"}).status_code == 400
    assert client_in.post(flow_url("winback"), {"action": "settings", "inactive_days": "90"}).status_code == 302
    assert Flow.objects.get(pk=flow.pk).version == 2  # unchanged: no new version


def test_a_step_is_added_then_saved_and_a_step_removed(client_in: Client, shop: Any) -> None:
    flow = Flow.objects.get(shop=shop, key="review_request")
    # "Add a step" shows one more (blank) step and saves nothing yet
    added = client_in.post(flow_url("review_request"), {**steps_post(flow), "action": "add_step"})
    assert added.status_code == 200 and 'name="steps-1-delay_minutes"' in added.content.decode()
    assert Flow.objects.get(pk=flow.pk).version == 1
    # saving the two steps: a new version with both, delays in order
    two = steps_post(flow, **{"TOTAL_FORMS": "2", "1-delay_minutes": "3", "1-delay_unit": "days",
                              "1-action": "send_email", "1-template": "winback"})
    assert client_in.post(flow_url("review_request"), two).status_code == 302
    flow.refresh_from_db()
    assert [(step.template, step.delay_minutes) for step in FlowStep.objects.filter(flow=flow, version=2)] == [
        ("review_request", 7 * 24 * 60), ("winback", 3 * 24 * 60)]
    # removing the first keeps the second, alone
    removed = steps_post(flow, **{"0-DELETE": "on"})
    assert client_in.post(flow_url("review_request"), removed).status_code == 302
    flow.refresh_from_db()
    assert [(step.position, step.template) for step in FlowStep.objects.filter(flow=flow, version=3)] == [
        (0, "winback")]


def test_the_shops_own_date_is_greeted_at_its_hour_and_a_bad_date_refused(client_in: Client, shop: Any) -> None:
    flow_enable(shop=shop, key="holiday_greetings")
    noa = Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com", first_name="Noa",
                                  email_consent="subscribed", locale="en")
    bad = client_in.post(HOLIDAYS, {"action": "save", "calendars": ["IL"], "custom-count": "0",
                                    "custom-0-name": "Store birthday", "custom-0-date": "13-40", "custom-0-hour": "11"})
    assert bad.status_code == 400 and "date must be MM-DD" in bad.content.decode()
    saved = client_in.post(HOLIDAYS, {"action": "save", "calendars": ["IL"], "custom-count": "0",
                                      "custom-0-name": "Store birthday", "custom-0-date": "06-20",
                                      "custom-0-hour": "11"})
    assert saved.status_code == 302
    flow = Flow.objects.get(shop=shop, key="holiday_greetings")
    assert flow.settings["custom"] == [{"date": "06-20", "name": "Store birthday", "hour": 11}]
    page = client_in.get(HOLIDAYS).content.decode()
    assert 'name="custom-0-name" value="Store birthday"' in page
    assert holiday_scan(flow=flow, now=datetime(2026, 6, 19, 5, 0, tzinfo=UTC)) == 1
    [scheduled] = ScheduledStep.objects.filter(enrolment__customer=noa)
    assert scheduled.due_at == datetime(2026, 6, 20, 8, 0, tzinfo=UTC)  # 11:00 in Jerusalem
    # removing it leaves the shop's own dates empty
    removed = client_in.post(HOLIDAYS, {"action": "save", "calendars": ["IL"], "custom-count": "1",
                                        "custom-0-name": "Store birthday", "custom-0-date": "06-20",
                                        "custom-0-hour": "11", "custom-0-remove": "1"})
    assert removed.status_code == 302
    assert Flow.objects.get(pk=flow.pk).settings["custom"] == []


def test_persian_pages_write_persian_digits(client_in: Client, shop: Any) -> None:
    counted = client_in.get(flow_url("winback"), {"part": "sms_count", "language": "fa", "field": "t", "t": "سلام",
                                                  "is_marketing": "0"}, HTTP_ACCEPT_LANGUAGE="fa")
    html = counted.content.decode()
    assert "۴" in html and "UCS-2" in html and "4 " not in html
    holidays_page = client_in.get(HOLIDAYS, {"year": "2026"}, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "۱۰:۰۰" in holidays_page and "۲۰۲۶" in holidays_page


def test_an_upsell_sms_step_needs_its_products_and_keeps_them(client_in: Client, shop: Any) -> None:
    flow = Flow.objects.get(shop=shop, key="order_thank_you")
    upsell = {"1-delay_minutes": "10", "1-delay_unit": "minutes", "1-action": "send_sms", "1-template": "upsell_sms"}
    refused = client_in.post(flow_url("order_thank_you"), steps_post(flow, TOTAL_FORMS="2", **upsell))
    assert refused.status_code == 400
    assert 'class="field invalid" id="id_steps-1-co_purchased-field"' in refused.content.decode()
    saved = client_in.post(flow_url("order_thank_you"),
                           steps_post(flow, TOTAL_FORMS="2", **upsell, **{"1-co_purchased": "2"}))
    assert saved.status_code == 302
    step = FlowStep.objects.get(flow=flow, version=2, position=1)
    assert (step.template, step.config, step.is_marketing) == ("upsell_sms", {"co_purchased": 2}, True)
    assert 'name="steps-1-co_purchased" value="2"' in client_in.get(flow_url("order_thank_you")).content.decode()

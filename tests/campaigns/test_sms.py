"""SMS: opt-in required, sent through the provider adapter, STOP/HELP/START replies."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from campaigns.models import FlowStep
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_enable
from commerce.models import ConsentChange, Customer
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
TOKEN = "twilio-auth-token-for-tests"


@pytest.fixture
def shop(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SMS_PROVIDER = "sandbox"
    settings.TWILIO_AUTH_TOKEN = TOKEN
    return ShopFactory(timezone="Asia/Jerusalem", locale="he")


@pytest.fixture
def sms_flow(shop):
    flow = flow_enable(shop=shop, key="winback")
    FlowStep.objects.filter(flow=flow).update(action="send_sms", config={})
    return flow


def member(shop, consent="subscribed") -> Customer:
    return Customer.objects.create(shop=shop, platform_id="c1", first_name="Noa", phone="+972-50-123-4567",
                                   sms_consent=consent, email="noa@example.com", email_consent="subscribed")


def sent_sms(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for file in sorted((tmp_path / "sms").glob("*.jsonl"))
            for line in file.read_text().splitlines()]


def inbound(client, body: str, sender: str = "+972501234567", token: str = TOKEN):
    url = "http://testserver/webhooks/sms/twilio"
    params = {"From": sender, "To": "+15550000000", "Body": body, "MessageSid": "SM1"}
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post("/webhooks/sms/twilio", params, headers={"X-Twilio-Signature": signature})


def test_sms_needs_opt_in(shop, sms_flow, tmp_path):
    customer = member(shop, consent="not_subscribed")
    enrol(flow=sms_flow, customer=customer, trigger_key="t", at=NOON)
    assert [o.reason for o in run_due(now=NOON)] == ["no marketing consent for sms"]
    assert sent_sms(tmp_path) == []


def test_sms_is_sent_in_the_shoppers_language_with_stop_instructions(shop, sms_flow, tmp_path):
    customer = member(shop)
    enrol(flow=sms_flow, customer=customer, trigger_key="t", at=NOON)
    assert [o.status for o in run_due(now=NOON)] == ["sent"]
    [message] = sent_sms(tmp_path)
    assert message["to"] == "+972-50-123-4567"
    assert "STOP" in message["body"] and "התגעגענו" in message["body"]


def test_stop_opts_out_at_once_and_only_for_sms(shop, sms_flow, client, tmp_path):
    customer = member(shop)
    response = inbound(client, "stop please")
    assert response.status_code == 200
    assert "unsubscribed" in response.content.decode()
    customer.refresh_from_db()
    assert (customer.sms_consent, customer.email_consent) == ("unsubscribed", "subscribed")
    [stop] = ConsentChange.objects.filter(customer=customer)
    assert (stop.channel, stop.state, stop.source) == ("sms", "unsubscribed", "sms_stop")
    enrol(flow=sms_flow, customer=customer, trigger_key="after-stop", at=NOON)
    assert [o.reason for o in run_due(now=NOON)] == ["no marketing consent for sms"]
    # a second STOP changes nothing; START subscribes again, both kept in the ledger
    inbound(client, "STOP")
    inbound(client, "START")
    customer.refresh_from_db()
    assert customer.sms_consent == "subscribed"
    assert list(ConsentChange.objects.filter(customer=customer).order_by("at", "pk").values_list(
        "state", "source")) == [("unsubscribed", "sms_stop"), ("subscribed", "sms_start")]


def test_help_is_answered_and_a_forged_reply_is_refused(shop, client):
    member(shop)
    assert "Reply STOP" in inbound(client, "HELP").content.decode()
    forged = inbound(client, "STOP", token="someone-elses-token")
    assert forged.status_code == 401
    assert not ConsentChange.objects.exists()


def test_quiet_hours_hold_sms_too(shop, sms_flow, tmp_path):
    customer = member(shop)
    night = NOON + timedelta(hours=8)  # 23:00 in Jerusalem
    enrol(flow=sms_flow, customer=customer, trigger_key="night", at=night)
    assert [o.status for o in run_due(now=night)] == ["deferred"]
    assert sent_sms(tmp_path) == []

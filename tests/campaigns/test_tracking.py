"""Provider tracking (django-anymail): delivered/opened/clicked counted per flow, a bounce or a
complaint stops marketing email at once."""

import base64
import json
from datetime import UTC, datetime

import pytest
from anymail.signals import AnymailTrackingEvent, tracking

from campaigns.models import Message, MessageEvent
from campaigns.services.attribution import flow_stats
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_enable
from commerce.models import ConsentChange, Customer
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def sent(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"  # sets anymail_status like a real ESP
    shop = ShopFactory(timezone="Asia/Jerusalem")
    flow = flow_enable(shop=shop, key="winback")
    flow.steps.update(config={})
    customer = Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com",
                                       email_consent="subscribed")
    enrol(flow=flow, customer=customer, trigger_key="t", at=NOON)
    run_due(now=NOON)
    return Message.objects.get(status="sent")


def report(message: Message, event_type: str, **extra) -> None:
    event = AnymailTrackingEvent(event_type=event_type, message_id=message.provider_message_id,
                                 metadata={"comeback_message": message.tracking_id}, timestamp=NOON, **extra)
    tracking.send(sender=object, event=event, esp_name="Test")


def test_opens_and_clicks_are_counted_once_per_message(sent):
    assert sent.tracking_id and sent.provider_message_id
    for event_type in ("delivered", "opened", "opened", "clicked"):
        report(sent, event_type, click_url="https://shop.example/p")
    assert MessageEvent.objects.filter(message=sent).count() == 3
    stats = {row["flow"]: row for row in flow_stats(shop=sent.shop)}["winback"]
    assert (stats["delivered"], stats["opened"], stats["clicked"]) == (1, 1, 1)


@pytest.mark.parametrize("event_type", ["bounced", "complained"])
def test_bounce_or_complaint_stops_marketing_email(sent, event_type):
    report(sent, event_type)
    sent.customer.refresh_from_db()
    assert sent.customer.email_consent == "unsubscribed"
    [change] = ConsentChange.objects.filter(customer=sent.customer)
    assert (change.channel, change.state, change.source) == ("email", "unsubscribed", "bounce")
    assert change.detail == event_type


def test_postmark_events_over_http_with_the_webhook_secret(client, settings, sent):
    """The real path: Postmark posts to /anymail/postmark/tracking/ with the configured basic auth."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": "anymail:tracking-secret"}
    auth = "Basic " + base64.b64encode(b"anymail:tracking-secret").decode()
    common = {"MessageID": sent.provider_message_id, "Metadata": {"comeback_message": sent.tracking_id},
              "Recipient": sent.customer.email, "MessageStream": "outbound", "Tag": ""}
    bodies = [
        {"RecordType": "Delivery", "DeliveredAt": "2026-06-10T12:01:00Z", "Details": "250 OK", **common},
        {"RecordType": "Open", "ReceivedAt": "2026-06-10T12:10:00Z", "FirstOpen": True, **common},
        {"RecordType": "Click", "ReceivedAt": "2026-06-10T12:11:00Z", "OriginalLink": "https://shop.example/p",
         "ClickLocation": "HTML", **common},
    ]
    for body in bodies:
        response = client.post("/anymail/postmark/tracking/", json.dumps(body),
                               content_type="application/json", HTTP_AUTHORIZATION=auth)
        assert response.status_code == 200
    stats = {row["flow"]: row for row in flow_stats(shop=sent.shop)}["winback"]
    assert (stats["delivered"], stats["opened"], stats["clicked"]) == (1, 1, 1)

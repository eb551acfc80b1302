"""The email provider's tracking webhooks under /anymail/ fail closed: not served without a
configured secret or signing key, refused without the right credentials, and only then does a
bounce unsubscribe the customer."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest

from campaigns.models import Message, MessageEvent
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_enable
from commerce.models import ConsentChange, Customer
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
SECRET = "anymail:8f3c1d2e-webhook"


@pytest.fixture
def sent(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {}
    shop = ShopFactory()
    flow = flow_enable(shop=shop, key="winback")
    flow.steps.update(config={})
    customer = Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com",
                                       email_consent="subscribed")
    enrol(flow=flow, customer=customer, trigger_key="t", at=NOON)
    run_due(now=NOON)
    return Message.objects.get(status="sent")


def postmark_bounce(message: Message) -> str:
    """A Postmark bounce webhook body, as Postmark sends it."""
    return json.dumps({
        "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
        "Name": "Hard bounce", "Tag": "", "MessageID": message.provider_message_id,
        "Metadata": {"comeback_message": message.tracking_id}, "ServerID": 23,
        "MessageStream": "outbound", "Description": "The server was unable to deliver your message",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": message.customer.email, "From": "shop@example.com",
        "BouncedAt": "2026-06-10T12:05:00Z", "DumpAvailable": False, "Inactive": True,
        "CanActivate": True, "Subject": "We miss you", "Content": "", "Tags": []})


def basic(credentials: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def assert_untouched(message: Message) -> None:
    message.customer.refresh_from_db()
    assert message.customer.email_consent == "subscribed"
    assert not ConsentChange.objects.filter(customer=message.customer).exists()
    assert not MessageEvent.objects.filter(message=message, event_type="bounced").exists()


@pytest.mark.parametrize("route", ["postmark/tracking/", "sparkpost/tracking/", "mailgun/tracking/",
                                   "mandrill/", "mandrill/tracking/", "sendgrid/tracking/"])
def test_without_any_secret_the_webhooks_are_not_served(client, sent, route):
    response = client.post(f"/anymail/{route}", postmark_bounce(sent), content_type="application/json",
                           **basic(SECRET))
    assert response.status_code == 404
    assert_untouched(sent)


@pytest.mark.parametrize("auth", [{}, basic("anymail:wrong"), basic("someone:" + SECRET.split(":")[1])])
def test_wrong_or_missing_basic_auth_is_refused(client, settings, sent, auth):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    response = client.post("/anymail/postmark/tracking/", postmark_bounce(sent),
                           content_type="application/json", **auth)
    assert 400 <= response.status_code < 500
    assert_untouched(sent)


def test_the_right_basic_auth_records_the_bounce(client, settings, sent):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["anymail:old-secret", SECRET]}  # rotation: either works
    response = client.post("/anymail/postmark/tracking/", postmark_bounce(sent),
                           content_type="application/json", **basic(SECRET))
    assert response.status_code == 200
    sent.customer.refresh_from_db()
    assert sent.customer.email_consent == "unsubscribed"
    [change] = ConsentChange.objects.filter(customer=sent.customer)
    assert (change.channel, change.state, change.source, change.detail) == (
        "email", "unsubscribed", "bounce", "bounced")


def test_signing_providers_are_not_served_on_the_shared_secret_alone(client, settings, sent):
    """Mailgun and Mandrill sign every request: without their key they 404 (never a 500)."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    for route in ("mailgun/tracking/", "mandrill/", "postal/tracking/", "mailersend/tracking/"):
        response = client.post(f"/anymail/{route}", {"mandrill_events": "[]"}, **basic(SECRET))
        assert response.status_code == 404, route
    assert_untouched(sent)


def mailgun_bounce(message: Message, *, key: str) -> dict:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "failed", "severity": "permanent", "timestamp": time.time(),
            "id": "G9Bn5sl1TC6nu79C8C0bwg", "recipient": message.customer.email,
            "reason": "bounce", "user-variables": {"comeback_message": message.tracking_id},
            "message": {"headers": {"message-id": message.provider_message_id}},
            "delivery-status": {"code": 550, "message": "No such user", "description": ""},
        },
    }


def test_mailgun_needs_its_signature(client, settings, sent):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key-mailgun-signing"}
    forged = mailgun_bounce(sent, key="key-guessed")
    response = client.post("/anymail/mailgun/tracking/", json.dumps(forged), content_type="application/json")
    assert 400 <= response.status_code < 500
    assert_untouched(sent)

    signed = mailgun_bounce(sent, key="key-mailgun-signing")
    response = client.post("/anymail/mailgun/tracking/", json.dumps(signed), content_type="application/json")
    assert response.status_code == 200
    sent.customer.refresh_from_db()
    assert sent.customer.email_consent == "unsubscribed"


@pytest.mark.parametrize(("route", "body"), [
    ("mailgun/tracking/", "[]"), ("mailgun/tracking/", "not json"), ("mailgun/tracking/", '{"signature": 5}'),
    ("postmark/tracking/", "[]"), ("postmark/tracking/", "not json"), ("sparkpost/tracking/", '{"a": 1}'),
    ("mailjet/tracking/", "{}"), ("brevo/tracking/", "[]"), ("sendgrid/tracking/", "not json"),
])
def test_malformed_bodies_are_a_4xx_never_a_500(client, settings, sent, route, body):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": "key-mailgun-signing"}
    response = client.post(f"/anymail/{route}", body, content_type="application/json", **basic(SECRET))
    assert 400 <= response.status_code < 500
    assert_untouched(sent)


def _soft(message: Message, bounce_id: int) -> str:
    body = json.loads(postmark_bounce(message))
    body.update({"ID": bounce_id, "Type": "SoftBounce", "TypeCode": 4096, "Name": "Soft bounce",
                 "Details": "smtp;452 4.2.2 Mailbox full", "Inactive": False,
                 "BouncedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z")})
    return json.dumps(body)


def test_a_soft_bounce_does_not_unsubscribe_until_it_repeats(client, settings, sent):
    """A full mailbox once is not a reason to lose a subscriber; three soft bounces in a month are."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.EMAIL_SOFT_BOUNCE_LIMIT = 3
    customer = sent.customer
    messages = [sent]
    for n in (2, 3):  # two more messages to the same customer, as later flow steps would send
        messages.append(Message.objects.create(
            shop_id=sent.shop_id, customer=customer, flow_id=sent.flow_id, channel=sent.channel,
            template=sent.template, language=sent.language, status="sent", at=sent.at,
            provider_message_id=f"pm-{n}", tracking_id=f"tr-{n}"))
    for n, message in enumerate(messages, start=1):
        response = client.post("/anymail/postmark/tracking/", _soft(message, n),
                               content_type="application/json", **basic(SECRET))
        assert response.status_code == 200
        customer.refresh_from_db()
        expected = "unsubscribed" if n == 3 else "subscribed"
        assert customer.email_consent == expected, n
    assert MessageEvent.objects.filter(message__customer=customer, event_type="soft_bounced").count() == 3
    [change] = ConsentChange.objects.filter(customer=customer)
    assert change.detail == "soft_bounced"

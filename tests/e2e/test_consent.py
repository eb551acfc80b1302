"""One consent ledger that reaches the store: an unsubscribe or STOP is written back to the
(sandbox) Shopify store over HTTP, the store's webhook echo changes nothing, a later opt-in in
the store is honoured and an out-of-date one is not."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from campaigns.services.email import unsubscribe_url
from campaigns.services.sms import inbound_reply
from commerce.consent import consent_change_record
from commerce.models import ConsentChange, Customer, Shop
from integrations.consent import consent_write_back
from integrations.models import WebhookDelivery
from integrations.platforms import PlatformUnavailable
from integrations.tasks import consent_write_back_due
from tests.e2e.conftest import install
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "consent-store.myshopify.com"


@pytest.fixture
def store(app, sandbox):
    """An installed store with one shopper subscribed to email and SMS, synced into the app."""
    store = sandbox.add_shop(DOMAIN, seed=3, customers=3, orders=3)
    store.create_customer(first_name="Noa", email="noa@example.com", phone="+972501234567",
                          email_marketing="SUBSCRIBED", sms_marketing="SUBSCRIBED")
    install(app, DOMAIN)
    sandbox.webhooks.wait_idle(15)  # the install's own deliveries are in before the test starts
    return store


def shopper(store):
    [found] = [customer for customer in store.customers if customer.email == "noa@example.com"]
    return found


def ours() -> Customer:
    return Customer.objects.get(shop__domain=DOMAIN, email="noa@example.com")


def test_stop_is_written_back_to_the_stores_sms_consent_and_the_echo_changes_nothing(store, sandbox):
    # given
    assert ours().sms_consent == "subscribed"
    # when the shopper replies STOP
    inbound_reply(sender="+972 50-123-4567", body="STOP")
    sandbox.webhooks.wait_idle(15)
    # then the store has them unsubscribed from SMS, dated when they said STOP
    [change] = ConsentChange.objects.filter(customer=ours())
    consent = shopper(store).sms_consent
    assert consent.state == "UNSUBSCRIBED"
    assert abs(consent.updated_at - change.at) < timedelta(seconds=1)
    assert shopper(store).email_consent.state == "SUBSCRIBED"  # email untouched
    change.refresh_from_db()
    assert change.platform_synced_at is not None
    # and the store's customers/update echo neither flips us nor adds to the ledger
    assert WebhookDelivery.objects.filter(shop_domain=DOMAIN, topic="customers/update",
                                          processed_at__isnull=False).exists()
    assert ours().sms_consent == "unsubscribed"
    assert ConsentChange.objects.filter(customer=ours()).count() == 1
    # writing it back again does nothing (the task is idempotent)
    assert consent_write_back(change_id=change.pk) == "nothing to write"


def test_unsubscribe_link_is_written_back_to_the_stores_email_consent(store, sandbox, app):
    # when the shopper confirms the link from an email
    response = requests.post(unsubscribe_url(ours()), timeout=60)
    assert response.status_code == 200
    sandbox.webhooks.wait_idle(15)
    # then
    assert shopper(store).email_consent.state == "UNSUBSCRIBED"
    assert shopper(store).sms_consent.state == "SUBSCRIBED"
    assert ours().email_consent == "unsubscribed"
    [change] = ConsentChange.objects.filter(customer=ours())
    assert (change.channel, change.source, change.state) == ("email", "unsubscribe_link", "unsubscribed")


def test_a_later_opt_in_in_the_store_resubscribes_an_out_of_date_one_does_not(store, sandbox, app):
    # given the shopper unsubscribed by the link
    requests.post(unsubscribe_url(ours()), timeout=60)
    sandbox.webhooks.wait_idle(15)
    unsubscribed_at = ConsentChange.objects.get(customer=ours()).at
    # when a delivery from before that arrives late (the store says subscribed, as of an hour earlier)
    store.set_marketing_consent(shopper(store).id, channel="email", state="SUBSCRIBED",
                                at=unsubscribed_at - timedelta(hours=1))
    sandbox.webhooks.wait_idle(15)
    # then nothing changes
    assert ours().email_consent == "unsubscribed"
    assert ConsentChange.objects.filter(customer=ours()).count() == 1
    # when the shopper subscribes again at checkout, later
    store.set_marketing_consent(shopper(store).id, channel="email", state="SUBSCRIBED",
                                at=unsubscribed_at + timedelta(minutes=5))
    sandbox.webhooks.wait_idle(15)
    # then that is honoured, and kept in the ledger as the platform's change
    assert ours().email_consent == "subscribed"
    latest = ConsentChange.objects.filter(customer=ours()).order_by("-at").first()
    assert latest is not None
    assert (latest.source, latest.state) == ("platform", "subscribed")
    assert abs(latest.at - (unsubscribed_at + timedelta(minutes=5))) < timedelta(seconds=1)


def test_a_write_back_that_cannot_reach_the_store_is_left_to_retry_and_done_once_it_can(store, sandbox, settings):
    # given a STOP recorded (twenty minutes ago) while the store cannot be reached
    change = consent_change_record(customer=ours(), channel="sms", state="unsubscribed", source="sms_stop",
                                   at=timezone.now() - timedelta(minutes=20))
    assert change is not None
    reachable = settings.SHOPIFY_SANDBOX_URL
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens there
    # when the write-back runs: the task is told to retry, nothing is marked written
    with pytest.raises(PlatformUnavailable):
        consent_write_back(change_id=change.pk)
    change.refresh_from_db()
    assert change.platform_synced_at is None
    assert shopper(store).sms_consent.state == "SUBSCRIBED"
    # when the sweep finds it with the store back
    settings.SHOPIFY_SANDBOX_URL = reachable
    assert consent_write_back_due() == 1
    # then
    assert shopper(store).sms_consent.state == "UNSUBSCRIBED"
    change.refresh_from_db()
    assert change.platform_synced_at is not None
    assert consent_write_back_due() == 0  # written once


def test_the_merchant_sees_the_ledger_and_a_change_they_make_reaches_the_store(store, sandbox, client):
    headers = {"Authorization": f"Bearer {session_token(DOMAIN)}"}
    url = f"/api/campaigns/customers/{ours().pk}/consent"
    # when the merchant records that the shopper asked (by phone) to get no more SMS
    response = client.post(url, {"channel": "sms", "subscribed": False}, content_type="application/json",
                           headers=headers)
    sandbox.webhooks.wait_idle(15)
    # then it is in the store, and the merchant sees the state and the change
    assert response.status_code == 200, response.content
    assert shopper(store).sms_consent.state == "UNSUBSCRIBED"
    seen = client.get(url, headers=headers).json()
    assert (seen["email"], seen["sms"]) == ("subscribed", "unsubscribed")
    assert [(c["channel"], c["state"], c["source"], c["written_to_store"]) for c in seen["changes"]] == [
        ("sms", "unsubscribed", "merchant", True)]
    # another shop's merchant cannot see or change this shopper
    other = ShopFactory(domain="other-consent.myshopify.com")
    stranger = {"Authorization": f"Bearer {session_token(other.domain)}"}
    assert client.get(url, headers=stranger).status_code == 404
    assert client.post(url, {"channel": "email", "subscribed": False}, content_type="application/json",
                       headers=stranger).status_code == 404
    assert ours().email_consent == "subscribed"


def test_the_stores_consent_mutations_refuse_what_shopify_refuses(store, sandbox):
    from integrations.shopify import queries, sync

    shop = Shop.objects.get(domain=DOMAIN)
    no_phone = store.create_customer(first_name="Dan", email="dan@example.com")
    client = sync.client_for(shop)
    result = client.execute(queries.CUSTOMER_SMS_MARKETING_CONSENT_UPDATE, {"input": {
        "customerId": f"gid://shopify/Customer/{no_phone.id}",
        "smsMarketingConsent": {"marketingState": "UNSUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN"}}})
    assert result["customerSmsMarketingConsentUpdate"]["customer"] is None
    [error] = result["customerSmsMarketingConsentUpdate"]["userErrors"]
    assert error["message"] == "Customer must have a phone number"
    result = client.execute(queries.CUSTOMER_EMAIL_MARKETING_CONSENT_UPDATE, {"input": {
        "customerId": f"gid://shopify/Customer/{no_phone.id}",
        "emailMarketingConsent": {"marketingState": "NOT_SUBSCRIBED"}}})
    assert result["customerEmailMarketingConsentUpdate"]["userErrors"][0]["code"] == "INCLUSION"

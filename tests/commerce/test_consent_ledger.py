"""The consent ledger: every change kept with its time and source, the newest one is the
shopper's state, and the store's history sync (GraphQL) and webhooks (REST) are weighed against
it by when the shopper last changed their mind there."""

from datetime import UTC, datetime, timedelta

import pytest

from commerce.consent import consent_change_pending, consent_change_record
from commerce.models import ConsentChange, Customer
from commerce.services import customers_upsert
from integrations.shopify.normalise import customer_from_graphql, customer_from_rest
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

STOPPED_AT = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    return ShopFactory()


def graphql_node(*, sms_state: str, sms_at: datetime | None, updated_at: datetime) -> dict:
    """A customer line of the history sync's bulk result, as the Admin API shapes it."""
    return {"id": "gid://shopify/Customer/7", "email": "noa@example.com", "phone": "+972501234567",
            "updatedAt": updated_at.isoformat(), "createdAt": "2025-01-01T00:00:00Z",
            "emailMarketingConsent": {"marketingState": "SUBSCRIBED", "consentUpdatedAt": "2025-01-01T00:00:00Z"},
            "smsMarketingConsent": {"marketingState": sms_state,
                                    "consentUpdatedAt": sms_at.isoformat() if sms_at else None}}


@pytest.fixture
def stopped(shop) -> Customer:
    """A shopper synced subscribed to both channels, who then replied STOP."""
    customers_upsert(shop=shop, records=[customer_from_graphql(graphql_node(
        sms_state="SUBSCRIBED", sms_at=datetime(2025, 1, 1, tzinfo=UTC), updated_at=STOPPED_AT - timedelta(days=1)))],
        live=False)
    customer = Customer.objects.get(shop=shop, platform_id="7")
    assert (customer.email_consent, customer.sms_consent) == ("subscribed", "subscribed")
    assert not ConsentChange.objects.exists()  # a new customer's first state is no change
    change = consent_change_record(customer=customer, channel="sms", state="unsubscribed", source="sms_stop",
                                   at=STOPPED_AT)
    assert change is not None
    return customer


def test_a_second_stop_changes_nothing(stopped):
    assert consent_change_record(customer=stopped, channel="sms", state="unsubscribed", source="sms_stop") is None
    assert ConsentChange.objects.count() == 1


def test_a_sync_with_the_stores_older_state_keeps_the_stop(shop, stopped):
    # when the (later) sync still has the store's state from before the STOP
    customers_upsert(shop=shop, records=[customer_from_graphql(graphql_node(
        sms_state="SUBSCRIBED", sms_at=datetime(2025, 1, 1, tzinfo=UTC), updated_at=STOPPED_AT + timedelta(hours=1)))],
        live=False)
    # then
    stopped.refresh_from_db()
    assert stopped.sms_consent == "unsubscribed"
    assert ConsentChange.objects.count() == 1


def test_a_state_without_a_date_does_not_undo_our_change(shop, stopped):
    customers_upsert(shop=shop, records=[customer_from_graphql(graphql_node(
        sms_state="SUBSCRIBED", sms_at=None, updated_at=STOPPED_AT + timedelta(hours=1)))], live=False)
    stopped.refresh_from_db()
    assert stopped.sms_consent == "unsubscribed"


def test_a_webhook_with_a_newer_opt_in_resubscribes_and_is_kept_in_the_ledger(shop, stopped):
    # given the REST shape of a customers/update webhook: subscribed again at checkout, after the STOP
    opted_in = STOPPED_AT + timedelta(days=2)
    payload = {"id": 7, "email": "noa@example.com", "phone": "+972501234567",
               "updated_at": opted_in.isoformat(), "created_at": "2025-01-01T00:00:00Z",
               "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                           "consent_updated_at": "2025-01-01T00:00:00+00:00"},
               "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                         "consent_updated_at": opted_in.isoformat(),
                                         "consent_collected_from": "SHOPIFY"}}
    # when
    customers_upsert(shop=shop, records=[customer_from_rest(payload)], live=True)
    # then
    stopped.refresh_from_db()
    assert stopped.sms_consent == "subscribed"
    assert list(ConsentChange.objects.order_by("at").values_list("channel", "state", "source", "at")) == [
        ("sms", "unsubscribed", "sms_stop", STOPPED_AT), ("sms", "subscribed", "platform", opted_in)]
    # and the STOP before it is no longer the newest: a late write-back must not resend it
    assert consent_change_pending(change_id=ConsentChange.objects.get(source="sms_stop").pk) is None

"""A merchant's own flow on a store event: created paused with one step (API and service), then it
enrols like any flow once switched on."""

from datetime import UTC, datetime

import pytest

from campaigns.models import Enrolment, Flow, FlowStep
from campaigns.services.flows import flow_create, flow_enable, flow_presets_create
from commerce.models import Customer
from retention_app.errors import ApplicationError
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    shop = ShopFactory(timezone="Asia/Jerusalem")
    flow_presets_create(shop=shop)
    return shop


def test_the_api_creates_a_paused_flow_that_enrols_once_switched_on(shop, client):
    headers = {"Authorization": f"Bearer {session_token(shop.domain)}"}
    response = client.post("/api/campaigns/flows", {"trigger": "order.paid", "name": "Second thank-you"},
                           content_type="application/json", headers=headers)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["flow"], body["trigger"], body["enabled"], body["version"]) == (
        "custom_1", "order.paid", False, 1)
    assert [step["template"] for step in body["steps"]] == ["bounce_back"]
    # paused: an order enrols nobody
    Customer.objects.create(shop=shop, platform_id="c1", email="c1@example.com", email_consent="subscribed")
    deliver(shop, order("o1", [line("o1a", 1, "20.00")], customer="c1", email="c1@example.com", at=NOON))
    assert not Enrolment.objects.filter(flow__key="custom_1").exists()
    # switched on, the next order enrols into it
    flow_enable(shop=shop, key="custom_1")
    deliver(shop, order("o2", [line("o2a", 1, "20.00")], customer="c1", email="c1@example.com", at=NOON))
    assert Enrolment.objects.filter(flow__key="custom_1").count() == 1


def test_unknown_triggers_and_blank_names_are_refused_and_numbers_go_on(shop):
    with pytest.raises(ApplicationError) as refused:
        flow_create(shop=shop, trigger="schedule:daily", name="Daily")
    assert refused.value.extra["field"] == "trigger"
    with pytest.raises(ApplicationError) as blank:
        flow_create(shop=shop, trigger="order.paid", name="  ")
    assert blank.value.extra["field"] == "name"
    assert [flow_create(shop=shop, trigger="loyalty.tier_reached", name=f"n{n}").key for n in range(2)] == [
        "custom_1", "custom_2"]
    assert FlowStep.objects.get(flow__key="custom_2").template == "loyalty_tier_reached"
    assert Flow.objects.filter(shop=shop, key__startswith="custom_").count() == 2

"""The widget's survey API (signed app-proxy requests) and the merchant's (session token)."""

import pytest

from loyalty.models import LedgerEntry
from loyalty.services.ledger import account_for_customer
from surveys.models import Response, Survey
from surveys.selectors import survey_list
from surveys.services import response_submit
from tests.factories import CustomerFactory, ShopFactory
from tests.integrations.test_oauth import session_token
from tests.loyalty.test_widget_api import signed  # an app-proxy query string, signed as the platform does

pytestmark = pytest.mark.django_db


def auth(shop) -> dict:
    return {"Authorization": f"Bearer {session_token(shop.domain)}"}


@pytest.fixture
def other_shop(db):
    shop = ShopFactory(domain="rival.myshopify.com")
    Survey.objects.filter(shop=shop).update(is_active=True)
    return shop


def test_widget_lists_active_surveys_in_the_requested_language(client, shop, surveys, customer):
    Survey.objects.filter(pk=surveys["zero_party"].pk).update(is_active=False)
    body = client.get(f"/proxy/surveys?{signed(shop, 'c1', locale='fa')}").json()
    assert (body["logged_in"], body["language"]) == (True, "fa")
    assert [s["key"] for s in body["surveys"]] == ["nps", "satisfaction"]
    nps = body["surveys"][0]
    assert nps["title"] == "ما را توصیه می‌کنید؟"
    assert nps["questions"][0] == {"key": "recommend", "kind": "score", "required": True, "multiple": False,
                                   "choices": [], "text": "چقدر احتمال دارد ما را به یک دوست یا همکار توصیه کنید؟"}
    assert nps["points"] == 20


def test_widget_needs_a_valid_signature_and_a_shopper(client, shop, surveys, customer):
    tampered = signed(shop, "c1").replace("logged_in_customer_id=c1", "logged_in_customer_id=c2")
    assert client.get(f"/proxy/surveys?{tampered}").status_code == 401
    logged_out = client.get(f"/proxy/surveys?{signed(shop)}").json()
    assert (logged_out["logged_in"], logged_out["surveys"]) == (False, [])
    response = client.post(f"/proxy/surveys/{surveys['nps'].pk}?{signed(shop)}", {"answers": {"recommend": 9}},
                           content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (403, "login_required")


def test_widget_answer_once_with_points_and_the_survey_leaves_the_list(client, shop, surveys, customer):
    account = account_for_customer(shop=shop, customer=customer)
    url = f"/proxy/surveys/{surveys['nps'].pk}?{signed(shop, 'c1')}"
    first = client.post(url, {"answers": {"recommend": 9, "reason": "fast"}}, content_type="application/json")
    again = client.post(url, {"answers": {"recommend": 1}}, content_type="application/json")
    assert (first.status_code, first.json()) == (201, {"status": "recorded", "points": 20})
    assert (again.status_code, again.json()) == (200, {"status": "already_answered", "points": 0})
    assert Response.objects.get().channel == "widget"
    assert LedgerEntry.objects.filter(account=account).count() == 1
    listed = client.get(f"/proxy/surveys?{signed(shop, 'c1')}").json()["surveys"]
    assert "nps" not in [s["key"] for s in listed]


def test_widget_answer_errors_are_clear_and_localised(client, shop, surveys, customer):
    url = f"/proxy/surveys/{surveys['nps'].pk}?{signed(shop, 'c1', locale='he')}"
    response = client.post(url, {"answers": {"recommend": 12}}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_answers"
    assert response.json()["fields"] == {"recommend": "נא לבחור ציון מ-0 עד 10."}
    assert not Response.objects.exists()


def test_widget_cannot_answer_another_shops_survey(client, shop, surveys, customer, other_shop):
    foreign = Survey.objects.get(shop=other_shop, key="nps")
    response = client.post(f"/proxy/surveys/{foreign.pk}?{signed(shop, 'c1')}", {"answers": {"recommend": 9}},
                           content_type="application/json")
    assert response.status_code == 404
    assert not Response.objects.exists()


def test_merchant_lists_surveys_with_results_and_activates(client, shop, customer):
    presets = {s.key: s for s in survey_list(shop=shop)}
    activated = client.post(f"/api/surveys/{presets['nps'].pk}/activate", {"active": True},
                            content_type="application/json", headers=auth(shop))
    assert activated.json() == {"id": presets["nps"].pk, "key": "nps", "is_active": True}
    presets["nps"].refresh_from_db()
    response_submit(survey=presets["nps"], customer=customer, answers={"recommend": 10}, channel="widget")
    listed = client.get("/api/surveys", headers=auth(shop)).json()
    nps = next(s for s in listed if s["key"] == "nps")
    assert nps["is_active"] is True
    assert nps["results"]["responses"] == 1
    assert nps["results"]["questions"][0]["nps"] == {"score": "100.00", "responses": 1, "promoters": 1,
                                                     "passives": 0, "detractors": 0}


def test_a_shop_never_sees_another_shops_surveys_or_responses(client, shop, surveys, customer, other_shop):
    response_submit(survey=surveys["nps"], customer=customer, answers={"recommend": 10}, channel="widget")
    listed = client.get("/api/surveys", headers=auth(other_shop)).json()
    assert {s["id"] for s in listed} == set(Survey.objects.filter(shop=other_shop).values_list("pk", flat=True))
    assert all(s["results"]["responses"] == 0 for s in listed)
    assert client.post(f"/api/surveys/{surveys['nps'].pk}/activate", {"active": False},
                       content_type="application/json", headers=auth(other_shop)).status_code == 404
    surveys["nps"].refresh_from_db()
    assert surveys["nps"].is_active is True
    # the other shop's shopper with the same platform id is another customer
    CustomerFactory(shop=other_shop, platform_id="c1")
    body = client.get(f"/proxy/surveys?{signed(other_shop, 'c1')}").json()
    assert "nps" in [s["key"] for s in body["surveys"]]

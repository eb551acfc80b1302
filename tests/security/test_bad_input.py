"""Oversized and out-of-range input gets a clear 4xx, never a 500, and changes nothing:
paging, date ranges, query-parameter counts and a webhook body nested thousands of levels deep."""

from typing import Any

import pytest

from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.webhooks import deliveries_due, delivery_process
from loyalty.models import LedgerEntry, Redemption
from segments.selectors import MAX_PAGE
from segments.services import shop_recompute
from tests.dashboard.conftest import member as login  # noqa: F401 (fixture)
from tests.dashboard.conftest import two_shops  # noqa: F401 (fixture)
from tests.factories import CustomerFactory, OrderFactory
from tests.security.test_signatures import (  # noqa: F401 (fixtures)
    _sign,
    admin_shop,
    member,
    post_webhook,
    proxy_query,
    token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha(two_shops: Any, login: Any) -> Any:  # noqa: F811
    shop = two_shops[0]
    OrderFactory(shop=shop, customer=CustomerFactory(shop=shop, first_name="Noa"))
    shop_recompute(shop=shop)
    return shop


def _api_get(client: Any, shop: Any, path: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {token(shop.domain)}"})


# --- paging ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["9" * 30, str(MAX_PAGE + 1), "99999", "-3", "abc", "9" * 5000])
def test_a_dashboard_page_number_out_of_range_shows_the_last_page(client, alpha, login, page):  # noqa: F811
    client.force_login(login)
    response = client.get("/dashboard/segments/one_time/", {"page": page})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Page 1 of 1" in html and "Noa" in html
    assert ("this is the last page" in html) == (page not in ("-3", "abc"))


@pytest.mark.parametrize("page", ["9" * 30, str(MAX_PAGE + 1), "0", "-1", "abc"])
def test_an_api_page_number_out_of_range_is_a_400(client, alpha, page):
    response = _api_get(client, alpha, f"/api/segments/one_time/customers?page={page}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "page" in response.json()["fields"]


def test_the_last_allowed_api_page_is_empty_not_an_error(client, alpha):
    response = _api_get(client, alpha, f"/api/segments/one_time/customers?page={MAX_PAGE}")
    assert response.status_code == 200
    assert response.json()["customers"] == []


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("start,end", [("0001-01-01", "0001-12-31"), ("9999-01-01", "9999-12-31"),
                                       ("1999-12-31", "2000-01-02"), ("2100-12-31", "2101-01-01"),
                                       ("9998-12-31", "")])
@pytest.mark.parametrize("path", ["/dashboard/overview/", "/dashboard/cohorts/", "/dashboard/loyalty/",
                                  "/dashboard/flows/", "/dashboard/surveys/"])
def test_dates_outside_sane_years_are_a_clear_400_on_every_dashboard_page(client, alpha, login, path, start, end):  # noqa: F811
    client.force_login(login)
    response = client.get(path, {"start": start, "end": end})
    assert response.status_code == 400
    assert "between the years 2000 and 2100" in response.content.decode()


def test_dates_inside_the_bounds_still_work(client, alpha, login):  # noqa: F811
    client.force_login(login)
    assert client.get("/dashboard/overview/", {"start": "2025-01-01", "end": "2025-12-31"}).status_code == 200


@pytest.mark.parametrize("start,end", [("0001-01-01", "0001-12-31"), ("9999-01-01", "9999-12-31")])
def test_dates_outside_sane_years_are_a_400_in_the_points_report_api(client, admin_shop, start, end):  # noqa: F811
    response = _api_get(client, admin_shop, f"/api/loyalty/report?start={start}&end={end}")
    assert response.status_code == 400
    assert "between the years 2000 and 2100" in response.json()["error"]


# --- parameter counts ----------------------------------------------------------------------------


def test_too_many_query_parameters_on_the_proxy_are_a_400_and_spend_nothing(client, member):  # noqa: F811
    shop, account = member
    entries = LedgerEntry.objects.filter(account=account).count()
    padding = "&".join(f"p{index}=x" for index in range(1500))
    query = f"{proxy_query(shop.domain, 'c1')}&{padding}"
    response = client.get(f"/proxy/loyalty?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "too_large")
    assert "too many parameters" in response.json()["error"]
    response = client.post(f"/proxy/loyalty/redeem?{query}", {"reward_id": 1}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "too_large")
    assert LedgerEntry.objects.filter(account=account).count() == entries
    assert not Redemption.objects.exists()


def test_a_body_over_the_upload_limit_is_a_400_and_spends_nothing(client, member, settings):  # noqa: F811
    shop, account = member
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    entries = LedgerEntry.objects.filter(account=account).count()
    body = {"reward_id": 1, "padding": "x" * 2000}
    response = client.post(f"/proxy/loyalty/redeem?{proxy_query(shop.domain, 'c1')}", body,
                           content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "too_large")
    assert "at most 1000 bytes" in response.json()["error"]
    assert LedgerEntry.objects.filter(account=account).count() == entries
    assert not Redemption.objects.exists()


# --- a deeply nested webhook ---------------------------------------------------------------------


def test_a_signed_webhook_nested_5000_deep_is_kept_and_marked_failed_not_retried(
        client, admin_shop, django_capture_on_commit_callbacks):  # noqa: F811
    body = ('{"id": 1, "x": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    with django_capture_on_commit_callbacks(execute=True):  # the enqueue, run eagerly in tests
        response = post_webhook(client, body, _sign(body), admin_shop.domain)
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body  # the signed body is kept for inspection
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.error == "payload nested too deeply"
    assert delivery.next_attempt_at is None
    assert delivery_process(delivery_pk=delivery.pk) == "already dead"  # the sweep will not pick it up
    assert delivery.pk not in deliveries_due()

"""The settings UI's frame: one merchant API for the embedded admin and a Django login, the menu,
and posts checked for CSRF (a login session) in the dashboard's own views."""

from typing import Any

import pytest
from django.test import Client

from loyalty.models import Program
from loyalty.services.program import program_defaults_create
from tests.factories import UserFactory


@pytest.fixture
def logged_in(member: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    return client


def _csrf(client: Client) -> str:
    client.get("/dashboard/plan/")
    return client.cookies["csrftoken"].value


def test_a_member_login_reads_and_changes_its_shop_through_the_merchant_api(logged_in: Client,
                                                                            two_shops: Any) -> None:
    alpha, beta = two_shops
    program_defaults_create(shop=alpha)
    program_defaults_create(shop=beta)
    assert logged_in.get("/api/loyalty/program").status_code == 200
    token = _csrf(logged_in)
    response = logged_in.patch("/api/loyalty/program", {"pending_days": 21}, content_type="application/json",
                               headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.content
    assert response.json()["pending_days"] == 21
    assert logged_in.get("/api/loyalty/program").json()["pending_days"] == 21
    beta.refresh_from_db()
    assert Program.objects.get(shop=beta).pending_days != 21


def test_a_login_post_without_the_csrf_token_is_refused_and_changes_nothing(logged_in: Client,
                                                                           two_shops: Any) -> None:
    program_defaults_create(shop=two_shops[0])
    before = logged_in.get("/api/loyalty/program").json()["pending_days"]
    response = logged_in.patch("/api/loyalty/program", {"pending_days": before + 3}, content_type="application/json")
    assert response.status_code == 403
    assert logged_in.get("/api/loyalty/program").json()["pending_days"] == before


def test_the_api_refuses_a_shop_the_login_is_not_a_member_of(logged_in: Client, two_shops: Any) -> None:
    response = logged_in.get("/api/loyalty/program", headers={"X-Comeback-Shop": two_shops[1].domain})
    assert response.status_code == 403
    response = logged_in.get("/api/loyalty/program", headers={"X-Comeback-Shop": two_shops[0].domain})
    assert response.status_code == 200


def test_a_login_without_a_membership_gets_no_shop(db: Any, two_shops: Any) -> None:
    client = Client()
    client.force_login(UserFactory(username="stranger"))
    assert client.get("/api/loyalty/program").status_code == 403
    assert Client().get("/api/loyalty/program").status_code == 401


def test_a_dashboard_post_with_a_login_needs_the_csrf_token(logged_in: Client, two_shops: Any) -> None:
    response = logged_in.post("/dashboard/plan/cancel/")
    assert response.status_code == 403
    assert "reload the page" in response.content.decode()


def test_the_menu_lists_the_pages_in_sections_and_marks_the_current_one(logged_in: Client) -> None:
    page = logged_in.get("/dashboard/plan/").content.decode()
    assert 'class="nav-section" open' in page  # the current page's section
    assert 'href="/dashboard/plan/" aria-current="page"' in page
    assert page.count('class="nav-section"') >= 2  # Reports and Store at least
    assert "vendor/htmx.min.js" in page and "polaris-tokens.css" in page

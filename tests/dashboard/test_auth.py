"""Every dashboard request resolves to exactly one shop: a verified session token, or a login's
membership.  Nothing else (forged, expired or another shop's token; another shop's id) gets in."""

from urllib.parse import parse_qs, urlparse

import pytest

from commerce.models import Shop
from dashboard.services import membership_grant
from tests.factories import UserFactory
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db

FLOWS = "/dashboard/flows/"
# Shopify's host parameter: base64 of the shop's admin, padding dropped
ALPHA_HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE"
BETA_HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYmV0YQ"


def test_embedded_page_with_a_valid_session_token_shows_that_shop(client, two_shops):
    # given Shopify's load of the app URL with a fresh session token
    token = session_token("alpha.myshopify.com")
    # when
    response = client.get(FLOWS, {"shop": "alpha.myshopify.com", "host": ALPHA_HOST, "id_token": token})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Alpha" in html and "Beta" not in html
    assert response["Content-Security-Policy"].startswith(
        "frame-ancestors https://alpha.myshopify.com https://admin.shopify.com; ")  # then the rest of the policy
    assert "X-Frame-Options" not in response  # the admin frames the page; the CSP says who may
    assert "no-store" in response["Cache-Control"]
    assert 'name="shopify-api-key" content="test-api-key"' in html
    # links between pages carry shop/host but never the short-lived token
    assert f'href="/dashboard/overview/?shop=alpha.myshopify.com&amp;host={ALPHA_HOST}' in html
    assert token not in html


def test_bearer_header_is_accepted(client, two_shops):
    response = client.get(FLOWS, headers={"Authorization": f"Bearer {session_token('beta.myshopify.com')}"})
    assert response.status_code == 200
    assert "Beta" in response.content.decode()


@pytest.mark.parametrize("kwargs", [
    {"secret": "wrong-secret-that-is-also-32-bytes-long"},
    {"exp_in": -120},
    {"aud": "another-app"},
], ids=["forged", "expired", "other-app"])
def test_bad_session_tokens_are_refused(client, two_shops, kwargs):
    token = session_token("alpha.myshopify.com", **kwargs)
    response = client.get(FLOWS, {"shop": "alpha.myshopify.com", "host": ALPHA_HOST, "id_token": token})
    assert response.status_code == 401
    assert "Alpha" not in response.content.decode()


def test_another_shops_token_is_refused(client, two_shops):
    # given beta's valid token, presented on a page load for alpha
    token = session_token("beta.myshopify.com")
    response = client.get(FLOWS, {"shop": "alpha.myshopify.com", "host": ALPHA_HOST, "id_token": token})
    assert response.status_code == 401
    html = response.content.decode()
    assert "Alpha" not in html and "Beta" not in html


def test_token_for_a_shop_that_the_platform_refuses_installs_nothing(client, two_shops, sandbox, settings):
    # given a well-signed token of a shop the platform does not know (it refuses the token exchange)
    settings.SHOPIFY_SANDBOX_URL = sandbox.base_url
    token = session_token("gamma.myshopify.com")
    # when
    response = client.get(FLOWS, {"id_token": token, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZ2FtbWE"})
    # then
    assert response.status_code == 401
    assert not Shop.objects.filter(domain="gamma.myshopify.com").exists()


def test_embedded_navigation_without_a_token_bounces_through_app_bridge(client, two_shops, settings):
    settings.APP_URL = "https://app.example.com"
    # when a link between dashboard pages is followed (shop/host only)
    response = client.get(FLOWS, {"shop": "alpha.myshopify.com", "host": ALPHA_HOST, "locale": "he"})
    # then the bounce page is asked to reload exactly this page with a fresh token
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.path == "/shopify/bounce"
    query = parse_qs(target.query)
    assert query["shop"] == ["alpha.myshopify.com"]
    assert query["shopify-reload"] == [
        f"https://app.example.com/dashboard/flows/?shop=alpha.myshopify.com&host={ALPHA_HOST}&locale=he"]
    bounce = client.get(response["Location"])
    html = bounce.content.decode()
    assert bounce.status_code == 200
    assert '<meta name="shopify-api-key" content="test-api-key">' in html
    assert '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in html
    assert '<html lang="he" dir="rtl">' in html
    assert bounce["Content-Security-Policy"].startswith("frame-ancestors https://alpha.myshopify.com")


def test_bounce_only_reloads_dashboard_pages(client, two_shops, settings):
    settings.APP_URL = "https://app.example.com"
    elsewhere = client.get("/shopify/bounce", {"shop": "alpha.myshopify.com",
                                                       "shopify-reload": "https://evil.example.com/dashboard/"})
    assert elsewhere.status_code == 400
    # a shop that has not installed yet bounces too: the token it brings back installs it
    unknown = client.get("/shopify/bounce", {"shop": "nobody.myshopify.com",
                                                     "shopify-reload": "https://app.example.com/dashboard/flows/"})
    assert unknown.status_code == 200
    assert unknown["Content-Security-Policy"].startswith("frame-ancestors https://nobody.myshopify.com")
    bad_shop = client.get("/shopify/bounce", {"shop": "evil.example.com",
                                                      "shopify-reload": "https://app.example.com/dashboard/flows/"})
    assert bad_shop.status_code == 400


def test_without_token_or_login_the_login_page_is_shown(client, two_shops):
    response = client.get(FLOWS)
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/?next=/dashboard/flows/")
    login = client.get(response["Location"])
    assert login.status_code == 200
    html = login.content.decode()
    assert "dashboard/dashboard.css" in html and 'name="password"' in html


def test_a_login_sees_only_the_shop_it_is_a_member_of(client, two_shops, member):
    # when dana logs in through the dashboard's login form
    response = client.post("/dashboard/login/", {"username": "dana", "password": "password",
                                                 "next": FLOWS}, follow=True)
    # then she lands on alpha's page and nothing of beta is there, not even in a switcher
    html = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == FLOWS
    assert "Alpha" in html and "Beta" not in html
    assert 'name="shop"' not in html  # one shop: no switcher
    assert response["X-Frame-Options"] == "DENY"  # outside the admin nothing may frame it
    # and choosing beta by id is refused without changing her shop
    refused = client.post("/dashboard/shops/", {"shop": two_shops[1].pk, "next": FLOWS})
    assert refused.status_code == 403
    assert "Alpha" in client.get(FLOWS).content.decode()


def test_a_member_of_two_shops_switches_between_them(client, two_shops, member):
    membership_grant(user=member, shop=two_shops[1])
    client.force_login(member)
    first = client.get(FLOWS).content.decode()
    assert f'<option value="{two_shops[0].pk}" selected>Alpha</option>' in first
    response = client.post("/dashboard/shops/", {"shop": two_shops[1].pk, "next": FLOWS})
    assert response.status_code == 302 and response["Location"] == FLOWS
    assert f'<option value="{two_shops[1].pk}" selected>Beta</option>' in client.get(FLOWS).content.decode()


def test_a_login_without_membership_is_refused(client, two_shops):
    client.force_login(UserFactory(username="stranger"))
    response = client.get(FLOWS)
    assert response.status_code == 403
    assert "Alpha" not in response.content.decode()


def test_a_session_token_wins_over_a_login_of_another_shop(client, two_shops, member):
    client.force_login(member)
    response = client.get(FLOWS, {"id_token": session_token("beta.myshopify.com"), "host": BETA_HOST})
    assert response.status_code == 200
    assert "Beta" in response.content.decode()

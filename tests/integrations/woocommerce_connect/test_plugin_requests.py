"""What the WordPress plugin signs with the shop's secret: the shopper's widget calls it forwards
to /proxy/*, the "Comeback" admin menu's link, and the privacy tools' requests."""

import hashlib
import json
import time

import pytest
from django.contrib.auth import get_user_model

from commerce.models import Customer
from dashboard.models import ShopMembership
from integrations.models import DataRequestExport
from tests.factories import CustomerFactory, OrderFactory, ShopFactory
from tests.integrations.woocommerce_connect.helpers import PLUGIN_SECRET, connected_shop, now, signed_query

pytestmark = pytest.mark.django_db


def proxy_query(shop_domain: str, customer: str = "", *, timestamp: str | None = None, extra=(),
                secret: str = PLUGIN_SECRET) -> str:
    pairs = [*extra, ("platform", "woocommerce"), ("shop", shop_domain), ("logged_in_customer_id", customer),
             ("timestamp", timestamp or now())]
    return signed_query(pairs, secret)


# --- the shopper's requests through the plugin ------------------------------------------------

def test_a_signed_request_reaches_the_widget_api_as_the_logged_in_shopper(client):
    shop = connected_shop()
    CustomerFactory(shop=shop, platform_id="7", email="dana@example.com")
    response = client.get(f"/proxy/loyalty?{proxy_query(shop.domain, '7', extra=[('locale', 'he')])}")
    assert response.status_code == 200, response.content
    assert response.json()["logged_in"] is True


def test_a_guest_is_a_guest(client):
    shop = connected_shop()
    response = client.get(f"/proxy/loyalty?{proxy_query(shop.domain, '')}")
    assert response.status_code == 200
    assert response.json()["logged_in"] is False


@pytest.mark.parametrize("tamper", ["forged", "other_secret", "old", "future", "repeated_customer", "changed_customer",
                                    "repeated_shop", "no_signature"])
def test_forged_old_or_repeated_requests_are_refused(client, tamper):
    shop = connected_shop()
    query = proxy_query(shop.domain, "7")
    if tamper == "forged":
        query = query[:-4] + ("0000" if not query.endswith("0000") else "1111")
    elif tamper == "other_secret":
        query = proxy_query(shop.domain, "7", secret="b" * 64)
    elif tamper == "old":
        query = proxy_query(shop.domain, "7", timestamp=str(int(time.time()) - 3600))
    elif tamper == "future":
        query = proxy_query(shop.domain, "7", timestamp=str(int(time.time()) + 3600))
    elif tamper == "repeated_customer":  # the shopper appends their own id: signed values joined, still refused
        query = proxy_query(shop.domain, "7", extra=[("logged_in_customer_id", "8")])
    elif tamper == "changed_customer":
        query = query.replace("logged_in_customer_id=7", "logged_in_customer_id=8")
    elif tamper == "repeated_shop":
        query = proxy_query(shop.domain, "7", extra=[("shop", "other.example")])
    elif tamper == "no_signature":
        query = query.split("&signature=")[0]
    response = client.get(f"/proxy/loyalty?{query}")
    assert response.status_code == 401, (tamper, response.content)


def test_a_shop_signature_does_not_open_another_shop(client):
    connected_shop("one.example")
    connected_shop("two.example", plugin_secret="c" * 64)
    response = client.get(f"/proxy/loyalty?{proxy_query('two.example', '')}")  # signed with one's secret
    assert response.status_code == 401


def test_a_disconnected_shop_is_refused(client):
    shop = connected_shop()
    shop.status = "uninstalled"
    shop.save()
    assert client.get(f"/proxy/loyalty?{proxy_query(shop.domain, '')}").status_code == 401


def test_without_platform_the_request_is_shopifys_and_refused(client):
    shop = connected_shop()
    query = proxy_query(shop.domain, "").replace("platform=woocommerce&", "")
    assert client.get(f"/proxy/loyalty?{query}").status_code in (401, 403)


# --- the admin link -----------------------------------------------------------------------------

def admin_query(shop_domain: str, *, user: str = "1", email: str = "owner@shop.example", timestamp: str | None = None,
                secret: str = PLUGIN_SECRET) -> str:
    return signed_query([("shop", shop_domain), ("user", user), ("email", email),
                         ("timestamp", timestamp or now())], secret)


def test_the_admin_link_logs_the_store_admin_into_the_dashboard(client):
    shop = connected_shop()
    response = client.get(f"/woocommerce/admin?{admin_query(shop.domain)}")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    user = get_user_model().objects.get(pk=client.session["_auth_user_id"])
    assert user.email == "owner@shop.example"
    assert not user.has_usable_password()
    assert ShopMembership.objects.filter(user=user, shop=shop).exists()
    assert client.get("/dashboard/").status_code in (200, 302)


def test_the_admin_link_works_once(client):
    shop = connected_shop()
    query = admin_query(shop.domain)
    assert client.get(f"/woocommerce/admin?{query}").status_code == 302
    client.logout()
    replay = client.get(f"/woocommerce/admin?{query}")
    assert replay.status_code == 401
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("case", ["expired", "forged", "other_shop_secret", "unknown_shop"])
def test_bad_admin_links_log_nobody_in(client, case):
    shop = connected_shop()
    connected_shop("other.example", plugin_secret="d" * 64)
    query = {
        "expired": lambda: admin_query(shop.domain, timestamp=str(int(time.time()) - 61)),
        "forged": lambda: admin_query(shop.domain).replace("user=1", "user=2"),
        "other_shop_secret": lambda: admin_query(shop.domain, secret="d" * 64),
        "unknown_shop": lambda: admin_query("nowhere.example"),
    }[case]()
    response = client.get(f"/woocommerce/admin?{query}")
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
    assert not ShopMembership.objects.exists()


# --- privacy --------------------------------------------------------------------------------------

def privacy_post(client, path: str, shop_domain: str, payload: dict, *, secret: str = PLUGIN_SECRET,
                 body_hash: str | None = None):
    body = json.dumps(payload).encode()
    query = signed_query([("shop", shop_domain), ("timestamp", now()),
                          ("body_sha256", body_hash or hashlib.sha256(body).hexdigest())], secret)
    return client.post(f"/woocommerce/privacy/{path}?{query}", body, content_type="application/json")


def test_export_returns_the_persons_data_by_email(client):
    shop = connected_shop()
    customer = CustomerFactory(shop=shop, platform_id="7", email="dana@example.com", first_name="Dana")
    OrderFactory(shop=shop, customer=customer, platform_id="501")
    OrderFactory(shop=shop, customer=None, platform_id="502", email="dana@example.com")  # a guest order
    response = privacy_post(client, "export", shop.domain, {"email": "Dana@Example.com"})
    assert response.status_code == 200, response.content
    export = response.json()["exports"][0]
    assert export["customer"]["first_name"] == "Dana"
    assert sorted(order["platform_id"] for order in export["orders"]) == ["501", "502"]
    assert DataRequestExport.objects.filter(shop=shop, customer_platform_id="7").exists()


def test_erase_blanks_the_person_and_keeps_the_amounts(client):
    shop = connected_shop()
    customer = CustomerFactory(shop=shop, platform_id="7", email="dana@example.com", first_name="Dana")
    OrderFactory(shop=shop, customer=customer, platform_id="501", email="dana@example.com")
    response = privacy_post(client, "erase", shop.domain, {"email": "dana@example.com"})
    assert response.status_code == 200
    assert response.json()["erased"] is True
    erased = Customer.objects.get(pk=customer.pk)
    assert (erased.email, erased.first_name) == ("", "")
    assert erased.redacted_at is not None


@pytest.mark.parametrize("case", ["wrong_body_hash", "forged"])
def test_privacy_requests_must_be_signed_over_the_body(client, case):
    shop = connected_shop()
    CustomerFactory(shop=shop, platform_id="7", email="dana@example.com", first_name="Dana")
    if case == "wrong_body_hash":
        response = privacy_post(client, "erase", shop.domain, {"email": "dana@example.com"},
                                body_hash=hashlib.sha256(b'{"email": "other@example.com"}').hexdigest())
    else:
        response = privacy_post(client, "erase", shop.domain, {"email": "dana@example.com"}, secret="e" * 64)
    assert response.status_code == 401
    assert Customer.objects.get(platform_id="7").first_name == "Dana"


def test_privacy_for_another_shops_customer_touches_nothing(client):
    shop = connected_shop()
    other = ShopFactory(platform="shopify", domain="other.myshopify.com")
    CustomerFactory(shop=other, platform_id="7", email="dana@example.com", first_name="Dana")
    response = privacy_post(client, "erase", shop.domain, {"email": "dana@example.com"})
    assert response.status_code == 200
    assert Customer.objects.get(shop=other).first_name == "Dana"


@pytest.mark.parametrize("payload", [{"email": ""}, {"email": "not-an-email"}, {}, {"email": ["a@b.c"]}])
def test_a_bad_email_is_a_400(client, payload):
    shop = connected_shop()
    assert privacy_post(client, "export", shop.domain, payload).status_code == 400

"""Privacy topics do what they say; two shops never see each other's data."""

from decimal import Decimal

import pytest

from commerce.models import Customer, Order, OrderLine, Shop
from integrations.models import DataRequestExport, WebhookDelivery
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook, sign
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER_ID = 115310627314723954


@pytest.fixture
def alpha():
    return ShopFactory(domain="alpha.myshopify.com", platform_id="1")


@pytest.fixture
def beta():
    return ShopFactory(domain="beta.myshopify.com", platform_id="2")


def seed_order(client, shop: Shop) -> None:
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)


def privacy_payload(shop: Shop, **extra):
    return {"shop_id": int(shop.platform_id), "shop_domain": shop.domain,
            "customer": {"id": CUSTOMER_ID, "email": "john@example.com", "phone": None}, **extra}


def test_privacy_topic_with_bad_hmac_gets_401(client, alpha):
    body = b'{"shop_id": 1, "shop_domain": "alpha.myshopify.com"}'
    response = post_webhook(client, "shop/redact", body, shop_domain=alpha.domain,
                            signature=sign(body, "not-the-app-secret-but-32-bytes-long"))
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_customer_data_request_produces_an_export_only_its_shop_can_fetch(client, alpha, beta):
    # given the same customer id exists in both shops
    seed_order(client, alpha)
    seed_order(client, beta)
    Customer.objects.filter(shop=beta).update(email="someone-else@example.com")
    # when alpha's data request arrives
    payload = privacy_payload(alpha, orders_requested=[820982911946154508], data_request={"id": 9999})
    assert post_webhook(client, "customers/data_request", payload, shop_domain=alpha.domain).status_code == 200
    # then the export holds alpha's data
    export = DataRequestExport.objects.get()
    assert export.shop == alpha
    assert export.data["customer"]["email"] == "john@example.com"
    assert [o["platform_id"] for o in export.data["orders"]] == ["820982911946154508"]
    assert len(export.data["orders"][0]["lines"]) == 2
    # and the merchant fetches it with a session token; the other shop cannot
    alpha_auth = {"Authorization": f"Bearer {session_token(alpha.domain)}"}
    beta_auth = {"Authorization": f"Bearer {session_token(beta.domain)}"}
    listed = client.get("/api/privacy/exports", headers=alpha_auth).json()
    assert [e["id"] for e in listed] == [export.pk]
    assert client.get(f"/api/privacy/exports/{export.pk}", headers=alpha_auth).json()["customer"]["email"] \
        == "john@example.com"
    assert client.get("/api/privacy/exports", headers=beta_auth).json() == []
    assert client.get(f"/api/privacy/exports/{export.pk}", headers=beta_auth).status_code == 404


def test_customer_redact_erases_personal_data_and_keeps_aggregates(client, alpha, beta):
    seed_order(client, alpha)
    seed_order(client, beta)
    Customer.objects.filter(shop=alpha).update(country_code="IL", province_code="TA", timezone="Asia/Jerusalem")
    payload = privacy_payload(alpha, orders_to_redact=[820982911946154508])
    post_webhook(client, "customers/redact", payload, shop_domain=alpha.domain)
    customer = Customer.objects.get(shop=alpha)
    assert (customer.email, customer.first_name, customer.last_name) == ("", "", "")
    assert (customer.country_code, customer.province_code, customer.timezone) == ("", "", "")
    assert customer.redacted_at is not None
    order = Order.objects.get(shop=alpha)
    assert order.email == ""
    assert order.total == Decimal("403.000")
    # the other shop's customer with the same platform id is untouched
    assert Customer.objects.get(shop=beta).email == "john@example.com"
    assert Order.objects.get(shop=beta).email == "jon@example.com"


def test_uninstall_forgets_the_token_and_later_store_webhooks_are_ignored(client, alpha):
    post_webhook(client, "app/uninstalled", {"id": 1, "domain": alpha.domain}, shop_domain=alpha.domain)
    alpha.refresh_from_db()
    assert alpha.status == "uninstalled"
    assert alpha.access_token == ""
    seed_order(client, alpha)
    assert Order.objects.count() == 0
    assert WebhookDelivery.objects.filter(topic="orders/create").get().status == "ignored"


def test_shop_redact_deletes_the_shop_data(client, alpha, beta):
    seed_order(client, alpha)
    seed_order(client, beta)
    post_webhook(client, "app/uninstalled", {"id": 1}, shop_domain=alpha.domain)
    post_webhook(client, "shop/redact", {"shop_id": 1, "shop_domain": alpha.domain}, shop_domain=alpha.domain)
    alpha.refresh_from_db()
    assert alpha.status == "redacted"
    assert Order.objects.filter(shop=alpha).count() == 0
    assert Customer.objects.filter(shop=alpha).count() == 0
    assert OrderLine.objects.filter(shop=alpha).count() == 0
    assert WebhookDelivery.objects.filter(shop=alpha, topic="orders/create").count() == 0
    # beta keeps everything
    assert Order.objects.filter(shop=beta).count() == 1
    assert OrderLine.objects.filter(shop=beta).count() == 2


def test_shop_redact_for_a_reinstalled_shop_deletes_nothing(client, alpha):
    seed_order(client, alpha)
    post_webhook(client, "shop/redact", {"shop_id": 1, "shop_domain": alpha.domain}, shop_domain=alpha.domain)
    assert Order.objects.filter(shop=alpha).count() == 1


def test_same_platform_ids_in_two_shops_stay_apart(client, alpha, beta):
    seed_order(client, alpha)
    seed_order(client, beta)
    cancelled = fixture("shopify_order.json") | {
        "updated_at": "2026-02-01T00:00:00Z", "cancelled_at": "2026-02-01T00:00:00Z", "financial_status": "voided"}
    post_webhook(client, "orders/cancelled", cancelled, shop_domain=beta.domain)
    assert Order.objects.get(shop=alpha).cancelled_at is None
    assert Order.objects.get(shop=beta).cancelled_at is not None
    alpha_status = client.get("/api/shop", headers={"Authorization": f"Bearer {session_token(alpha.domain)}"})
    assert alpha_status.json()["orders"] == 1

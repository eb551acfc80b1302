"""The WooCommerce adapter as the rest of Comeback sees it, through the registry."""

import pytest

from billing.plans import paid_plan
from integrations.platforms import adapter_for, platform_registration
from integrations.woocommerce.models import WooConnection, WooWebhook
from retention_app.errors import ApplicationError
from tests.integrations.woocommerce_connect.helpers import connected_shop

pytestmark = pytest.mark.django_db


def test_woocommerce_is_registered_with_its_pages_and_storefront_endpoint():
    registration = platform_registration("woocommerce")
    assert registration.urls == "integrations.woocommerce.urls"
    assert registration.widget_endpoint == "/wp-json/comeback/v1"
    assert registration.merchant_authentication is None
    assert registration.shopper_authentication == "integrations.woocommerce.auth.PluginProxyAuthentication"
    assert adapter_for("woocommerce").platform == "woocommerce"


def test_storefront_links_point_at_the_store_and_what_the_plugin_understands():
    shop = connected_shop("127.0.0.1:8123/stores/acme")
    shop.storefront_url = "http://127.0.0.1:8123/stores/acme"
    adapter = adapter_for("woocommerce")
    base = "http://127.0.0.1:8123/stores/acme"
    assert adapter.storefront_url(shop=shop) == base
    assert adapter.referral_link(shop=shop, code="DANA-7") == f"{base}/?ref=DANA-7"
    assert adapter.cart_link(shop=shop, variant_platform_ids=["41"]) == f"{base}/?add-to-cart=41"
    assert adapter.discount_apply_link(shop=shop, code="THANKS 10") == f"{base}/?comeback_coupon=THANKS+10"
    assert adapter.widget_setup_url(shop=shop) == f"{base}/wp-admin/admin.php?page=comeback-settings"
    assert adapter.product_url(shop=shop, handle="blue-mug") == f"{base}/product/blue-mug/"


def test_woocommerce_has_no_app_billing():
    shop = connected_shop()
    adapter = adapter_for("woocommerce")
    assert adapter.subscription_status(shop=shop) == []
    with pytest.raises(ApplicationError) as refused:
        adapter.subscription_create(shop=shop, plan=paid_plan(), return_url="https://x",
                                    test=True)
    assert "WooCommerce" in refused.value.message and refused.value.status < 500


def test_operators_see_connections_and_webhooks_but_never_a_secret(admin_client):
    shop = connected_shop()
    webhook = WooWebhook.objects.create(shop=shop, topic="order.updated", platform_id="5", secret="s" * 64)
    connection = WooConnection.objects.get(shop=shop)
    pages = [
        admin_client.get("/admin/woocommerce_platform/wooconnection/"),
        admin_client.get(f"/admin/woocommerce_platform/wooconnection/{connection.pk}/change/"),
        admin_client.get("/admin/woocommerce_platform/woowebhook/"),
        admin_client.get(f"/admin/woocommerce_platform/woowebhook/{webhook.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        for secret in (connection.consumer_key, connection.consumer_secret, connection.plugin_secret, webhook.secret,
                       connection.state):
            assert secret not in text
    assert shop.domain in pages[0].content.decode()

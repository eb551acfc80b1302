"""What the fuzz suites (``test_fuzz_endpoints``, ``test_fuzz_commands``) found, pinned as plain
tests: each was a 500 or a traceback on PostgreSQL and is now a clear 4xx or ``CommandError``."""

import json
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.webhooks import delivery_process
from tests.factories import ShopFactory, UserFactory
from tests.integrations.helpers import fixture
from tests.security.fuzzing import session_token, webhook_hmac

pytestmark = pytest.mark.django_db

DOMAIN = "pinned.myshopify.com"


def _signed_webhook(client, **overrides: str):
    body = json.dumps(fixture("shopify_order.json")).encode()
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": webhook_hmac(body),
               "X-Shopify-Shop-Domain": DOMAIN, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
               "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Triggered-At": "2026-01-10T15:15:00Z",
               "X-Shopify-API-Version": "2026-10", **overrides}
    return client.post("/webhooks/shopify", data=body, content_type="application/json", headers=headers)


def test_a_well_formed_signed_webhook_is_still_stored(client):
    ShopFactory(domain=DOMAIN)
    assert _signed_webhook(client).status_code == 200
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("name,value", [
    ("X-Shopify-Topic", "\x00"), ("X-Shopify-Topic", "orders/create\x00"), ("X-Shopify-Topic", "o" * 101),
    ("X-Shopify-Webhook-Id", "a\x00b"), ("X-Shopify-Webhook-Id", "9" * 256), ("X-Shopify-Event-Id", "\x00"),
    ("X-Shopify-Shop-Domain", "pinned.myshopify.com\x00"), ("X-Shopify-API-Version", "2026-10-and-a-long-tail"),
    ("X-Shopify-API-Version", "\x00"), ("X-Shopify-Triggered-At", "2026-13-45T00:00:00Z"),
    ("X-Shopify-Triggered-At", "yesterday"),
])
def test_a_signed_webhook_with_a_malformed_header_is_a_400_naming_it_and_stores_nothing(client, name, value):
    """The HMAC covers only the body: a header with a NUL or longer than its inbox column was a
    database error (500) on PostgreSQL, so Shopify would retry it for two days."""
    ShopFactory(domain=DOMAIN)
    response = _signed_webhook(client, **{name: value})
    assert response.status_code == 400
    assert name in response.json()["error"]
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("command,argv", [
    ("shopify_sync", ["--shop=\x00"]), ("shopify_sync", ["--shop=evil.example.com"]),
    ("shopify_tokens_migrate", ["--shop=a\x00"]), ("shop_defaults", ["--shop=\x00"]),
    ("holidays", ["--calendar=IL", "--year=2026", "--shop=\x00"]),
    ("retention_report", ["--shop=\x00", "--start=2026-01-01", "--end=2026-01-31"]),
])
def test_a_shop_argument_that_is_no_domain_is_a_command_error(command, argv):
    """A NUL in ``--shop`` reached a query (PostgreSQL refuses it: a traceback)."""
    with pytest.raises(CommandError, match="shop"):
        call_command(command, *argv)


@pytest.mark.parametrize("path", ["/api/campaigns/flows/%00", "/api/segments/one_time/customers?page=1%00",
                                  "/api/loyalty/customers?q=a%00b", "/proxy/loyalty?shop=%00"])
def test_a_nul_character_in_an_api_address_is_a_json_400(client, path):
    """``/api/campaigns/flows/%00`` reached ``Flow.objects.filter(key="\\x00")``: a 500 on PostgreSQL."""
    shop = ShopFactory(domain=DOMAIN)
    response = client.get(path, headers={"Authorization": f"Bearer {session_token(shop.domain)}"})
    assert response.status_code == 400
    assert response.json() == {"error": "the address contains a NUL character (%00), which is never valid here",
                               "code": "invalid"}


def test_a_nul_character_in_a_dashboard_address_is_a_400_and_the_same_page_without_it_works(client):
    shop = ShopFactory(domain=DOMAIN)
    user = UserFactory(username="pinned")
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client.force_login(user)
    assert client.get("/dashboard/segments/%00/").status_code == 400
    assert client.get("/dashboard/segments/", {"q": "a\x00"}).status_code == 400
    assert client.get("/dashboard/segments/").status_code == 200


def test_a_signed_product_whose_status_does_not_fit_its_column_is_recorded_as_failed_not_raised(client):
    """``"status": [null, null, null, null]`` in a signed products/create was stored as a 24-character
    text in a 20-character column: on PostgreSQL the worker raised DataError on every retry."""
    ShopFactory(domain=DOMAIN)
    product = fixture("shopify_product.json")
    product["status"] = [None, None, None, None]
    body = json.dumps(product).encode()
    response = client.post("/webhooks/shopify", data=body, content_type="application/json", headers={
        "X-Shopify-Topic": "products/create", "X-Shopify-Hmac-Sha256": webhook_hmac(body),
        "X-Shopify-Shop-Domain": DOMAIN, "X-Shopify-Webhook-Id": str(uuid.uuid4())})
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    delivery_process(delivery_pk=delivery.pk)  # does not raise
    delivery.refresh_from_db()
    if connection.vendor == "postgresql":  # SQLite does not enforce a column's length
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.error.startswith("DataError: value too long")
        assert delivery.next_attempt_at is not None
    else:
        assert delivery.status == DeliveryStatus.PROCESSED


@pytest.mark.parametrize("command", ["import_orders", "retention_report"])
def test_a_nul_in_the_shop_domain_is_a_clear_command_error(command, tmp_path):
    """Found by the command fuzz on PostgreSQL: ``--shop`` with a NUL reached the shop lookup."""
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text("order_id,customer_id,email,processed_at,total,currency\n1,c1,a@b.co,2026-01-02,10.00,EUR\n")
    args = [str(csv_file)] if command == "import_orders" else ["--start", "2026-01-01", "--end", "2026-03-31"]
    with pytest.raises(CommandError, match="shop"):
        call_command(command, *args, shop="bad\x00shop.example")

"""Products keep their storefront handle and main picture from Shopify's product webhooks (REST
payloads) and the bulk sync (GraphQL ``handle``, ``featuredImage``), so emails show the picture
and link to the product's page on the store."""

import copy
from datetime import UTC, datetime

import pytest

from campaigns.models import Flow, FlowStep
from campaigns.services import email
from campaigns.services.flows import flow_presets_create
from commerce.models import Customer, Product
from integrations.shopify.normalise import product_from_graphql
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture, post_webhook
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db
PICTURE = "https://cdn.shopify.com/s/files/1/0001/products/tshirt.jpg?v=1"


@pytest.fixture
def shop():
    return ShopFactory(domain="links.myshopify.com", storefront_url="https://links.example")


def test_a_product_webhook_keeps_the_handle_and_the_picture(client, shop, django_capture_on_commit_callbacks):
    payload = copy.deepcopy(fixture("shopify_product.json"))
    payload["image"] = {"id": 1, "src": PICTURE, "alt": "T-shirt"}
    payload["images"] = [payload["image"]]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, "products/create", payload, shop_domain=shop.domain).status_code == 200
    product = Product.objects.get(shop=shop)
    assert (product.handle, product.image_url) == ("example-t-shirt", PICTURE)


def test_a_picture_that_is_not_https_is_not_kept(client, shop, django_capture_on_commit_callbacks):
    payload = copy.deepcopy(fixture("shopify_product.json"))
    payload["image"] = {"src": "http://insecure.example/a.jpg"}
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, "products/create", payload, shop_domain=shop.domain)
    assert Product.objects.get(shop=shop).image_url == ""


def test_the_bulk_sync_reads_handle_and_featured_image():
    record = product_from_graphql({"id": "gid://shopify/Product/7", "title": "Mug", "handle": "mug",
                                   "featuredImage": {"url": PICTURE}, "status": "ACTIVE", "variants": {"edges": []}})
    assert (record.handle, record.image_url) == ("mug", PICTURE)
    assert product_from_graphql({"id": "gid://shopify/Product/8", "featuredImage": None}).image_url == ""


def test_the_winback_email_shows_the_picture_and_links_to_the_product_page(client, shop,
                                                                          django_capture_on_commit_callbacks):
    payload = copy.deepcopy(fixture("shopify_product.json"))
    payload["image"] = {"src": PICTURE}
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, "products/create", payload, shop_domain=shop.domain)
    flow_presets_create(shop=shop)
    buyer = Customer.objects.create(shop=shop, platform_id="c1", first_name="Noa", email="noa@example.com")
    deliver(shop, order("o1", [line("l1", 1, "19.99", product=str(payload["id"]))], customer="c1",
                        email="noa@example.com", at=datetime(2026, 1, 5, tzinfo=UTC)))
    flow = Flow.objects.get(shop=shop, key="winback")
    rendered = email.render(step=FlowStep.objects.get(flow=flow, version=flow.version), customer=buyer, values={},
                            code="", ends=None)
    assert f'src="{PICTURE}"' in rendered.html
    assert 'href="https://links.example/products/example-t-shirt"' in rendered.html
    assert "https://links.example/products/example-t-shirt" in rendered.text

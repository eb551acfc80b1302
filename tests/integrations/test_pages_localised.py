import pytest

from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language, direction, word", [
    ("en", "ltr", "Status"),
    ("he", "rtl", "מצב"),
    ("fa", "rtl", "وضعیت"),
])
def test_installed_page_is_localised_with_direction(client, language, direction, word):
    shop = ShopFactory(domain="rtl-store.myshopify.com", name="חנות")
    response = client.get("/shopify/installed", {"shop": shop.domain}, headers={"Accept-Language": language})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'lang="{language}" dir="{direction}"' in html
    assert word in html


def test_error_page_is_localised(client):
    response = client.get("/shopify/install", {"shop": "bad host"}, headers={"Accept-Language": "he"})
    assert response.status_code == 400
    assert "משהו השתבש" in response.content.decode()

import pytest
from django.db import connection
from django.test import override_settings

from commerce.models import Shop
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def raw_token(shop: Shop) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM commerce_shop WHERE id = %s", [shop.pk])
        return cursor.fetchone()[0]


def test_access_token_is_encrypted_at_rest():
    shop = ShopFactory(access_token="shpat_0123456789abcdef0123456789abcdef")
    stored = raw_token(shop)
    assert "shpat_" not in stored
    assert stored != shop.access_token
    assert Shop.objects.get(pk=shop.pk).access_token == "shpat_0123456789abcdef0123456789abcdef"


def test_keys_can_be_rotated():
    old_key = "x" * 43 + "="
    shop = None
    with override_settings(FIELD_ENCRYPTION_KEYS=[old_key]):
        shop = ShopFactory(access_token="shpat_rotate_me")
    new_key = "y" * 43 + "="
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        assert Shop.objects.get(pk=shop.pk).access_token == "shpat_rotate_me"
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]), pytest.raises(ValueError, match="decrypt"):
        Shop.objects.get(pk=shop.pk)

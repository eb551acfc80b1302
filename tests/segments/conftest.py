from datetime import timedelta

import pytest

from tests.factories import ShopFactory
from tests.segments.helpers import NOW


@pytest.fixture
def shop(db):
    return ShopFactory(domain="segment-shop.myshopify.com", installed_at=NOW - timedelta(days=1000))

from datetime import timedelta

import pytest

from loyalty.services.program import program_enable
from tests.factories import ShopFactory
from tests.loyalty.helpers import T0


@pytest.fixture
def shop(db):
    shop = ShopFactory(installed_at=T0 - timedelta(days=30))
    program_enable(shop=shop)
    return shop

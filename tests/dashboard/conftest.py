from typing import Any

import pytest

from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from tests.e2e.conftest import app, sandbox  # noqa: F401  (the live app and the Shopify sandbox)
from tests.factories import ShopFactory, UserFactory


@pytest.fixture
def two_shops(db: Any) -> tuple[Any, Any]:
    return (ShopFactory(domain="alpha.myshopify.com", name="Alpha", timezone="Asia/Jerusalem"),
            ShopFactory(domain="beta.myshopify.com", name="Beta"))


@pytest.fixture
def member(two_shops: tuple[Any, Any]) -> Any:
    """A login that is a member of alpha only."""
    user = UserFactory(username="dana")
    membership_grant(user=user, shop=two_shops[0], role=MembershipRole.OWNER)
    return user

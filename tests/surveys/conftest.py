import pytest

from commerce.models import Customer
from loyalty.services.program import program_enable
from surveys.models import Survey
from surveys.selectors import survey_list
from tests.factories import CustomerFactory, ShopFactory


@pytest.fixture
def shop(db):
    shop = ShopFactory(domain="survey-shop.myshopify.com", timezone="Asia/Jerusalem", name="Survey Shop")
    program_enable(shop=shop)
    return shop


@pytest.fixture
def surveys(shop) -> dict[str, Survey]:
    """The presets, switched on."""
    found = {survey.key: survey for survey in survey_list(shop=shop)}
    Survey.objects.filter(shop=shop).update(is_active=True)
    for survey in found.values():
        survey.refresh_from_db()
    return found


@pytest.fixture
def customer(shop) -> Customer:
    return CustomerFactory(shop=shop, platform_id="c1", email="dana@example.com", locale="en")

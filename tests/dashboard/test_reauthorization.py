"""A shop whose platform token was refused tells the merchant what to do, in their language."""

import pytest
from django.utils import timezone

from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from tests.factories import ShopFactory, UserFactory

pytestmark = pytest.mark.django_db

OVERVIEW = "/dashboard/overview/"


@pytest.fixture
def member(client):
    shop = ShopFactory(domain="refused.myshopify.com", name="Refused")
    user = UserFactory(username="merchant")
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client.force_login(user)
    return shop


@pytest.mark.parametrize("language, text", [
    ("en", "Please reopen the app from your Shopify admin to reconnect it."),
    ("he", "יש לפתוח שוב את האפליקציה מממשק הניהול של Shopify"),
    ("fa", "لطفاً برنامه را دوباره از پنل مدیریت Shopify باز کنید"),
])
def test_the_reauthorization_state_is_shown_until_a_new_token_arrives(client, member, language, text):
    assert text not in client.get(OVERVIEW, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    member.reauthorization_required_at = timezone.now()
    member.save()
    page = client.get(OVERVIEW, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert text in page and 'role="alert"' in page

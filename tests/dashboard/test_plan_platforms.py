"""The plan page follows the shop's platform: Shopify bills with the store's bill; a WooCommerce
store (no app billing) is offered no upgrade button that could only fail."""

from typing import Any

import pytest

from billing.models import ShopPlan
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from integrations.tasks import plan_sync_shop
from tests.factories import ShopFactory, UserFactory


@pytest.fixture
def woo_member(client: Any, db: Any) -> Any:
    shop = ShopFactory(platform="woocommerce", domain="shop.example.com", name="Woo Shop",
                       storefront_url="https://shop.example.com")
    user = UserFactory(username="wendy")
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client.force_login(user)
    return shop


@pytest.mark.parametrize("language, says", [
    ("en", "WooCommerce has no app billing"),
    ("he", "ל-WooCommerce אין חיוב לאפליקציות"),
    ("fa", "WooCommerce صورت‌حساب برنامه ندارد"),
])
def test_a_woocommerce_store_sees_how_to_change_plans_instead_of_a_shopify_upgrade(
        client: Any, woo_member: Any, language: str, says: str) -> None:
    client.cookies["django_language"] = language
    page = client.get("/dashboard/plan/").content.decode()
    assert says in page
    assert 'id="plan-upgrade"' not in page and "Shopify" not in page


def test_a_woocommerce_upgrade_post_is_refused_clearly_and_changes_nothing(client: Any, woo_member: Any) -> None:
    response = client.post("/dashboard/plan/upgrade/")
    assert response.status_code == 400
    assert "no app billing" in response.content.decode()
    assert not ShopPlan.objects.filter(shop=woo_member, subscription_id__gt="").exists()


def test_a_shopify_store_is_still_billed_by_shopify(client: Any, db: Any) -> None:
    shop = ShopFactory(domain="alpha.myshopify.com")
    user = UserFactory(username="sam")
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client.force_login(user)
    page = client.get("/dashboard/plan/").content.decode()
    assert "Billed by Shopify with your store" in page and 'id="plan-upgrade"' in page


def test_an_operator_arranges_the_paid_plan_for_a_woocommerce_store_and_the_reconciliation_keeps_it(
        client: Any, woo_member: Any, admin_client: Any) -> None:
    shopify = ShopFactory(domain="gamma.myshopify.com")
    answer = admin_client.post("/admin/commerce/shop/", {
        "action": "plan_arrange_paid", "_selected_action": [woo_member.pk, shopify.pk]}, follow=True)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "1 shop(s) now on the paid plan" in page and "left unchanged: gamma.myshopify.com" in page
    row = ShopPlan.objects.get(shop=woo_member)
    assert row.plan == "paid" and row.subscription_id.startswith("arranged:")
    assert not ShopPlan.objects.filter(shop=shopify, plan="paid").exists()  # Shopify's billing decides there
    # the periodic reconciliation asks the platform only where it bills: the arrangement stands
    plan_sync_shop(woo_member.pk)
    assert ShopPlan.objects.get(shop=woo_member).plan == "paid"
    page = client.get("/dashboard/plan/").content.decode()
    assert "Cancel subscription" not in page and "arranged with Comeback support" in page
    assert client.post("/dashboard/plan/cancel/").status_code == 400
    admin_client.post("/admin/commerce/shop/", {"action": "plan_arrange_free", "_selected_action": [woo_member.pk]})
    assert ShopPlan.objects.get(shop=woo_member).plan == "free"


def test_a_link_naming_a_shop_opens_that_shop_for_a_member_of_several_and_refuses_another(
        client: Any, woo_member: Any) -> None:
    shopify = ShopFactory(domain="delta.myshopify.com", name="Delta")
    membership_grant(user=woo_member_user(woo_member), shop=shopify, role=MembershipRole.OWNER)
    def page(**params: str) -> str:
        return client.get("/dashboard/", params, follow=True).content.decode()

    assert '<p class="shop-name">Woo Shop</p>' in page(shop="shop.example.com")
    assert '<p class="shop-name">Delta</p>' in page(shop="delta.myshopify.com")
    assert '<p class="shop-name">Delta</p>' in page()  # the choice stays
    ShopFactory(domain="stranger.myshopify.com")
    assert client.get("/dashboard/", {"shop": "stranger.myshopify.com"}).status_code == 403


def woo_member_user(shop: Any) -> Any:
    from dashboard.models import ShopMembership

    return ShopMembership.objects.get(shop=shop).user

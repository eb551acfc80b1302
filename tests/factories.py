"""factory_boy factories that keep related rows on the same shop."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from commerce.models import Customer, Order, Shop
from commerce.shop_defaults import shop_defaults_create
from dashboard.onboarding import onboarding_complete


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        django_get_or_create = ("platform", "domain")
        skip_postgeneration_save = True

    platform = "shopify"
    domain = factory.Sequence(lambda n: f"shop-{n}.myshopify.com")
    name = factory.LazyAttribute(lambda o: o.domain.split(".")[0].title())
    status = "installed"
    currency = "USD"
    access_token = factory.Sequence(lambda n: f"shpat_token{n:028d}")
    # An expiring offline token (what an install asks for), valid through any test.
    access_token_expires_at = datetime(2100, 1, 1, tzinfo=UTC)
    refresh_token = factory.Sequence(lambda n: f"shprt_token{n:028d}")
    installed_at = datetime(2026, 1, 1, tzinfo=UTC)

    @factory.post_generation
    def defaults(shop: Shop, create: bool, extracted: bool | None, **kwargs: object) -> None:  # noqa: N805
        """An installed shop has what the install creates (program, flow and survey presets,
        segments), as ``shop_installed`` would; ``ShopFactory(defaults=False)`` for one without."""
        if create and shop.status == "installed" and extracted is not False:
            shop_defaults_create(shop=shop)

    @factory.post_generation
    def onboarded(shop: Shop, create: bool, extracted: bool | None, **kwargs: object) -> None:  # noqa: N805
        """A shop in use has been through the onboarding wizard (its app opens on the overview);
        ``ShopFactory(onboarded=False)`` for one that has just installed."""
        if create and shop.status == "installed" and extracted is not False:
            onboarding_complete(shop=shop)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    shop = factory.SubFactory(ShopFactory)
    platform_id = factory.Sequence(lambda n: str(1000 + n))
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Dana"
    platform_updated_at = datetime(2026, 1, 1, tzinfo=UTC)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    customer = factory.SubFactory(CustomerFactory, shop=factory.SelfAttribute("..shop"))
    platform_id = factory.Sequence(lambda n: str(5000 + n))
    currency = "USD"
    total = Decimal("50.000")
    financial_status = "paid"
    processed_at = datetime(2026, 1, 2, tzinfo=UTC)
    platform_updated_at = datetime(2026, 1, 2, tzinfo=UTC)


class UserFactory(factory.django.DjangoModelFactory):
    """A Django login (the dashboard's standalone sign-in); the password is ``password``."""

    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"merchant{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("password")

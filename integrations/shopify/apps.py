from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "integrations.shopify"
    label = "shopify_platform"
    verbose_name = "Shopify"

    def ready(self) -> None:
        from integrations.platforms import PlatformRegistration, register_platform
        from integrations.shopify.adapter import ShopifyAdapter

        adapter = ShopifyAdapter()
        register_platform(PlatformRegistration(
            platform=adapter.platform,
            adapter=adapter,
            label="Shopify",
            billing=True,
            urls="integrations.shopify.urls",
            merchant_authentication="integrations.shopify.auth.SessionTokenAuthentication",
            shopper_authentication="integrations.shopify.auth.AppProxyAuthentication",
            widget_endpoint="/apps/comeback",
            embedded_admin="integrations.shopify.admin_session.EMBEDDED_ADMIN",
        ))

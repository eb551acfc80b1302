from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from commerce.privacy import privacy_register
        from integrations import checks  # noqa: F401 - registers the system checks
        from integrations.platforms import register_adapter
        from integrations.privacy import INTEGRATIONS
        from integrations.shopify.adapter import ShopifyAdapter
        from integrations.webhooks import register_handler

        shopify = ShopifyAdapter()
        register_adapter(shopify)
        register_handler(shopify.platform, shopify.webhook_handle)
        privacy_register(INTEGRATIONS)

from django.apps import AppConfig


class WooCommerceConfig(AppConfig):
    name = "integrations.woocommerce"
    label = "woocommerce_platform"
    verbose_name = "WooCommerce"

    def ready(self) -> None:
        from commerce.privacy import privacy_register
        from integrations.platforms import PlatformRegistration, register_platform
        from integrations.woocommerce.adapter import WooCommerceAdapter
        from integrations.woocommerce.privacy import WOOCOMMERCE

        adapter = WooCommerceAdapter()
        register_platform(PlatformRegistration(
            platform=adapter.platform,
            adapter=adapter,
            label="WooCommerce",
            urls="integrations.woocommerce.urls",
            merchant_authentication=None,  # a Django login: the connect flow or the plugin's admin link
            shopper_authentication="integrations.woocommerce.auth.PluginProxyAuthentication",
            widget_endpoint="/wp-json/comeback/v1",
        ))
        privacy_register(WOOCOMMERCE)

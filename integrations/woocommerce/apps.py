from django.apps import AppConfig


class WooCommerceConfig(AppConfig):
    name = "integrations.woocommerce"
    label = "woocommerce_platform"
    verbose_name = "WooCommerce"

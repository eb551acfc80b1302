from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        # Registers the Shopify webhook handler with the inbox.
        from integrations.shopify import webhooks  # noqa: F401

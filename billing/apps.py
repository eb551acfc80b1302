from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing.privacy import BILLING
        from commerce.privacy import privacy_register

        privacy_register(BILLING)

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from analytics.privacy import ANALYTICS
        from commerce.privacy import privacy_register

        privacy_register(ANALYTICS)

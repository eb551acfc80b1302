from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self) -> None:
        from commerce.privacy import privacy_register
        from dashboard.privacy import DASHBOARD

        privacy_register(DASHBOARD)

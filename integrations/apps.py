from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """What every platform shares: the webhook inbox, sync runs, privacy, the registry
    (``integrations.platforms``).  Each platform is its own app under ``integrations/``."""

    name = "integrations"

    def ready(self) -> None:
        from commerce.privacy import privacy_register
        from integrations import checks  # noqa: F401 - registers the system checks
        from integrations.privacy import INTEGRATIONS

        privacy_register(INTEGRATIONS)

from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"

    def ready(self) -> None:
        from commerce.privacy import COMMERCE, privacy_register

        privacy_register(COMMERCE)

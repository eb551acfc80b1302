from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from commerce import privacy_hooks
        from surveys import privacy

        privacy_hooks.customer_redacted.connect(privacy.on_customer_redacted, dispatch_uid="surveys.privacy")
        privacy_hooks.export_section("surveys", privacy.export)

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from commerce import privacy_hooks, shop_defaults
        from surveys import privacy
        from surveys.services import survey_presets_create

        privacy_hooks.customer_redacted.connect(privacy.on_customer_redacted, dispatch_uid="surveys.privacy")
        privacy_hooks.export_section("surveys", privacy.export)
        shop_defaults.defaults_register("surveys", survey_presets_create)

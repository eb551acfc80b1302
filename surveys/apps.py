from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from commerce import shop_defaults
        from commerce.privacy import privacy_register
        from surveys.privacy import SURVEYS
        from surveys.services import survey_presets_create

        privacy_register(SURVEYS)
        shop_defaults.defaults_register("surveys", survey_presets_create)

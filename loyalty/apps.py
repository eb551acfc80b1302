from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"

    def ready(self) -> None:
        from commerce import shop_defaults
        from commerce.privacy import privacy_register
        from loyalty import subscribers
        from loyalty.privacy import LOYALTY
        from loyalty.program_cache import program_cache_connect
        from loyalty.services.program import program_defaults_create

        subscribers.register()
        program_cache_connect()
        shop_defaults.defaults_register("loyalty", program_defaults_create)
        privacy_register(LOYALTY)

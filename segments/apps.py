from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"

    def ready(self) -> None:
        from commerce import shop_defaults
        from commerce.privacy import privacy_register
        from segments import subscribers
        from segments.privacy import SEGMENTS
        from segments.services import segment_defaults_create

        subscribers.register()
        shop_defaults.defaults_register("segments", segment_defaults_create)
        privacy_register(SEGMENTS)

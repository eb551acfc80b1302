from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns import subscribers
        from campaigns.privacy import CAMPAIGNS
        from campaigns.services.flows import flow_presets_create
        from campaigns.tracking import on_tracking
        from commerce import shop_defaults
        from commerce.privacy import privacy_register

        subscribers.register()
        shop_defaults.defaults_register("campaigns", flow_presets_create)
        tracking.connect(on_tracking, dispatch_uid="campaigns.tracking")
        privacy_register(CAMPAIGNS)

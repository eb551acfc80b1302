from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns import subscribers
        from campaigns.tracking import on_tracking

        subscribers.register()
        tracking.connect(on_tracking, dispatch_uid="campaigns.tracking")

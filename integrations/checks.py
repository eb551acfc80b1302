"""System checks of the integrations (``manage.py check`` and every server start run them)."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils import timezone

from integrations.shopify import version


def shopify_api_version_messages(*, today: date, pinned: str = version.API_VERSION) -> list[CheckMessage]:
    """W001 within three months of the pinned Admin API version leaving support, W002 after."""
    end = version.support_end(pinned)
    if today >= end:
        return [Warning(
            f"The Shopify Admin API version {pinned} left Shopify's support window on {end:%Y-%m-%d}: "
            "Shopify now answers with the oldest supported version, whose payloads may differ.",
            hint="Move integrations/shopify/version.py API_VERSION to a current stable version, check "
                 "its release notes against queries.py and the sandbox, and run the tests.",
            id="integrations.W002",
        )]
    if today >= version.upgrade_due(pinned):
        return [Warning(
            f"The Shopify Admin API version {pinned} leaves Shopify's support window on {end:%Y-%m-%d} "
            f"({(end - today).days} days from now).",
            hint="Plan the move of integrations/shopify/version.py API_VERSION to a newer stable version.",
            id="integrations.W001",
        )]
    return []


@register(Tags.compatibility)
def shopify_api_version_check(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    return shopify_api_version_messages(today=timezone.now().date())

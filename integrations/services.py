"""Platform-neutral integration workflows: they speak to a store only through its adapter."""

from commerce import services as commerce
from commerce.models import Shop
from integrations.models import SyncRun
from integrations.platforms import adapter_for


def shop_after_install(*, shop: Shop) -> SyncRun:
    """Fill in the shop's details, subscribe the webhooks, and create the history sync."""
    adapter = adapter_for(shop.platform)
    commerce.shop_details_update(shop=shop, details=adapter.shop_details(shop=shop))
    adapter.webhooks_register(shop=shop)
    return adapter.history_sync_start(shop=shop)

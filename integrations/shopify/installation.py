"""What happens once a shop has given us a token: details, webhooks, history sync."""

from commerce import services as commerce
from commerce.models import Shop
from integrations.models import SyncRun
from integrations.shopify import sync


def after_install(*, shop: Shop) -> SyncRun:
    client = sync.client_for(shop)
    commerce.shop_details_update(shop=shop, details=sync.shop_details_fetch(shop=shop, client=client))
    sync.webhooks_register(shop=shop, client=client)
    return sync.history_sync_start(shop=shop)

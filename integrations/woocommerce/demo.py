"""What the whole-house demo (``manage.py demo``) needs from the WooCommerce package.

The command lives outside ``integrations/`` and may not import a platform package: it finds this
module through the registry (``retention_app.management.commands.demo.platform_demo``).
"""

import time
from urllib.parse import urlencode

from commerce.models import Shop
from integrations.woocommerce.auth import params_sign
from integrations.woocommerce.models import WooConnection


def admin_link(*, shop: Shop, app_url: str, wordpress_user_id: str, email: str) -> str:
    """The link the plugin's "Comeback" menu opens for this WordPress administrator: signed with
    the shop's plugin secret, good once and for a minute (the plugin makes a fresh one per click)."""
    secret = WooConnection.objects.get(shop=shop).plugin_secret
    params = {"shop": shop.domain, "user": wordpress_user_id, "email": email, "timestamp": str(int(time.time()))}
    signature = params_sign({key: [value] for key, value in params.items()}, secret)
    return f"{app_url.rstrip('/')}/woocommerce/admin?{urlencode({**params, 'signature': signature})}"

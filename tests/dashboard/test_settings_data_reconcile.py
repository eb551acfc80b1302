"""Inside the (sandbox's) Shopify admin: "Reconcile now" runs the reconciliation task against the
store over real HTTP, and an order the webhooks missed arrives."""

from typing import Any

import pytest
import requests

from commerce.models import Order, Shop
from integrations.models import SyncKind, SyncRun, SyncStatus
from tests.e2e.conftest import install, wait_until
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)
DOMAIN = "reconcile-now.myshopify.com"
HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvcmVjb25jaWxl"


def test_reconcile_now_fetches_what_the_webhooks_missed(app: Any, sandbox: Any) -> None:
    # given an installed store whose history is in
    store = sandbox.add_shop(DOMAIN, seed=8, customers=8, orders=20)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    assert wait_until(lambda: SyncRun.objects.filter(shop=shop, kind=SyncKind.HISTORY,
                                                     status=SyncStatus.COMPLETED).exists(), timeout=60)
    before = Order.objects.filter(shop=shop).count()
    # and an order placed while its webhooks are lost
    sandbox.webhooks.drop_next(20)
    store.place_order()
    sandbox.webhooks.wait_idle()
    assert Order.objects.filter(shop=shop).count() == before
    # when the merchant presses "Reconcile now" in the embedded admin
    embedded = {"shop": DOMAIN, "host": HOST}
    response = requests.post(f"{app.url}/dashboard/settings/data/",
                             params={**embedded, "id_token": session_token(DOMAIN)},
                             data={"action": "reconcile"}, allow_redirects=False, timeout=120)
    # then the reconciliation ran and the order is there
    assert response.status_code == 302, response.text[:500]
    assert "notice=reconcile_queued" in response.headers["Location"]
    assert wait_until(lambda: SyncRun.objects.filter(shop=shop, kind=SyncKind.RECONCILE,
                                                     status=SyncStatus.COMPLETED).exists(), timeout=60)
    assert Order.objects.filter(shop=shop).count() == before + 1
    page = requests.get(f"{app.url}/dashboard/settings/data/",
                        params={**embedded, "id_token": session_token(DOMAIN), "notice": "reconcile_queued"},
                        timeout=60)
    assert page.status_code == 200 and "The reconciliation has started" in page.text

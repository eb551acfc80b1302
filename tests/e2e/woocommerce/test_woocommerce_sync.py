"""The WooCommerce history sync over the wire when the store misbehaves: a host that answers 429
(with ``Retry-After``) or 503 for a while, and a worker that dies mid-sync and is resumed."""

from urllib.parse import parse_qs, urlsplit

import pytest
from requests.adapters import HTTPAdapter

from commerce.models import Customer, Order
from integrations.models import SyncRun
from integrations.woocommerce import sync
from tests.e2e.woocommerce.conftest import add_store, connect, db_totals, truth_totals

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_store_that_asks_us_to_slow_down_is_synced_all_the_same(app, woo_sandbox):
    store = add_store(woo_sandbox, "busy", seed=9, customers=120, orders=260)
    shop = connect(app, store, woo_sandbox, plugin=False)
    Order.objects.filter(shop=shop).delete()
    Customer.objects.filter(shop=shop).delete()
    # the host's rate limiter and an overloaded PHP answer some of the sync's requests with errors
    woo_sandbox.fail_next(store.name, 2, status=429, retry_after=1)
    woo_sandbox.fail_next(store.name, 1, status=503)
    woo_sandbox.fail_next(store.name, 1, status=429, retry_after=1)
    run = sync.history_sync_start(shop=shop)
    sync.history_sync_run(run=run)
    run.refresh_from_db()
    assert run.status == "completed", run.error
    assert db_totals(shop) == truth_totals(store)
    assert Customer.objects.filter(shop=shop).count() == len(store.customers)


def test_a_history_sync_resumes_after_a_crash_from_the_page_it_reached(app, woo_sandbox, monkeypatch):
    store = add_store(woo_sandbox, "crash", seed=10, customers=60, orders=450)
    shop = connect(app, store, woo_sandbox, plugin=False)
    Order.objects.filter(shop=shop).delete()
    Customer.objects.filter(shop=shop).delete()
    # given a new sync whose worker dies after its third page of orders
    run = sync.history_sync_start(shop=shop)
    pages = {"n": 0}

    def crash(current: SyncRun) -> None:
        if current.resource == "orders":
            pages["n"] += 1
            if pages["n"] == 3:
                raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        sync.history_sync_run(run=run, after_page=crash)
    run.refresh_from_db()
    assert run.status == "failed" and run.resource == "orders" and run.lines_done == 3
    assert Order.objects.filter(shop=shop).count() == 300
    # when it is resumed, it asks the store for the orders from page 4 on, and converges on the truth
    asked: list[str] = []
    send = HTTPAdapter.send

    def watched(adapter, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        url = urlsplit(request.url)
        if url.path.endswith("/wp-json/wc/v3/orders"):
            asked.append(parse_qs(url.query).get("page", ["1"])[0])
        return send(adapter, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", watched)  # watches the wire; the client is untouched
    sync.history_sync_run(run=run)
    run.refresh_from_db()
    assert run.status == "completed" and run.resumes == 1
    assert asked == ["4", "5"]
    assert db_totals(shop) == truth_totals(store)

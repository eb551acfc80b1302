"""Data and privacy page: the sync and webhook state, "reconcile now", the CSV import with each
rejected row's line, and the customers' data exports (requested, downloaded, one shop's only)."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from commerce.models import Order
from integrations.models import DataRequestExport, SyncKind, SyncRun, SyncStatus, WebhookDelivery
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/data/"
CSV = (
    "order_id,customer_id,email,processed_at,total,currency,product\n"
    "1001,c-1,noa@example.com,2025-03-01T10:00:00,120.50,USD,Mug\n"
    "1002,c-2,dan@example.com,2025-03-02,abc,USD,Mug\n"
    "1003,c-1,noa@example.com,2025-04-11,80,USD,Plate\n"
)


@pytest.fixture
def alpha(two_shops: Any, member: Any, client: Any) -> Any:
    client.force_login(member)
    return two_shops[0]


def _upload(content: str, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")


def test_a_csv_with_one_bad_row_imports_the_others_and_names_the_line(client: Any, alpha: Any) -> None:
    response = client.post(URL, {"action": "import", "file": _upload(CSV)})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-line="3"' in page
    assert "total &#x27;abc&#x27; is not a number" in page
    assert "1 rows were rejected" in page
    orders = Order.objects.filter(shop=alpha).order_by("platform_id")
    assert [(order.platform_id, order.total) for order in orders] == [("import:1001", Decimal("120.500")),
                                                                       ("import:1003", Decimal("80.000"))]
    # the same file again changes nothing
    again = client.post(URL, {"action": "import", "file": _upload(CSV)}).content.decode()
    assert "0 orders added" in again and "2 unchanged" in again
    assert Order.objects.filter(shop=alpha).count() == 2


def test_a_file_that_is_not_an_orders_csv_is_refused_whole(client: Any, alpha: Any) -> None:
    response = client.post(URL, {"action": "import", "file": _upload("name,amount\nx,1\n")})
    assert response.status_code == 400
    assert "the file lacks the columns: order_id, customer_id, email, processed_at, total, currency" \
        in response.content.decode()
    latin1 = SimpleUploadedFile("orders.csv", "order_id\nç".encode("latin-1"), content_type="text/csv")
    response = client.post(URL, {"action": "import", "file": latin1})
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()
    assert not Order.objects.filter(shop=alpha).exists()


def test_the_page_shows_the_sync_the_last_webhook_and_the_last_reconciliation(client: Any, alpha: Any) -> None:
    SyncRun.objects.create(shop=alpha, kind=SyncKind.HISTORY, status=SyncStatus.COMPLETED,
                           progress={"customers": {"objects": 1240, "done": True}, "orders": {"objects": 5310,
                                                                                              "done": True}},
                           finished_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
    SyncRun.objects.create(shop=alpha, kind=SyncKind.RECONCILE, status=SyncStatus.COMPLETED,
                           progress={"customers": 3, "orders": 7}, finished_at=datetime(2026, 3, 2, tzinfo=UTC))
    WebhookDelivery.objects.create(platform="shopify", delivery_id="d-1", shop=alpha, shop_domain=alpha.domain,
                                   topic="orders/paid", body=b"{}", status="processed")
    WebhookDelivery.objects.create(platform="shopify", delivery_id="d-2", shop_domain="beta.myshopify.com",
                                   topic="customers/update", body=b"{}")
    page = client.get(URL).content.decode()
    assert "1,240" in page and "5,310" in page
    assert "orders/paid" in page and "customers/update" not in page
    assert "Reconcile now" in page


def test_reconcile_now_is_refused_while_the_history_is_importing(client: Any, alpha: Any) -> None:
    SyncRun.objects.create(shop=alpha, kind=SyncKind.HISTORY, status=SyncStatus.RUNNING)
    response = client.post(URL, {"action": "reconcile"})
    assert response.status_code == 409
    assert "still being imported" in response.content.decode()
    assert not SyncRun.objects.filter(shop=alpha, kind=SyncKind.RECONCILE).exists()


def test_a_requested_export_is_downloadable_and_another_shops_is_not(client: Any, alpha: Any,
                                                                     two_shops: Any) -> None:
    customer = CustomerFactory(shop=alpha, platform_id="501", email="noa@example.com", first_name="Noa")
    OrderFactory(shop=alpha, customer=customer, total=Decimal("42.000"))
    response = client.post(URL, {"action": "export", "customer": "NOA@example.com"})
    assert response.status_code == 302
    export = DataRequestExport.objects.get(shop=alpha)
    assert export.customer_platform_id == "501"
    page = client.get(response["Location"]).content.decode()
    assert "ready to download" in page and f"export={export.pk}" in page
    download = client.get(URL, {"export": export.pk})
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="comeback-')
    data = json.loads(download.content)
    assert data["shop"] == alpha.domain and "noa@example.com" in download.content.decode()
    theirs = DataRequestExport.objects.create(shop=two_shops[1], request_id="r", customer_platform_id="9",
                                              data={"secret": True})
    assert client.get(URL, {"export": theirs.pk}).status_code == 404
    unknown = client.post(URL, {"action": "export", "customer": "nobody@example.com"})
    assert unknown.status_code == 400 and "No customer of this store" in unknown.content.decode()


def test_the_import_progress_refreshes_itself_until_it_is_done(client: Any, alpha: Any) -> None:
    run = SyncRun.objects.create(shop=alpha, kind=SyncKind.HISTORY, status=SyncStatus.RUNNING,
                                 progress={"customers": {"objects": 300, "done": True}, "orders": {"objects": 40}})
    page = client.get(URL).content.decode()
    assert 'hx-trigger="every 5s"' in page and "part=sync" in page
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.COMPLETED,
                                             progress={"customers": {"objects": 300, "done": True},
                                                       "orders": {"objects": 1200, "done": True}})
    part = client.get(URL, {"part": "sync"}, headers={"HX-Request": "true"}).content.decode()
    assert part.startswith('<section class="panel"') and "1,200" in part
    assert "hx-trigger" not in part  # done: the polling stops

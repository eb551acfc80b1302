"""Over real HTTP: a Shopify install (OAuth with the sandbox) creates every app's defaults, and the
merchant's and the shopper's reads that follow (embedded dashboard, merchant API, the storefront's
app proxy) change no row in any table."""

from typing import Any

import pytest
import requests
from django.db import connection

from campaigns.models import Flow
from campaigns.services.flows import PRESETS as FLOW_PRESETS
from commerce.models import Customer, Shop
from loyalty.models import Account, Program
from segments.models import Segment, SegmentSettings
from surveys.models import Survey
from surveys.presets import PRESETS as SURVEY_PRESETS
from tests.e2e.conftest import install
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "defaults-store.myshopify.com"
PAGES = ("overview", "cohorts", "segments", "segments/loyal", "loyalty", "flows", "surveys")
API = ("/api/shop", "/api/loyalty/program", "/api/loyalty/rules", "/api/loyalty/rewards", "/api/loyalty/tiers",
       "/api/campaigns/flows", "/api/campaigns/flows/winback", "/api/surveys", "/api/segments")


def database() -> dict[str, list[str]]:
    """Every row of every table, as text: two equal snapshots mean nothing was written between."""
    snapshot: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            snapshot[table] = sorted(repr(row) for row in cursor.fetchall())
    return snapshot


def test_an_install_over_oauth_creates_the_defaults_and_reads_write_nothing(app: Any, sandbox: Any) -> None:
    # given a store with customers and orders
    store = sandbox.add_shop(DOMAIN, seed=4, customers=12, orders=30)
    sandbox.app_config(app_url=app.url)
    # when the merchant installs the app (code grant over HTTP, history sync)
    install(app, DOMAIN)
    # then the shop has its defaults, switched off
    shop = Shop.objects.get(domain=DOMAIN)
    assert Program.objects.get(shop=shop).is_enabled is False
    assert set(Flow.objects.filter(shop=shop, is_enabled=False).values_list("key", flat=True)) == set(FLOW_PRESETS)
    assert set(Survey.objects.filter(shop=shop, is_active=False).values_list("key", flat=True)) == set(SURVEY_PRESETS)
    assert Segment.objects.filter(shop=shop).count() == 6 and SegmentSettings.objects.filter(shop=shop).exists()
    shopper = Customer.objects.filter(shop=shop).exclude(email="").order_by("pk").first()
    assert shopper is not None and not Account.objects.filter(shop=shop, customer=shopper).exists()

    # when the merchant reads every page and API, and a logged-in shopper's widget reads
    before = database()
    embedded = {"shop": DOMAIN, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVmYXVsdHM"}
    for page in PAGES:
        response = requests.get(f"{app.url}/dashboard/{page}/", params={**embedded, "id_token": session_token(DOMAIN)},
                                timeout=60)
        assert response.status_code == 200, (page, response.text[:300])
    for path in API:
        response = requests.get(f"{app.url}{path}", headers={"Authorization": f"Bearer {session_token(DOMAIN)}"},
                                timeout=60)
        assert response.status_code == 200, (path, response.text[:300])
    browser = requests.Session()
    browser.get(f"{store.origin}/", params={"customer": shopper.platform_id}, timeout=30)  # the shopper logs in
    widget = browser.get(f"{store.origin}/apps/comeback/loyalty", timeout=60)
    surveys = browser.get(f"{store.origin}/apps/comeback/surveys", timeout=60)
    # then they see the shop, and not one row changed anywhere
    assert widget.status_code == 200 and surveys.status_code == 200
    assert (widget.json()["logged_in"], widget.json()["member"]) == (True, False)
    assert database() == before

"""Reads never write: every GET page, widget (app proxy) read and merchant API read of a freshly
installed shop issues no INSERT, UPDATE or DELETE, and neither does a shop that predates the
defaults being made at install (it gets empty lists, 404s or defaults in memory instead)."""

import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns.services.email import unsubscribe_url
from commerce.models import Customer, Order, Shop
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from loyalty.models import Account, Program, TierScheme
from loyalty.services.ledger import account_for_customer, entry_write
from surveys.models import Survey
from surveys.services import survey_link
from tests.factories import CustomerFactory, OrderFactory, ShopFactory, UserFactory
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db

PROXY_SECRET = "test-api-secret-with-at-least-32-bytes"
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE)\b", re.IGNORECASE)


def writes(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if WRITE.match(query["sql"])]


def proxy(shop: Shop, customer_id: str = "", **extra: str) -> str:
    """Signed like Shopify's app proxy, written out independently of the code under test."""
    params = {"shop": shop.domain, "logged_in_customer_id": customer_id, "path_prefix": "/apps/comeback",
              "timestamp": str(int(time.time())), **extra}
    message = "".join(f"{key}={value}" for key, value in sorted(params.items()))
    params["signature"] = hmac.new(PROXY_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


def bearer(shop: Shop) -> dict[str, str]:
    return {"Authorization": f"Bearer {session_token(shop.domain)}"}


def embedded(shop: Shop) -> str:
    return urlencode({"shop": shop.domain, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZnJlc2g",
                      "id_token": session_token(shop.domain)})


@pytest.fixture
def fresh() -> Shop:
    """A store that has just installed the app, with two shoppers:
    Dana, who has points, and Noa, who ordered but has never opened the widget (no account)."""
    shop = ShopFactory(domain="fresh.myshopify.com")  # as ``shop_installed`` leaves it (test_shop_defaults)
    for platform_id, email in (("c1", "dana@example.com"), ("c2", "noa@example.com")):
        customer = CustomerFactory(shop=shop, platform_id=platform_id, email=email)
        OrderFactory(shop=shop, customer=customer, platform_id=f"o-{platform_id}", email=email)
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=120, reason="gift")
    return shop


@pytest.fixture
def legacy() -> Shop:
    """A store installed before defaults were made at install, and not migrated: nothing at all."""
    shop = ShopFactory(domain="legacy.myshopify.com", defaults=False)
    CustomerFactory(shop=shop, platform_id="c1", email="dana@example.com")
    return shop


def merchant_reads(shop: Shop) -> Iterator[tuple[str, dict[str, str]]]:
    """Every read of the merchant's API (session token)."""
    token = bearer(shop)
    account = Account.objects.filter(shop=shop).first()
    scheme = TierScheme.objects.filter(shop=shop).first()
    customer = Customer.objects.filter(shop=shop).first()
    paths = ["/api/shop", "/api/privacy/exports", "/api/loyalty/program", "/api/loyalty/rules",
             "/api/loyalty/rewards", "/api/loyalty/tiers", "/api/loyalty/referrals",
             "/api/loyalty/customers?email=dana@example.com",
             f"/api/loyalty/report?start={date(2026, 1, 1)}&end={date(2026, 3, 31)}",
             "/api/campaigns/flows", "/api/campaigns/flows/winback", "/api/campaigns/holidays?calendar=IL&year=2026",
             "/api/surveys", "/api/segments", "/api/segments/loyal/customers"]
    if account is not None:
        paths.append(f"/api/loyalty/customers/{account.pk}")
    if scheme is not None:
        paths.append(f"/api/loyalty/tiers/{scheme.pk}/dry-run")
    if customer is not None:
        paths.append(f"/api/campaigns/flows/winback/preview?customer_id={customer.pk}")
    for path in paths:
        yield path, token


def shopper_reads(shop: Shop) -> Iterator[str]:
    """Every read of the storefront widget (app proxy): logged out, a member, a shopper without an account."""
    for customer_id in ("", "c1", "c2"):
        yield f"/proxy/loyalty?{proxy(shop, customer_id)}"
        yield f"/proxy/surveys?{proxy(shop, customer_id, locale='he')}"
    yield f"/proxy/upsell?{proxy(shop, 'c1', order='o-c1')}"
    referrer = Account.objects.filter(shop=shop).first()
    for customer_id in ("", "c2"):  # a friend who opened a referral link, logged out and in
        yield f"/proxy/referrals/offer?{proxy(shop, customer_id, code=referrer.referral_code if referrer else 'NONE')}"


DASHBOARD_PAGES = ("/dashboard/", "/dashboard/overview/", "/dashboard/cohorts/", "/dashboard/segments/",
                   "/dashboard/segments/loyal/", "/dashboard/loyalty/", "/dashboard/flows/", "/dashboard/surveys/",
                   "/dashboard/flows/?format=csv&table=flows")


def assert_reads_write_nothing(client: Client, requests: list[tuple[str, dict[str, str]]]) -> None:
    for path, headers in requests:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, headers=headers)
        assert response.status_code in (200, 302, 404), (path, response.status_code, response.content[:300])
        assert writes(captured) == [], path


def test_every_read_of_a_freshly_installed_shop_writes_nothing(client, fresh):
    # given the merchant's login (signing in writes the session: before we look)
    user = UserFactory(username="merchant")
    membership_grant(user=user, shop=fresh, role=MembershipRole.OWNER)
    client.force_login(user)
    requests: list[tuple[str, dict[str, str]]] = [(path, {}) for path in DASHBOARD_PAGES]
    requests += [(f"{path}{'&' if '?' in path else '?'}{embedded(fresh)}", {}) for path in DASHBOARD_PAGES[1:8]]
    requests += list(merchant_reads(fresh))
    requests += [(path, {}) for path in shopper_reads(fresh)]
    noa = Customer.objects.get(shop=fresh, platform_id="c2")
    nps = Survey.objects.get(shop=fresh, key="nps")
    Survey.objects.filter(pk=nps.pk).update(is_active=True)
    requests += [(survey_link(shop=fresh, customer=noa, survey=nps).split("://", 1)[-1].split("/", 1)[-1], {}),
                 (unsubscribe_url(noa).split("://", 1)[-1].split("/", 1)[-1], {})]
    requests = [("/" + path.lstrip("/"), headers) for path, headers in requests]
    # when every page and API is read, then not one row is written
    assert_reads_write_nothing(client, requests)
    # and the shopper without an account still has none (reading the widget opened nothing)
    assert not Account.objects.filter(shop=fresh, customer__platform_id="c2").exists()


def test_a_shop_without_defaults_reads_sensibly_and_writes_nothing(client, legacy):
    user = UserFactory(username="legacy-merchant")
    membership_grant(user=user, shop=legacy, role=MembershipRole.OWNER)
    client.force_login(user)
    requests: list[tuple[str, dict[str, str]]] = [(path, {}) for path in DASHBOARD_PAGES]
    requests += list(merchant_reads(legacy))
    requests += [(path, {}) for path in shopper_reads(legacy)]
    assert_reads_write_nothing(client, requests)
    for page in DASHBOARD_PAGES[1:8]:
        assert client.get(page).status_code == 200, page
    # the program reads as the defaults, switched off; lists are empty; an unknown flow is a 404
    assert client.get("/api/loyalty/program", headers=bearer(legacy)).json()["is_enabled"] is False
    assert client.get("/api/loyalty/rewards", headers=bearer(legacy)).json() == []
    assert client.get("/api/campaigns/flows", headers=bearer(legacy)).json() == []
    assert client.get("/api/campaigns/flows/winback", headers=bearer(legacy)).status_code == 404
    assert client.get("/api/segments", headers=bearer(legacy)).json()["settings"]["churn_days"] == 365
    widget = client.get(f"/proxy/loyalty?{proxy(legacy, 'c1')}").json()
    assert widget["program"]["enabled"] is False and widget["rewards"] == []
    assert not Program.objects.filter(shop=legacy).exists() and not Account.objects.filter(shop=legacy).exists()


def test_the_capture_sees_a_write(client, fresh):
    """The check itself can fail: a POST that writes is caught."""
    with CaptureQueriesContext(connection) as captured:
        Order.objects.filter(shop=fresh).update(email="changed@example.com")
    assert len(writes(captured)) == 1

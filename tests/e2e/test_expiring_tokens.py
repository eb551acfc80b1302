"""Expiring offline tokens over real HTTP to the sandbox: installs ask for them, long work outlives
many of them, concurrent workers refresh once, legacy shops move over when the merchant opens the
app, and a refused legacy token shows the re-authorization state."""

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from commerce import services as commerce
from commerce.models import Customer, Order, Platform, Shop
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from integrations.models import SyncRun
from integrations.platforms import adapter_for
from integrations.shopify import sync, tokens
from integrations.shopify.client import ShopifyAuthError
from tests.e2e.conftest import install
from tests.factories import UserFactory
from tests.integrations.test_oauth import session_token

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "token-store.myshopify.com"
SHOP_QUERY = "query { shop { name } }"


def legacy_shop(sandbox: Any) -> Shop:
    """A shop installed before expiring tokens: a non-expiring token, no refresh token (and the
    sandbox's cutoff for such tokens still a day away, whatever today's date)."""
    sandbox.token_policy.non_expiring_until = datetime.now(UTC) + timedelta(days=1)
    return commerce.shop_installed(platform=Platform.SHOPIFY, domain=DOMAIN, scopes=sandbox.default_scopes,
                                   access_token=sandbox.install(DOMAIN, expiring=False))


def open_embedded(app: Any, path: str = "/dashboard/overview/") -> requests.Response:
    """The merchant opens the app in the Shopify admin: the page loads with a fresh session token."""
    return requests.get(f"{app.url}{path}", timeout=60, params={
        "shop": DOMAIN, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdG9rZW4tc3RvcmU", "id_token": session_token(DOMAIN)})


def test_install_stores_an_expiring_token_and_its_refresh_token_encrypted(app, sandbox):
    # given a store, when the merchant installs the app (expiring=1 on the code grant)
    sandbox.add_shop(DOMAIN, seed=2, customers=10, orders=20)
    before = timezone.now()
    install(app, DOMAIN)
    # then the app asked for an expiring token, and the shop has a one-hour token and a refresh token
    assert sandbox.token_requests == [{"shop": DOMAIN, "grant_type": "authorization_code", "expiring": "1"}]
    shop = Shop.objects.get(domain=DOMAIN)
    assert shop.refresh_token.startswith("shprt_")
    expires_at, refresh_expires_at = shop.access_token_expires_at, shop.refresh_token_expires_at
    assert expires_at is not None and refresh_expires_at is not None
    assert before + timedelta(seconds=3590) <= expires_at <= timezone.now() + timedelta(seconds=3600)
    assert refresh_expires_at > expires_at
    assert shop.reauthorization_required_at is None
    # and neither token is readable in the database
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM commerce_shop WHERE id = %s", [shop.pk])
        stored_access, stored_refresh = cursor.fetchone()
    assert shop.access_token not in stored_access and shop.refresh_token not in stored_refresh


def test_a_history_sync_outlives_several_token_lifetimes(app, sandbox, settings):
    # given two-second tokens and a sync that takes several times as long
    settings.SHOPIFY_TOKEN_REFRESH_MARGIN_SECONDS = 0.5
    sandbox.token_policy.access_token_lifetime = 2
    sandbox.bulk.min_duration = 2.5
    store = sandbox.add_shop(DOMAIN, seed=4, customers=30, orders=80)
    # when the merchant installs (the history sync runs: three bulk operations, ~8 s)
    install(app, DOMAIN)
    # then it completed, with every object, and the tokens were rotated on the way
    shop = Shop.objects.get(domain=DOMAIN)
    run = SyncRun.objects.get(shop=shop, kind="history")
    assert run.status == "completed", run.error
    assert run.finished_at is not None and (run.finished_at - run.started_at).total_seconds() > 3 * 2
    assert Order.objects.filter(shop=shop).count() == len(list(store.orders))
    assert Customer.objects.filter(shop=shop).count() == len(list(store.customers))
    assert store.token_refreshes >= 3
    assert shop.refresh_token in store.refresh_tokens and shop.access_token in store.tokens

    # and later calls, long after the last token expired, refresh first and succeed
    refreshes = store.token_refreshes
    store.expire_access_tokens()
    assert sync.reconcile(shop=shop)["orders"] >= 0
    assert store.token_refreshes == refreshes + 1


def test_a_401_refreshes_once_and_repeats_the_call(app, sandbox):
    # given an installed shop whose token Shopify no longer accepts (though we think it is fresh)
    store = sandbox.add_shop(DOMAIN, seed=6, customers=10, orders=20)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    old_token, old_refresh = shop.access_token, shop.refresh_token
    store.expire_access_tokens()
    # when any Admin API caller runs
    data = sync.client_for(shop).execute(SHOP_QUERY)
    # then it got its answer after exactly one refresh, and the rotated pair is stored
    assert data["shop"]["name"] == store.name
    assert store.token_refreshes == 1
    assert sandbox.token_requests[-1] == {"shop": DOMAIN, "grant_type": "refresh_token", "expiring": ""}
    stored = Shop.objects.get(pk=shop.pk)
    assert stored.access_token not in ("", old_token) and stored.refresh_token not in ("", old_refresh)
    assert stored.access_token == shop.access_token


def test_a_refresh_token_that_is_refused_marks_the_shop_for_reauthorization(app, sandbox):
    store = sandbox.add_shop(DOMAIN, seed=6, customers=10, orders=20)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    store.revoke_tokens()  # e.g. the client secret was rotated and the tokens revoked
    with pytest.raises(ShopifyAuthError):
        sync.client_for(shop).execute(SHOP_QUERY)
    assert Shop.objects.get(pk=shop.pk).reauthorization_required


def test_a_worker_with_a_stale_copy_uses_the_token_another_worker_stored(app, sandbox):
    """The lock's re-read, deterministic on every database: B read the shop before A refreshed."""
    store = sandbox.add_shop(DOMAIN, seed=6, customers=10, orders=20)
    install(app, DOMAIN)
    worker_a = Shop.objects.get(domain=DOMAIN)
    worker_b = Shop.objects.get(domain=DOMAIN)
    stale = worker_b.access_token
    store.expire_access_tokens()
    sync.client_for(worker_a).execute(SHOP_QUERY)  # A gets a 401, refreshes
    assert store.token_refreshes == 1
    # B now gets a 401 for its stale token: it must take A's token, not spend the refresh token again
    assert tokens.access_token_rejected(shop=worker_b, token=stale) == worker_a.access_token
    assert sync.client_for(worker_b).execute(SHOP_QUERY)["shop"]["name"] == store.name
    assert store.token_refreshes == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections holding row locks need PostgreSQL "
                    "(CI runs it); the stale-copy test above covers the re-read on SQLite")
def test_two_concurrent_workers_never_refresh_twice(app, sandbox):
    # given an expired token and a slow refresh endpoint (a wide race window)
    sandbox.token_policy.refresh_delay = 0.5
    store = sandbox.add_shop(DOMAIN, seed=6, customers=10, orders=20)
    install(app, DOMAIN)
    Shop.objects.filter(domain=DOMAIN).update(access_token_expires_at=timezone.now() - timedelta(seconds=1))
    store.expire_access_tokens()
    barrier = threading.Barrier(4)
    results: list[str] = []

    def worker() -> None:
        try:
            shop = Shop.objects.get(domain=DOMAIN)
            barrier.wait(timeout=10)
            results.append(sync.client_for(shop).execute(SHOP_QUERY)["shop"]["name"])
        finally:
            connection.close()

    # when four workers call the API at the same moment
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then all succeed, and Shopify saw exactly one refresh
    assert results == [store.name] * 4
    assert store.token_refreshes == 1


def test_a_legacy_token_is_exchanged_when_the_merchant_opens_the_app(app, sandbox):
    # given a shop installed long ago with a non-expiring token, which still works until the cutoff
    store = sandbox.add_shop(DOMAIN, seed=8, customers=10, orders=20)
    shop = legacy_shop(sandbox)
    legacy = shop.access_token
    assert sync.client_for(shop).execute(SHOP_QUERY)["shop"]["name"] == store.name
    # when the merchant opens the app in the Shopify admin
    response = open_embedded(app)
    # then the page shows, and the shop now has an expiring token with a refresh token
    assert response.status_code == 200
    assert sandbox.token_requests == [{
        "shop": DOMAIN, "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "expiring": "1",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token"}]
    shop.refresh_from_db()
    assert shop.access_token != legacy and shop.refresh_token and shop.access_token_expires_at is not None
    assert shop.access_token in store.tokens and store.tokens[shop.access_token].expires is not None
    # and opening it again exchanges nothing more
    tokens_before = len(store.tokens)
    assert open_embedded(app).status_code == 200
    assert len(store.tokens) == tokens_before
    # and after the cutoff the shop keeps working
    sandbox.token_policy.non_expiring_until = datetime.now(UTC) - timedelta(seconds=1)
    assert sync.client_for(shop).execute(SHOP_QUERY)["shop"]["name"] == store.name


def test_after_the_cutoff_a_legacy_shop_shows_the_reauthorization_state(app, sandbox, admin_client):
    # given a legacy shop whose merchant never opened the app before Shopify's cutoff
    store = sandbox.add_shop(DOMAIN, seed=8, customers=10, orders=20, name="Token Store")
    shop = legacy_shop(sandbox)
    sandbox.token_policy.non_expiring_until = datetime.now(UTC) - timedelta(seconds=1)
    # when the periodic reconciliation runs, Shopify refuses the token
    with pytest.raises(ShopifyAuthError):
        sync.reconcile(shop=shop)
    shop.refresh_from_db()
    assert shop.reauthorization_required and shop.access_token_expires_at is None
    # then operators see it in the Django admin's shop list
    listing = admin_client.get("/admin/commerce/shop/").content.decode()
    assert "RE-AUTHORIZATION REQUIRED" in listing
    flagged = admin_client.get("/admin/commerce/shop/", {"reauthorization_required_at__isempty": "0"})
    fine = admin_client.get("/admin/commerce/shop/", {"reauthorization_required_at__isempty": "1"})
    assert DOMAIN in flagged.content.decode() and DOMAIN not in fine.content.decode()
    # and a member who logs in to the dashboard is told what to do
    member = UserFactory(username="owner")
    membership_grant(user=member, shop=shop, role=MembershipRole.OWNER)
    browser = Client()
    browser.force_login(member)
    page = browser.get("/dashboard/overview/").content.decode()
    assert "Please reopen the app from your Shopify admin" in page

    # when the merchant reopens the app from the Shopify admin
    response = open_embedded(app)
    # then the token is exchanged, the warning is gone and the API answers again
    assert response.status_code == 200 and "Please reopen the app" not in response.text
    shop.refresh_from_db()
    assert not shop.reauthorization_required and shop.refresh_token
    assert sync.client_for(shop).execute(SHOP_QUERY)["shop"]["name"] == store.name
    assert "RE-AUTHORIZATION REQUIRED" not in admin_client.get("/admin/commerce/shop/").content.decode()


def test_legacy_shops_nobody_opens_are_moved_by_the_command(app, sandbox):
    # given a legacy shop, and another whose legacy token Shopify has already revoked
    store = sandbox.add_shop(DOMAIN, seed=8, customers=10, orders=20)
    shop = legacy_shop(sandbox)
    legacy = shop.access_token
    sandbox.add_shop("revoked-store.myshopify.com", seed=1, customers=5, orders=5)
    revoked = commerce.shop_installed(platform=Platform.SHOPIFY, domain="revoked-store.myshopify.com",
                                      scopes=sandbox.default_scopes, access_token="shpat_" + "0" * 32)
    out = StringIO()
    # when the operator runs the migration
    call_command("shopify_tokens_migrate", stdout=out)
    # then the first shop has an expiring token (its legacy token is dead), the other needs the merchant
    shop.refresh_from_db()
    assert shop.access_token != legacy and shop.refresh_token and shop.access_token_expires_at is not None
    assert legacy not in store.tokens
    assert sync.client_for(shop).execute(SHOP_QUERY)["shop"]["name"] == store.name
    revoked.refresh_from_db()
    assert revoked.reauthorization_required and revoked.access_token_expires_at is None
    assert "1 moved, 1 not moved" in out.getvalue()
    # and a second run has nothing left to do
    call_command("shopify_tokens_migrate", stdout=(again := StringIO()))
    assert "0 moved, 0 not moved" in again.getvalue()


def test_the_periodic_reconciliation_moves_a_legacy_shop_to_an_expiring_token(app, sandbox):
    # given a legacy shop that nobody opens
    store = sandbox.add_shop(DOMAIN, seed=8, customers=10, orders=20)
    shop = legacy_shop(sandbox)
    legacy = shop.access_token
    # when the beat's reconciliation reaches it
    adapter_for(Platform.SHOPIFY).reconcile(shop=shop)
    # then it runs on an expiring token (the legacy one is gone) and the reconciliation still ran
    shop.refresh_from_db()
    assert shop.access_token != legacy and shop.refresh_token and shop.access_token_expires_at is not None
    assert legacy not in store.tokens
    assert SyncRun.objects.filter(shop=shop, kind="reconcile", status="completed").count() == 1


def test_a_failed_exchange_never_blocks_the_page_and_is_not_retried_on_every_request(app, sandbox):
    # given a legacy shop, and Shopify refusing the token exchange for now
    store = sandbox.add_shop(DOMAIN, seed=8, customers=10, orders=20)
    shop = legacy_shop(sandbox)
    legacy = shop.access_token
    sandbox.set_api_secret("a-secret-shopify-does-not-match-today")
    # when the merchant opens the app, twice
    assert open_embedded(app).status_code == 200
    sandbox.set_api_secret(django_settings.SHOPIFY_API_SECRET)
    assert open_embedded(app).status_code == 200
    # then the pages showed, the old token is still in use, and the second open did not ask again
    shop.refresh_from_db()
    assert shop.access_token == legacy and shop.access_token_expires_at is None
    assert sync.client_for(shop).execute(SHOP_QUERY)["shop"]["name"] == store.name
    # and once the pause is over, opening the app moves the shop
    cache.delete(f"shopify-token-exchange-paused:{DOMAIN}")
    assert open_embedded(app).status_code == 200
    shop.refresh_from_db()
    assert shop.access_token != legacy and shop.refresh_token

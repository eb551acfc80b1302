"""The client IP: X-Forwarded-For is believed only as far as our own proxies (TRUSTED_PROXIES) vouch
for it, walking from the right; a shopper's forged entries never become their address."""

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import RequestFactory

from loyalty.models import Referral
from loyalty.services.ledger import account_for_customer
from loyalty.services.program import program_enable
from retention_app.client_ip import client_ip
from tests.factories import CustomerFactory, ShopFactory

SECRET = "test-api-secret-with-at-least-32-bytes"  # the test settings' SHOPIFY_API_SECRET

LOAD_BALANCER = "10.0.0.5"


def _request(remote: str, forwarded: str | None = None) -> object:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_trusted_proxies_a_forged_header_changes_nothing(settings):
    # given no trusted proxies (the default)
    settings.TRUSTED_PROXIES = []
    # when a client sends its own X-Forwarded-For
    forged = _request("203.0.113.9", "1.2.3.4")
    # then the address it connected from is its address
    assert client_ip(forged) == "203.0.113.9"
    assert client_ip(_request("203.0.113.9", "1.2.3.4, 5.6.7.8")) == "203.0.113.9"
    assert client_ip(_request("203.0.113.9")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_entry_it_appended_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # the shopper forged "1.2.3.4"; the load balancer appended the address it saw
    assert client_ip(_request(LOAD_BALANCER, "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request(LOAD_BALANCER, "198.51.100.7")) == "198.51.100.7"


def test_every_trusted_hop_is_skipped_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "172.16.0.0/12"]
    # CDN 172.16.3.3 saw the client; the load balancer 10.0.0.5 saw the CDN
    request = _request(LOAD_BALANCER, "6.6.6.6, 198.51.100.7, 172.16.3.3")
    assert client_ip(request) == "198.51.100.7"


def test_a_request_not_from_a_trusted_proxy_keeps_its_own_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # a client reaching the app directly (not through the load balancer) forges a header
    assert client_ip(_request("203.0.113.9", "10.0.0.7, 1.2.3.4")) == "203.0.113.9"


@pytest.mark.parametrize("forwarded", ["", "unknown", "not-an-ip", " , ", "1.2.3.4.5", "é" * 50])
def test_only_junk_in_the_header_leaves_the_proxy_address(settings, forwarded):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request(LOAD_BALANCER, forwarded)) == LOAD_BALANCER


def test_invalid_entries_are_skipped(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request(LOAD_BALANCER, "198.51.100.7, unknown")) == "198.51.100.7"


def test_ports_brackets_ipv6_and_mapped_addresses(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]
    assert client_ip(_request(LOAD_BALANCER, "198.51.100.7:5123")) == "198.51.100.7"
    assert client_ip(_request(LOAD_BALANCER, "[2001:db8::1]:443")) == "2001:db8::1"
    assert client_ip(_request("fd00::1", "2001:DB8:0:0::2")) == "2001:db8::2"
    assert client_ip(_request(LOAD_BALANCER, "::ffff:198.51.100.7")) == "198.51.100.7"


def test_invalid_trusted_proxy_settings_are_ignored(settings):
    # a typo trusts less, never more
    settings.TRUSTED_PROXIES = ["10.0.0.0/33", "load-balancer", "", "10.0.0.5"]
    assert client_ip(_request(LOAD_BALANCER, "198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request("10.0.0.6", "198.51.100.7")) == "10.0.0.6"


def test_all_hops_trusted_gives_the_furthest_one(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request(LOAD_BALANCER, "10.1.1.1, 10.2.2.2")) == "10.1.1.1"


def test_no_remote_address_is_none(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("")) is None


# --- Shopify's app proxy: one more hop, believed because the request is signed -----------------

SHOPIFY_EGRESS = "192.0.2.10"  # the Shopify server that connected to us (or to our load balancer)


def test_a_signed_hop_believes_the_entry_the_platform_appended(settings):
    settings.TRUSTED_PROXIES = []
    # Shopify connected directly; it appended the shopper's address after the shopper's own forgery
    request = _request(SHOPIFY_EGRESS, "6.6.6.6, 203.0.113.5")
    assert client_ip(request, signed_hops=1) == "203.0.113.5"
    assert client_ip(request) == SHOPIFY_EGRESS


def test_a_signed_hop_behind_our_load_balancer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = _request(LOAD_BALANCER, f"6.6.6.6, 203.0.113.5, {SHOPIFY_EGRESS}")
    assert client_ip(request, signed_hops=1) == "203.0.113.5"
    assert client_ip(request) == SHOPIFY_EGRESS


def test_a_signed_hop_without_an_entry_stays_at_the_platform(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request(SHOPIFY_EGRESS), signed_hops=1) == SHOPIFY_EGRESS


# --- the referral IP rule reads the same address ------------------------------------------------


@pytest.fixture
def referrer(db: Any) -> tuple[Any, Any]:
    shop = ShopFactory(domain="forged-ip.myshopify.com")
    program_enable(shop=shop)
    found = CustomerFactory(shop=shop, platform_id="r1", email="dana@example.com")
    return shop, account_for_customer(shop=shop, customer=found)


def _claim(client: Any, shop: Any, code: str, email: str, **extra: Any) -> Any:
    params = {"shop": shop.domain, "logged_in_customer_id": "", "path_prefix": "/apps/comeback",
              "timestamp": str(int(time.time()))}
    message = "".join(f"{key}={value}" for key, value in sorted(params.items()))
    params["signature"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return client.post(f"/proxy/referrals?{urlencode(params)}", {"code": code, "email": email},
                       content_type="application/json", **extra)


def test_a_forged_header_does_not_change_the_referral_ip(client, referrer, settings):
    shop, account = referrer
    settings.TRUSTED_PROXIES = []
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:1"  # the store is away: the referral is kept without a code
    response = _claim(client, shop, account.referral_code, "friend@example.com", REMOTE_ADDR="203.0.113.9",
                      headers={"X-Forwarded-For": "6.6.6.6"})
    assert response.status_code == 201
    assert Referral.objects.get().ip == "203.0.113.9"


def test_behind_a_trusted_proxy_the_referral_ip_is_the_entry_it_appended(client, referrer, settings):
    shop, account = referrer
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:1"
    response = _claim(client, shop, account.referral_code, "friend@example.com", REMOTE_ADDR=LOAD_BALANCER,
                      headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
    assert response.status_code == 201
    assert Referral.objects.get().ip == "198.51.100.7"

"""Offline tokens as Shopify issues them: expiring with rotating refresh tokens, legacy ones refused
after the cutoff, token exchange; and the pinned version's bulk concurrency."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from integrations.shopify import queries
from sandbox.shopify import API_VERSION, ShopifySandbox
from sandbox.shopify.store import Shop

from .conftest import API_KEY, API_SECRET
from .test_oauth import authorize, callback_params

SHOP_QUERY = "{ shop { name } }"


def admin(shop: Shop, token: str, query: str = SHOP_QUERY, version: str = API_VERSION,
          variables: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(f"{shop.origin}/admin/api/{version}/graphql.json", timeout=5,
                         json={"query": query, "variables": variables or {}},
                         headers={"X-Shopify-Access-Token": token})


def token_endpoint(shop: Shop, **body: str) -> requests.Response:
    return requests.post(f"{shop.origin}/admin/oauth/access_token", timeout=10,
                         json={"client_id": API_KEY, "client_secret": API_SECRET, **body})


def refresh(shop: Shop, refresh_token: str) -> requests.Response:
    return token_endpoint(shop, grant_type="refresh_token", refresh_token=refresh_token)


def session_token(domain: str, *, secret: str = API_SECRET, aud: str = API_KEY, exp_in: int = 60) -> str:
    """An HS256 session token written out independently of the sandbox."""
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    signing = part({"alg": "HS256", "typ": "JWT"}) + "." + part({
        "iss": f"https://{domain}/admin", "dest": f"https://{domain}", "aud": aud, "sub": "42",
        "exp": now + exp_in, "nbf": now - 1, "iat": now, "jti": "j", "sid": "s"})
    signature = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def test_code_grant_with_expiring_gives_a_one_hour_token_and_a_refresh_token(shop: Shop) -> None:
    code = callback_params(authorize(shop))["code"]
    body = token_endpoint(shop, code=code, expiring="1").json()
    assert body["expires_in"] == 3600
    assert body["refresh_token"].startswith("shprt_") and body["refresh_token_expires_in"] > 3600
    assert body["scope"] == "read_orders,read_customers"
    assert admin(shop, body["access_token"]).status_code == 200


def test_code_grant_without_expiring_gives_a_non_expiring_token(shop: Shop) -> None:
    code = callback_params(authorize(shop))["code"]
    body = token_endpoint(shop, code=code).json()
    assert set(body) == {"access_token", "scope"}


def test_expired_access_token_gets_401_and_refresh_rotates(sandbox: ShopifySandbox, shop: Shop) -> None:
    sandbox.token_policy.access_token_lifetime = 1
    first = sandbox.grant(shop.domain)
    assert admin(shop, first["access_token"]).status_code == 200
    time.sleep(1.1)
    expired = admin(shop, first["access_token"])
    assert expired.status_code == 401 and "Invalid API key or access token" in expired.json()["errors"]

    second = refresh(shop, first["refresh_token"]).json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"] and second["expires_in"] == 1
    assert admin(shop, second["access_token"]).status_code == 200
    assert shop.token_refreshes == 1


def test_previous_refresh_token_stays_valid_until_the_new_one_is_used(shop: Shop, sandbox: ShopifySandbox) -> None:
    first = sandbox.grant(shop.domain)
    second = refresh(shop, first["refresh_token"]).json()
    # the answer was "lost": the app retries with the old refresh token, which still works
    retried = refresh(shop, first["refresh_token"])
    assert retried.status_code == 200
    # once a replacement is used, its predecessor is gone
    third = refresh(shop, retried.json()["refresh_token"])
    assert third.status_code == 200
    gone = refresh(shop, first["refresh_token"])
    assert gone.status_code == 400 and gone.json()["error"] == "invalid_grant"
    assert refresh(shop, "shprt_unknown").status_code == 400
    assert second["refresh_token"] in shop.refresh_tokens  # never used: not retired by anyone


def test_non_expiring_tokens_are_refused_after_the_cutoff(sandbox: ShopifySandbox, shop: Shop) -> None:
    legacy = sandbox.install(shop.domain, expiring=False)
    expiring = sandbox.grant(shop.domain)["access_token"]
    assert sandbox.token_policy.non_expiring_until == datetime(2027, 1, 1, tzinfo=UTC)  # Shopify's cutoff
    sandbox.token_policy.non_expiring_until = datetime.now(UTC) + timedelta(days=1)
    assert admin(shop, legacy).status_code == 200
    sandbox.token_policy.non_expiring_until = datetime.now(UTC) - timedelta(seconds=1)
    refused = admin(shop, legacy)
    assert refused.status_code == 401 and "expiring" in refused.json()["errors"]
    assert admin(shop, expiring).status_code == 200


def test_token_exchange_of_a_session_token_with_expiring(shop: Shop) -> None:
    exchange = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token"}
    body = token_endpoint(shop, subject_token=session_token(shop.domain), expiring="1", **exchange).json()
    assert body["expires_in"] == 3600 and body["refresh_token"]
    assert admin(shop, body["access_token"]).status_code == 200
    legacy = token_endpoint(shop, subject_token=session_token(shop.domain), **exchange).json()
    assert "refresh_token" not in legacy

    for bad in (session_token(shop.domain, secret="wrong"), session_token("other.myshopify.com"),
                session_token(shop.domain, aud="other-app"), session_token(shop.domain, exp_in=-60), "x.y"):
        refused = token_endpoint(shop, subject_token=bad, expiring="1", **exchange)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_subject_token", bad


def test_a_legacy_token_is_migrated_without_a_user_session(sandbox: ShopifySandbox, shop: Shop) -> None:
    legacy = sandbox.install(shop.domain, expiring=False)
    body = token_endpoint(shop, grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
                          subject_token=legacy, expiring="1",
                          subject_token_type="urn:shopify:params:oauth:token-type:offline-access-token",
                          requested_token_type="urn:shopify:params:oauth:token-type:offline-access-token").json()
    assert body["refresh_token"] and admin(shop, body["access_token"]).status_code == 200
    assert admin(shop, legacy).status_code == 401


def test_five_bulk_queries_at_once_from_2026_01_one_before(shop: Shop, token: str, sandbox: ShopifySandbox) -> None:
    sandbox.bulk.min_duration = 2.0

    def start(version: str) -> dict[str, Any]:
        response = admin(shop, token, queries.BULK_RUN_MUTATION, version, {"query": queries.BULK_PRODUCTS})
        return response.json()["data"]["bulkOperationRunQuery"]  # type: ignore[no-any-return]

    assert start(API_VERSION)["userErrors"] == []
    assert start(API_VERSION)["userErrors"] == []
    refused = start("2025-10")
    assert refused["bulkOperation"] is None and "already in progress" in refused["userErrors"][0]["message"]

"""Forged, replayed and malformed signatures: app proxy, session tokens, webhook HMAC.

Every refusal is a 401 and nothing is stored or spent.  Signatures are built here the way
Shopify builds them, independently of the code under test; each refusal sits next to the same
request done right, which is accepted (so the test can fail).
"""

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
import requests

from commerce.models import Customer, Shop
from integrations.models import WebhookDelivery
from integrations.shopify.version import API_VERSION
from loyalty.models import LedgerEntry, Redemption, Reward
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.program import program_enable
from segments.models import Segment
from tests.e2e.conftest import app, install, sandbox  # noqa: F401 (fixtures: the sandbox over real HTTP)
from tests.factories import ShopFactory
from tests.integrations.helpers import fixture
from tests.loyalty.helpers import customer

SECRET = "test-api-secret-with-at-least-32-bytes"
API_KEY = "test-api-key"
OLD_2016 = 1457000000  # 2016-03-03: the replayed redeem


def proxy_query(shop: str, customer_id: str, *, timestamp: Any = None, secret: str = SECRET,
                pairs: list[tuple[str, str]] | None = None) -> str:
    """Signed as Shopify's app proxy signs: sorted ``key=value`` (repeated keys' values joined by
    ``,``), no separator, hex HMAC-SHA256."""
    pairs = pairs if pairs is not None else [
        ("shop", shop), ("logged_in_customer_id", customer_id), ("path_prefix", "/apps/comeback"),
        ("timestamp", str(int(time.time()) if timestamp is None else timestamp)),
    ]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    message = "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()))
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode([*pairs, ("signature", signature)])


# --- app proxy (Django test client) --------------------------------------------------------------


@pytest.fixture
def member(db) -> tuple[Shop, Any]:
    shop = ShopFactory(domain="guarded.myshopify.com")
    program_enable(shop=shop)
    customer(shop, "c1", "dana@example.com")
    customer(shop, "c2", "eve@example.com")
    account = account_for_customer(shop=shop, customer=Customer.objects.get(shop=shop, platform_id="c1"))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="gift")
    return shop, account


def _redeem(client: Any, shop: Shop, query: str) -> Any:
    reward = Reward.objects.filter(shop=shop).order_by("points_cost").first()
    return client.post(f"/proxy/loyalty/redeem?{query}", {"reward_id": reward.pk}, content_type="application/json")


def _nothing_spent(account: Any, entries: int) -> bool:
    return (LedgerEntry.objects.filter(account=account).count() == entries and not Redemption.objects.exists()
            and account_balance(account=account).available == 300)


def test_a_fresh_signature_is_accepted(client, member):
    shop, _ = member
    state = client.get(f"/proxy/loyalty?{proxy_query(shop.domain, 'c1')}")
    assert state.status_code == 200
    assert state.json()["balance"]["available"] == 300


@pytest.mark.parametrize("timestamp", [OLD_2016, "now-400", "now+400", "abc", "", "-5", "1e9", "١٤٥٧٠٠٠٠٠٠",
                                       "9" * 40])
def test_replayed_future_or_non_numeric_timestamps_get_401_and_spend_nothing(client, member, timestamp):
    shop, account = member
    if isinstance(timestamp, str) and timestamp.startswith("now"):
        timestamp = int(time.time()) + int(timestamp[3:])
    entries = LedgerEntry.objects.filter(account=account).count()
    query = proxy_query(shop.domain, "c1", timestamp=timestamp)
    assert client.get(f"/proxy/loyalty?{query}").status_code == 401
    response = _redeem(client, shop, query)
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert _nothing_spent(account, entries)


def test_the_window_is_a_setting(client, member, settings):
    shop, _ = member
    query = proxy_query(shop.domain, "c1", timestamp=int(time.time()) - 120)
    assert client.get(f"/proxy/loyalty?{query}").status_code == 200
    settings.SHOPIFY_PROXY_MAX_AGE_SECONDS = 60
    assert client.get(f"/proxy/loyalty?{query}").status_code == 401


@pytest.mark.parametrize("repeated", ["logged_in_customer_id", "shop", "timestamp", "path_prefix"])
def test_a_repeated_proxy_parameter_gets_401_even_when_signed(client, member, repeated):
    """A shopper's own ``?logged_in_customer_id=c2`` comes before Shopify's, and both are signed."""
    shop, account = member
    entries = LedgerEntry.objects.filter(account=account).count()
    now = str(int(time.time()))
    values = {"shop": shop.domain, "logged_in_customer_id": "c1", "path_prefix": "/apps/comeback", "timestamp": now}
    pairs = [(repeated, values[repeated] if repeated != "logged_in_customer_id" else "c2"), *values.items()]
    query = proxy_query(shop.domain, "c1", pairs=pairs)
    assert client.get(f"/proxy/loyalty?{query}").status_code == 401
    assert _redeem(client, shop, query).status_code == 401
    assert _nothing_spent(account, entries)


def test_a_shoppers_own_repeated_parameter_is_still_fine(client, member):
    shop, _ = member
    pairs = [("tag", "a"), ("tag", "b"), ("shop", shop.domain), ("logged_in_customer_id", "c1"),
             ("path_prefix", "/apps/comeback"), ("timestamp", str(int(time.time())))]
    assert client.get(f"/proxy/loyalty?{proxy_query(shop.domain, 'c1', pairs=pairs)}").status_code == 200


@pytest.mark.parametrize("signature", ["", "0" * 64, "é" * 64, "zz", "A" * 10_000])
def test_forged_or_malformed_proxy_signatures_get_401(client, member, signature):
    shop, account = member
    entries = LedgerEntry.objects.filter(account=account).count()
    query = urlencode({"shop": shop.domain, "logged_in_customer_id": "c1", "path_prefix": "/apps/comeback",
                       "timestamp": str(int(time.time())), "signature": signature})
    assert client.get(f"/proxy/loyalty?{query}").status_code == 401
    assert _redeem(client, shop, query).status_code == 401
    forged = proxy_query(shop.domain, "c1", secret="not-the-app-secret-but-just-as-long-as-it")
    assert _redeem(client, shop, forged).status_code == 401
    assert _nothing_spent(account, entries)


# --- session tokens -----------------------------------------------------------------------------


def token(shop: str, *, drop: tuple[str, ...] = (), secret: str = SECRET, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": API_KEY, "sub": "42",
               "exp": now + 60, "nbf": now, "iat": now, "jti": str(uuid.uuid4()), "sid": "s1"}
    payload.update(claims)
    for claim in drop:
        payload.pop(claim)
    return hs256(payload, secret)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256(payload: dict[str, Any], secret: str) -> str:
    """Encoded by hand (PyJWT will not even encode some of the mistyped claims)."""
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.fixture
def admin_shop(db) -> Shop:
    return ShopFactory(domain="guarded.myshopify.com")


def test_a_complete_session_token_is_accepted(client, admin_shop):
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {token(admin_shop.domain)}"})
    assert response.status_code == 200
    assert response.json()["domain"] == admin_shop.domain


BAD_TOKENS: dict[str, dict[str, Any]] = {
    **{f"no {claim}": {"drop": (claim,)} for claim in ("exp", "nbf", "iat", "aud", "dest", "iss")},
    "dest a number": {"dest": 12345},
    "dest a list": {"dest": ["https://guarded.myshopify.com"]},
    "dest null": {"dest": None},
    "iss a number": {"iss": 7},
    "dest over http": {"dest": "http://guarded.myshopify.com"},
    "dest not a shop": {"dest": "https://evil.example.com", "iss": "https://evil.example.com/admin"},
    "dest another shop than iss": {"iss": "https://rival.myshopify.com/admin"},
    "exp a string": {"exp": "tomorrow"},
    "nbf a string": {"nbf": "now"},
    "iat a string": {"iat": "now"},
    "expired": {"exp": int(time.time()) - 120},
    "not yet valid": {"nbf": int(time.time()) + 600},
    "issued in the future": {"iat": int(time.time()) + 600},
    "another app": {"aud": "someone-elses-key"},
    "wrong secret": {"secret": "not-the-app-secret-but-just-as-long-as-it"},
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_incomplete_or_mistyped_session_tokens_get_401_and_store_nothing(client, admin_shop, case):
    claims = dict(BAD_TOKENS[case])
    if case in ("expired", "not yet valid", "issued in the future"):  # relative to when the test runs
        key = {"expired": "exp", "not yet valid": "nbf", "issued in the future": "iat"}[case]
        claims[key] = int(time.time()) + (-120 if case == "expired" else 600)
    headers = {"Authorization": f"Bearer {token(admin_shop.domain, **claims)}"}
    assert client.get("/api/shop", headers=headers).status_code == 401
    segments = Segment.objects.count()
    response = client.post("/api/segments", {"name": "Big spenders", "rules": {"all": []}},
                           content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert Segment.objects.count() == segments


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Bearer not.a.jwt", "Bearer é.é.é", "Basic abc",
                                           "Bearer " + "A" * 5000])
def test_malformed_authorization_headers_get_401(client, admin_shop, authorization):
    assert client.get("/api/shop", headers={"Authorization": authorization}).status_code == 401


def test_unsigned_session_token_gets_401(client, admin_shop):
    now = int(time.time())
    unsigned = jwt.encode({"iss": f"https://{admin_shop.domain}/admin", "dest": f"https://{admin_shop.domain}",
                           "aud": API_KEY, "exp": now + 60, "nbf": now, "iat": now}, key=None, algorithm="none")
    assert client.get("/api/shop", headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401


# --- webhook HMAC header --------------------------------------------------------------------------


def post_webhook(client: Any, body: bytes, signature: str, domain: str) -> Any:
    return client.post("/webhooks/shopify", data=body, content_type="application/json", headers={
        "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": domain, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Triggered-At": "2026-01-10T15:15:00Z",
        "X-Shopify-API-Version": API_VERSION,
    })


def _sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_a_signed_webhook_is_stored(client, admin_shop):
    body = json.dumps(fixture("shopify_order.json")).encode()
    assert post_webhook(client, body, _sign(body), admin_shop.domain).status_code == 200
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("signature", [
    "", "é" * 44, "ünïcödé", "not base64 at all!", "@@@@", base64.b64encode(b"x" * 31).decode(),
    base64.b64encode(b"x" * 33).decode(), base64.b64encode(b"x" * 32).decode(), "A" * 10_000,
    "wrong-secret",
])
def test_forged_or_malformed_webhook_signatures_get_401_and_store_nothing(client, admin_shop, signature):
    body = json.dumps(fixture("shopify_order.json")).encode()
    if signature == "wrong-secret":
        signature = _sign(body, "not-the-app-secret-but-just-as-long-as-it")
    response = post_webhook(client, body, signature, admin_shop.domain)
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


# --- the case, end to end: a signed redeem from 2016 over the sandbox ---------------------

DOMAIN = "replayed.myshopify.com"


@pytest.mark.django_db(transaction=True)
def test_a_redeem_signed_in_2016_is_refused_and_the_same_one_signed_now_works(app, sandbox):  # noqa: F811
    store = sandbox.add_shop(DOMAIN, seed=12, customers=10, orders=10)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    shopper = Customer.objects.filter(shop=shop).exclude(email="").first()
    account = account_for_customer(shop=shop, customer=shopper)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="gift")
    reward = Reward.objects.create(shop=shop, name="Fifteen", kind="fixed_amount", points_cost=150, value=15)
    codes = len(store.discount_codes)
    entries = LedgerEntry.objects.filter(account=account).count()

    replayed = proxy_query(DOMAIN, shopper.platform_id, timestamp=OLD_2016)
    response = requests.post(f"{app.url}/proxy/loyalty/redeem?{replayed}", json={"reward_id": reward.pk}, timeout=30)
    assert response.status_code == 401, response.text
    assert account_balance(account=account).available == 300
    assert LedgerEntry.objects.filter(account=account).count() == entries
    assert not Redemption.objects.exists()
    assert len(store.discount_codes) == codes

    fresh = proxy_query(DOMAIN, shopper.platform_id)
    response = requests.post(f"{app.url}/proxy/loyalty/redeem?{fresh}", json={"reward_id": reward.pk}, timeout=30)
    assert response.status_code == 201, response.text
    assert account_balance(account=account).available == 150
    assert len(store.discount_codes) == codes + 1

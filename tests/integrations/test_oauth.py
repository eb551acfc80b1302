"""Install and session-token checks that fail before any network call."""

import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from django.test import override_settings

from commerce.models import Shop
from integrations.models import OAuthState
from integrations.shopify.domains import shop_domain_clean
from retention_app.errors import ApplicationError
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def signed(params: dict[str, str], secret: str = "test-api-secret-with-at-least-32-bytes") -> dict[str, str]:
    """Sign like Shopify does, written out independently of the code under test."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "hmac": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()}


@pytest.mark.parametrize("raw, expected", [
    ("demo-store.myshopify.com", "demo-store.myshopify.com"),
    ("https://Demo-Store.myshopify.com/", "demo-store.myshopify.com"),
    ("admin.shopify.com/store/demo-store", "demo-store.myshopify.com"),
])
def test_valid_shop_domains_are_normalised(raw, expected):
    assert shop_domain_clean(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "evil.com", "demo.myshopify.com.evil.com", "127.0.0.1:9000", "demo.myshopify.com/../x",
    "demo_store.myshopify.com", "-demo.myshopify.com", "demo.myshopify.com@evil.com",
])
def test_bad_shop_domains_are_refused(raw):
    with pytest.raises(ApplicationError):
        shop_domain_clean(raw)


def test_install_redirects_to_authorize_with_a_single_use_state(client):
    response = client.get("/shopify/install", {"shop": "demo-store.myshopify.com"})
    assert response.status_code == 302
    url = urlparse(response["Location"])
    query = parse_qs(url.query)
    assert url.path.endswith("/admin/oauth/authorize")
    assert "demo-store.myshopify.com" in response["Location"]
    assert query["client_id"] == ["test-api-key"]
    assert "read_orders" in query["scope"][0]
    assert query["redirect_uri"][0].endswith("/shopify/callback")
    assert OAuthState.objects.get().state == query["state"][0]


def test_install_with_bad_shop_domain_is_refused_without_writing(client):
    response = client.get("/shopify/install", {"shop": "attacker.example.com"})
    assert response.status_code == 400
    assert OAuthState.objects.count() == 0


def _callback_params(state: str, **overrides: str) -> dict[str, str]:
    params = {
        "code": "abc123",
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtby1zdG9yZQ",
        "shop": "demo-store.myshopify.com",
        "state": state,
        "timestamp": str(int(time.time())),
    }
    params.update(overrides)
    return params


@pytest.fixture
def state():
    return OAuthState.objects.create(shop_domain="demo-store.myshopify.com", state="s" * 40)


def test_callback_with_forged_hmac_is_refused(client, state):
    params = signed(_callback_params(state.state), secret="wrong-secret-that-is-also-32-bytes-long")
    response = client.get("/shopify/callback", params)
    assert response.status_code == 401
    assert Shop.objects.count() == 0
    state.refresh_from_db()
    assert state.used_at is None


def test_callback_with_tampered_parameter_is_refused(client, state):
    params = signed(_callback_params(state.state))
    params["code"] = "another"
    assert client.get("/shopify/callback", params).status_code == 401
    assert Shop.objects.count() == 0


def test_callback_with_old_timestamp_is_refused(client, state):
    params = signed(_callback_params(state.state, timestamp=str(int(time.time()) - 600)))
    assert client.get("/shopify/callback", params).status_code == 400
    assert Shop.objects.count() == 0


def test_callback_with_unknown_state_is_refused(client, state):
    params = signed(_callback_params("unknown-state"))
    assert client.get("/shopify/callback", params).status_code == 403
    assert Shop.objects.count() == 0


def test_callback_for_another_shop_than_the_state_is_refused(client, state):
    params = signed(_callback_params(state.state, shop="other-store.myshopify.com"))
    assert client.get("/shopify/callback", params).status_code == 403


def test_callback_with_bad_shop_domain_is_refused(client, state):
    params = signed(_callback_params(state.state, shop="evil.example.com"))
    assert client.get("/shopify/callback", params).status_code == 400
    assert Shop.objects.count() == 0


def test_callback_with_used_state_is_refused(client, state):
    state.used_at = state.created_at
    state.save()
    params = signed(_callback_params(state.state))
    assert client.get("/shopify/callback", params).status_code == 403


# --- session tokens (embedded admin) ---------------------------------------------------------

def session_token(shop: str, *, secret: str = "test-api-secret-with-at-least-32-bytes", aud: str = "test-api-key",
                  exp_in: int = 60, nbf_in: int = 0, dest: str | None = None) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "iss": f"https://{shop}/admin", "dest": dest or f"https://{shop}", "aud": aud,
            "sub": "42", "exp": now + exp_in, "nbf": now + nbf_in, "iat": now, "jti": "j", "sid": "s",
        },
        secret,
        algorithm="HS256",
    )


@pytest.fixture
def two_shops():
    return ShopFactory(domain="alpha.myshopify.com"), ShopFactory(domain="beta.myshopify.com")


def test_session_token_selects_the_shop(client, two_shops):
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {session_token('beta.myshopify.com')}"})
    assert response.status_code == 200
    assert response.json()["domain"] == "beta.myshopify.com"


@pytest.mark.parametrize("kwargs", [
    {"secret": "wrong-secret-that-is-also-32-bytes-long"},
    {"aud": "another-app"},
    {"exp_in": -120},
    {"nbf_in": 120},
    {"dest": "https://beta.myshopify.com"},
])
def test_bad_session_tokens_are_refused(client, two_shops, kwargs):
    token = session_token("alpha.myshopify.com", **kwargs)
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_no_session_token_is_refused(client, two_shops):
    assert client.get("/api/shop").status_code in (401, 403)


@override_settings(
    SHOPIFY_API_SECRET="rotated-secret-that-is-also-32-bytes-long",
    SHOPIFY_API_SECRET_PREVIOUS="test-api-secret-with-at-least-32-bytes",
)
def test_session_token_signed_with_previous_secret_is_accepted_during_rotation(client, two_shops):
    token = session_token("alpha.myshopify.com")
    assert client.get("/api/shop", headers={"Authorization": f"Bearer {token}"}).status_code == 200

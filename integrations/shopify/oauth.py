"""Shopify OAuth install (authorization-code grant, expiring offline token) and session tokens."""

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urljoin

import jwt
import shopify
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from commerce import services as commerce
from commerce.models import Platform, Shop
from integrations.models import OAuthState
from integrations.shopify import tokens
from integrations.shopify.app_proxy import hex_digest_equal
from integrations.shopify.client import ShopifyError
from integrations.shopify.domains import shop_domain_clean, shop_origin
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)

STATE_MAX_AGE = timedelta(minutes=10)
TOKEN_EXCHANGE_RETRY = timedelta(minutes=2)


def install_url(*, shop_domain: str) -> str:
    """The authorize URL for a shop, with a fresh single-use ``state``."""
    domain = shop_domain_clean(shop_domain)
    state = OAuthState.objects.create(shop_domain=domain, state=secrets.token_urlsafe(32))
    query = urlencode(
        {
            "client_id": settings.SHOPIFY_API_KEY,
            "scope": ",".join(settings.SHOPIFY_SCOPES),
            "redirect_uri": f"{settings.APP_URL}/shopify/callback",
            "state": state.state,
        }
    )
    return f"{shop_origin(domain)}/admin/oauth/authorize?{query}"


def query_hmac_valid(params: Mapping[str, str]) -> bool:
    """Hex HMAC-SHA256 over the sorted parameters (Shopify's escaping, via the official client),
    checked against the current secret and, during a rotation, the previous one."""
    received = str(params.get("hmac", ""))
    if not received:
        return False
    valid = False
    for secret in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS):
        if secret:
            signer: Any = type("SignedSession", (shopify.Session,), {"secret": secret})
            valid |= hex_digest_equal(signer.calculate_hmac(dict(params)), received)
    return valid


def callback_verify(params: Mapping[str, str]) -> str:
    """Check everything about the callback that needs no network; return the shop domain.

    Raises ``ApplicationError`` (4xx) and writes nothing when any check fails.
    """
    domain = shop_domain_clean(params.get("shop"))
    if not query_hmac_valid(params):
        raise ApplicationError("invalid hmac", status=401)
    try:
        timestamp = int(params.get("timestamp", ""))
    except ValueError as error:
        raise ApplicationError("invalid timestamp", status=400) from error
    if abs(time.time() - timestamp) > settings.SHOPIFY_OAUTH_MAX_AGE_SECONDS:
        raise ApplicationError("the request is too old (or from the future)", status=400)
    if not params.get("code"):
        raise ApplicationError("code is missing", status=400)
    state = OAuthState.objects.filter(state=params.get("state", ""), used_at__isnull=True).first()
    if state is None or state.shop_domain != domain or state.created_at < timezone.now() - STATE_MAX_AGE:
        raise ApplicationError("unknown, used or expired state", status=403)
    return domain


def _code_grant(*, domain: str, code: str) -> tokens.TokenGrant:
    try:
        return tokens.code_grant(domain=domain, code=code)
    except tokens.TokenRefused as error:
        raise ApplicationError(f"the shop refused the code ({error.error or error})", status=400) from error
    except ShopifyError as error:
        raise ApplicationError(f"could not get a token from the shop: {error}", status=502) from error


def callback_complete(*, params: Mapping[str, str]) -> Shop:
    """Verify the callback, exchange the code, store the shop; post-install work after commit."""
    domain = callback_verify(params)
    with transaction.atomic():
        # Consume the state first (single use) so a replayed callback fails even mid-exchange.
        consumed = OAuthState.objects.filter(state=params["state"], used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not consumed:
            raise ApplicationError("unknown, used or expired state", status=403)
    return shop_install(domain=domain, grant=_code_grant(domain=domain, code=params["code"]))


def shop_install(*, domain: str, grant: tokens.TokenGrant) -> Shop:
    """The one install (OAuth callback and managed install alike): store the shop and its token
    (a reinstall reactivates it), then, after commit, sync its details, register the webhooks and
    start the history sync."""
    shop = commerce.shop_installed(
        platform=Platform.SHOPIFY, domain=domain, access_token=grant.access_token, scopes=grant.scopes,
        access_token_expires_at=grant.expires_at, refresh_token=grant.refresh_token,
        refresh_token_expires_at=grant.refresh_token_expires_at,
    )

    def after_install() -> None:
        from integrations.tasks import shop_after_install

        shop_after_install.delay(shop.pk)

    transaction.on_commit(after_install)
    return shop


def shop_install_by_token_exchange(*, domain: str, session_token: str) -> Shop:
    """Shopify's managed install: the app was installed from its ``shopify.app.toml`` scopes and
    opened in the admin with a session token; trade that (verified) token for an expiring offline
    token and install the shop.  A refusal is a 401 (nothing is stored), an unreachable Shopify a 502."""
    try:
        grant = tokens.session_token_grant(domain=domain, session_token=session_token)
    except tokens.TokenRefused as error:
        raise ApplicationError(f"the shop refused the session token ({error.error or error})", status=401,
                               code="unauthorized") from error
    except ShopifyError as error:
        raise ApplicationError(f"could not get a token from the shop: {error}", status=502,
                               code="platform_unavailable") from error
    logger.info("%s installed the app (managed install, token exchange)", domain)
    return shop_install(domain=domain, grant=grant)


#: Claims every Shopify session token carries; a token without any of them is refused.
SESSION_TOKEN_CLAIMS = ("exp", "nbf", "iat", "aud", "iss", "dest")


def _session_token_payload(token: str, secret: str) -> dict[str, Any]:
    """Decode and check one session token against one secret; ``jwt.PyJWTError`` or
    ``ValueError`` when anything is missing, wrongly typed or wrong."""
    payload: dict[str, Any] = jwt.decode(
        token, secret, algorithms=["HS256"], audience=settings.SHOPIFY_API_KEY,
        leeway=settings.SHOPIFY_SESSION_TOKEN_LEEWAY_SECONDS,
        options={"require": list(SESSION_TOKEN_CLAIMS), "verify_signature": True, "verify_exp": True,
                 "verify_nbf": True, "verify_iat": True, "verify_aud": True},
    )
    dest, issuer, sub = payload["dest"], payload["iss"], payload.get("sub", "")
    if not isinstance(dest, str) or not isinstance(issuer, str) or not isinstance(sub, str | int):
        raise ValueError("dest and iss must be strings (and sub a string or a number)")
    if not dest.startswith("https://"):
        raise ValueError("dest must be https://<shop>.myshopify.com")
    domain = shop_domain_clean(dest.removeprefix("https://"))
    if dest != f"https://{domain}" or urljoin(issuer, "/") != f"https://{domain}/":
        raise ValueError("iss and dest must be the same shop")
    return payload


@dataclass(frozen=True)
class SessionToken:
    """A verified session token: the shop it was issued in, the staff user, and the token itself."""

    domain: str
    user_id: str
    token: str


def session_token_verify(authorization: str) -> SessionToken:
    """Check a ``Bearer`` session token without touching the database.

    Checks the HS256 signature (current secret, or the previous one during a rotation), that
    ``exp``, ``nbf``, ``iat``, ``aud``, ``iss`` and ``dest`` are all present and well typed,
    ``aud`` is our API key, the times hold with a few seconds of leeway, and ``iss`` and ``dest``
    are the same ``https://<shop>.myshopify.com``.  Any failure is a 401, never a 500.
    """
    prefix, _, token = (authorization or "").strip().partition(" ")
    if prefix != "Bearer" or not token.strip():
        raise ApplicationError("invalid session token: no Bearer token", status=401)
    token = token.strip()
    payload: dict[str, Any] | None = None
    last_error: Exception | None = None
    for secret in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS):
        if not secret:
            continue
        try:
            payload = _session_token_payload(token, secret)
            break
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            last_error = error
        except ApplicationError as error:
            last_error = ValueError(error.message)
    if payload is None:
        raise ApplicationError(f"invalid session token: {last_error}", status=401)
    domain = shop_domain_clean(str(payload["dest"]).removeprefix("https://"))
    return SessionToken(domain=domain, user_id=str(payload.get("sub") or ""), token=token)


def session_token_shop(authorization: str) -> tuple[Shop, str]:
    """The shop (and the staff user, ``sub``) an embedded-admin request is for, from its
    verified session token only (``session_token_verify``).

    A shop that has not installed the app (or uninstalled it) and opens it from the admin is
    installed here by token exchange (Shopify's managed install); an installed shop on a legacy
    or refused token trades it for an expiring one.
    """
    verified = session_token_verify(authorization)
    shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=verified.domain, status="installed").first()
    if shop is None:
        shop = shop_install_by_token_exchange(domain=verified.domain, session_token=verified.token)
    elif tokens.token_exchange_due(shop=shop):
        _token_exchange_on_open(shop=shop, session_token=verified.token)
    return shop, verified.user_id


def _token_exchange_on_open(*, shop: Shop, session_token: str) -> None:
    """The merchant opened the app with a legacy (or refused) token: trade the verified session
    token for an expiring offline token.  A failure never blocks the page: the old token stays in
    use (and a refused one keeps the shop's re-authorization state); the next try waits
    ``TOKEN_EXCHANGE_RETRY`` so a Shopify outage does not slow every page and API call."""
    pause_key = f"shopify-token-exchange-paused:{shop.domain}"
    if cache.get(pause_key):
        return
    try:
        tokens.shop_token_exchange(shop=shop, session_token=session_token)
    except ShopifyError as error:
        cache.set(pause_key, True, TOKEN_EXCHANGE_RETRY.total_seconds())
        logger.warning("token exchange for %s failed: %s", shop.domain, error)

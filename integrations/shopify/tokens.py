"""Shopify offline access tokens: getting them, keeping them fresh, and the one way to use them.

Shopify's public apps must use expiring offline tokens from 2027-01-01: an access token lives one
hour and comes with a refresh token; every refresh returns a new access token AND a new refresh
token (the previous refresh token stays valid until the new one is used).  So:

* every token request asks for ``expiring=1`` (code grant at install, token exchange when the
  merchant opens the embedded app);
* every Admin API caller gets its token from ``access_token_current`` (through ``ShopCredentials``,
  which ``sync.client_for`` gives every client): it refreshes a few minutes before expiry, and the
  client asks ``access_token_rejected`` once when the API answers 401;
* a refresh runs under the shop's row lock (``lock_objects.shop_lock``): a second worker
  waits, re-reads the row and uses the token the first one stored; the rotated refresh token is
  saved in the same transaction as the access token;
* a shop still on a legacy non-expiring token keeps using it until the merchant next opens the
  app, where ``shop_token_exchange`` swaps it for an expiring one (``manage.py
  shopify_tokens_migrate`` does it without the merchant, for shops nobody opens before the
  cutoff); if Shopify refuses a token we cannot renew ourselves, the shop is marked
  ``reauthorization_required_at`` (shown in the dashboard and the Django admin) until a new token
  arrives.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commerce.models import Shop
from integrations.lock_objects import shop_lock
from integrations.shopify.client import ShopifyError, ShopifyTransientError
from integrations.shopify.domains import shop_origin

logger = logging.getLogger(__name__)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_ACCESS_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"


class TokenRefused(ShopifyError):
    """The token endpoint said no (bad code, revoked or replaced refresh token, bad session token)."""

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint gave: an offline token, expiring when ``expires_at`` is set."""

    access_token: str
    scopes: str
    expires_at: datetime | None = None
    refresh_token: str = ""
    refresh_token_expires_at: datetime | None = None

    @classmethod
    def from_response(cls, body: dict[str, Any], *, received_at: datetime) -> "TokenGrant":
        def after(seconds: Any) -> datetime | None:
            return received_at + timedelta(seconds=float(seconds)) if seconds not in (None, "") else None

        return cls(
            access_token=str(body.get("access_token") or ""),
            scopes=str(body.get("scope") or ""),
            expires_at=after(body.get("expires_in")),
            refresh_token=str(body.get("refresh_token") or ""),
            refresh_token_expires_at=after(body.get("refresh_token_expires_in")),
        )

    def shop_fields(self) -> dict[str, Any]:
        """The ``Shop`` columns this grant sets (a new grant also ends any re-authorization need)."""
        return {
            "access_token": self.access_token,
            "access_token_expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "refresh_token_expires_at": self.refresh_token_expires_at,
            "reauthorization_required_at": None,
        }


# --- the token endpoint ----------------------------------------------------------------------

def _token_request(*, domain: str, body: dict[str, str]) -> TokenGrant:
    """POST to ``/admin/oauth/access_token``: a grant, ``TokenRefused`` (4xx) or a transient error."""
    payload = {"client_id": settings.SHOPIFY_API_KEY, "client_secret": settings.SHOPIFY_API_SECRET, **body}
    sent_at = timezone.now()  # expiry counts from the request: never later than Shopify's
    try:
        response = requests.post(f"{shop_origin(domain)}/admin/oauth/access_token", json=payload,
                                 headers={"Accept": "application/json"}, timeout=settings.SHOPIFY_HTTP_TIMEOUT)
    except requests.RequestException as error:
        raise ShopifyTransientError(f"could not reach {domain}: {error}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise ShopifyTransientError(f"token endpoint answered {response.status_code}", wait_seconds=1.0)
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200:
        code = str(answer.get("error") or "")
        description = str(answer.get("error_description") or response.text[:200])
        raise TokenRefused(f"{domain} refused the token request ({response.status_code} {code}: {description})",
                           error=code)
    grant = TokenGrant.from_response(answer, received_at=sent_at)
    if not grant.access_token:
        raise ShopifyError(f"{domain} returned no access token")
    return grant


def code_grant(*, domain: str, code: str) -> TokenGrant:
    """Trade an install's authorization code for an expiring offline token."""
    return _token_request(domain=domain, body={"code": code, "expiring": "1"})


def session_token_grant(*, domain: str, session_token: str) -> TokenGrant:
    """Token exchange: the embedded app's session token (``id_token``) for an expiring offline token."""
    return _token_request(domain=domain, body={
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": session_token,
        "subject_token_type": ID_TOKEN,
        "requested_token_type": OFFLINE_ACCESS_TOKEN,
        "expiring": "1",
    })


def refresh_grant(*, domain: str, refresh_token: str) -> TokenGrant:
    return _token_request(domain=domain, body={"grant_type": "refresh_token", "refresh_token": refresh_token})


# --- keeping a shop's token fresh ------------------------------------------------------------

def _expiring_soon(shop: Shop, *, now: datetime) -> bool:
    expires_at = shop.access_token_expires_at
    margin = timedelta(seconds=settings.SHOPIFY_TOKEN_REFRESH_MARGIN_SECONDS)
    return expires_at is not None and expires_at - margin <= now


def _adopt(shop: Shop, stored: Shop) -> None:
    """Copy the stored credentials onto the caller's (possibly stale) instance."""
    for name in ("access_token", "access_token_expires_at", "refresh_token", "refresh_token_expires_at",
                 "reauthorization_required_at", "status"):
        setattr(shop, name, getattr(stored, name))


def _save(shop: Shop, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(shop, name, value)
    shop.save(update_fields=[*fields, "updated_at"])


def shop_reauthorization_required(*, shop: Shop, reason: str) -> None:
    """Shopify refused a token we cannot renew ourselves: the merchant must open the app again."""
    logger.warning("shop %s needs re-authorization: %s", shop.domain, reason)
    updated = Shop.objects.filter(pk=shop.pk, reauthorization_required_at__isnull=True).update(
        reauthorization_required_at=timezone.now(), updated_at=timezone.now())
    if updated:
        shop.refresh_from_db(fields=["reauthorization_required_at", "updated_at"])


def _renew(shop: Shop, *, stale_token: str, rejected: bool) -> str | None:
    """Under the shop's row lock: use a token another worker stored meanwhile, else refresh.

    ``rejected``: the platform answered 401 to ``stale_token`` (otherwise it is merely about to
    expire).  Returns the token to use, or None when there is none (re-authorization needed).
    """
    now = timezone.now()
    with transaction.atomic():
        stored = shop_lock(shop_id=shop.pk)
        if stored.access_token and stored.access_token != stale_token and (
                rejected or not _expiring_soon(stored, now=now)):
            _adopt(shop, stored)  # someone refreshed (or re-installed) while we waited
            return stored.access_token
        if not stored.refresh_token:
            _adopt(shop, stored)
            if not rejected:
                return stored.access_token or None
            legacy = stored.access_token_expires_at is None
            reason = "401 for a non-expiring token" if legacy else "401 and no refresh token"
            shop_reauthorization_required(shop=stored, reason=reason)
            _adopt(shop, stored)
            return None
        try:
            grant = refresh_grant(domain=stored.domain, refresh_token=stored.refresh_token)
        except TokenRefused as error:
            shop_reauthorization_required(shop=stored, reason=str(error))
            _adopt(shop, stored)
            return None
        _save(stored, grant.shop_fields())
        logger.info("refreshed the access token of %s (expires %s)", stored.domain, grant.expires_at)
        _adopt(shop, stored)
        return stored.access_token


def access_token_current(*, shop: Shop) -> str:
    """The access token to call the Admin API with now, refreshed first when it is about to expire.

    The one place every Admin API caller gets its token (``ShopCredentials``).
    """
    if not shop.is_installed:
        raise ShopifyError(f"{shop.domain} is not installed")
    if _expiring_soon(shop, now=timezone.now()):
        token = _renew(shop, stale_token=shop.access_token, rejected=False)
        if not token:
            raise ShopifyError(f"{shop.domain} has no usable access token")
        return token
    return shop.access_token


def access_token_rejected(*, shop: Shop, token: str) -> str | None:
    """The Admin API answered 401 to ``token``: a fresh token to retry with once, or None."""
    return _renew(shop, stale_token=token, rejected=True)


class ShopCredentials:
    """A client's view of one shop's token: ``current`` before each call, ``rejected`` on a 401."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def current(self) -> str:
        return access_token_current(shop=self.shop)

    def rejected(self, token: str) -> str | None:
        return access_token_rejected(shop=self.shop, token=token)


# --- moving legacy shops over ----------------------------------------------------------------

def token_exchange_due(*, shop: Shop) -> bool:
    """A merchant opening the app should trade its session token for an expiring offline token:
    the shop still has a legacy non-expiring token, or none that works."""
    return shop.status == "installed" and (
        shop.access_token_expires_at is None or not shop.refresh_token or shop.reauthorization_required_at is not None)


def shop_token_migrate(*, shop: Shop) -> bool:
    """Move a shop off its legacy non-expiring token without the merchant: token exchange of that
    token for an expiring one (Shopify's way for apps merchants do not open; the legacy token stops
    working).  True when it moved; a refusal marks the shop for re-authorization."""
    with transaction.atomic():
        stored = shop_lock(shop_id=shop.pk)
        if stored.status != "installed" or not stored.access_token or stored.access_token_expires_at is not None:
            _adopt(shop, stored)
            return False
        try:
            grant = _token_request(domain=stored.domain, body={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": stored.access_token,
                "subject_token_type": OFFLINE_ACCESS_TOKEN,
                "requested_token_type": OFFLINE_ACCESS_TOKEN,
                "expiring": "1",
            })
        except TokenRefused as error:
            shop_reauthorization_required(shop=stored, reason=str(error))
            _adopt(shop, stored)
            return False
        _save(stored, grant.shop_fields())
    logger.info("%s moved to an expiring offline token (legacy token exchanged)", stored.domain)
    _adopt(shop, stored)
    return True


def shop_token_exchange(*, shop: Shop, session_token: str) -> Shop:
    """Trade a verified session token for an expiring offline token and store it (under the lock)."""
    with transaction.atomic():
        stored = shop_lock(shop_id=shop.pk)
        if not token_exchange_due(shop=stored):  # another request of the merchant's was first
            _adopt(shop, stored)
            return shop
        grant = session_token_grant(domain=stored.domain, session_token=session_token)
        fields = grant.shop_fields()
        if grant.scopes:
            fields["scopes"] = grant.scopes
        _save(stored, fields)
    logger.info("%s moved to an expiring offline token by token exchange", stored.domain)
    _adopt(shop, stored)
    shop.scopes = stored.scopes
    return shop

"""Offline access tokens as Shopify issues them: expiring (with a rotating refresh token) or not.

* ``expiring=1`` on the code grant or the token exchange gives an access token that lives
  ``access_token_lifetime`` seconds (Shopify: 3600) and a refresh token; without it the token never
  expires, but from ``non_expiring_until`` (Shopify: 2027-01-01) the Admin API refuses it (401).
* ``grant_type=refresh_token`` returns a new access token and a new refresh token.  The refresh
  token just used stays valid until its replacement is used (so a lost refresh answer can be
  retried); an older access token keeps working until it expires.
* Token exchange trades a session token (``id_token``, HS256 with the app secret) or a legacy
  non-expiring offline token for an offline token.

Token times are wall-clock (``time.time()``), not a shop's data clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Shop

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN = "urn:shopify:params:oauth:token-type:online-access-token"
NON_EXPIRING_REFUSED = ("[API] Non-expiring offline access tokens are no longer accepted: "
                        "request an expiring offline access token (expiring=1)")
#: Shopify's session tokens allow a few seconds of clock skew.
LEEWAY_SECONDS = 5


@dataclass(slots=True)
class TokenPolicy:
    access_token_lifetime: float = 3600.0
    refresh_token_lifetime: float = 90 * 86400.0
    #: from this moment the Admin API refuses non-expiring offline tokens (None: never)
    non_expiring_until: datetime | None = datetime(2027, 1, 1, tzinfo=UTC)
    #: how long a refresh takes to answer: tests widen race windows with it
    refresh_delay: float = 0.0

    def non_expiring_refused(self) -> bool:
        return self.non_expiring_until is not None and datetime.now(UTC) >= self.non_expiring_until


@dataclass(slots=True)
class RefreshToken:
    token: str
    scopes: list[str]
    expires: float
    #: the refresh token this one replaced; it dies when this one is first used
    previous: str | None = None
    used: bool = False


class TokenError(Exception):
    """The token endpoint refuses: ``error`` is the OAuth error code."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def grant(shop: Shop, scopes: list[str], *, policy: TokenPolicy, expiring: bool) -> dict[str, Any]:
    """Mint an offline token (and a refresh token when ``expiring``); the token endpoint's JSON."""
    from .store import AccessToken

    token = "shpat_" + secrets.token_hex(16)
    now = time.time()
    body: dict[str, Any] = {"access_token": token, "scope": ",".join(scopes)}
    with shop.lock:
        access = AccessToken(token, list(scopes), shop.now())
        if expiring:
            refresh = RefreshToken("shprt_" + secrets.token_hex(16), list(scopes),
                                   now + policy.refresh_token_lifetime)
            access.expires = now + policy.access_token_lifetime
            shop.refresh_tokens[refresh.token] = refresh
            body.update(expires_in=int(round(policy.access_token_lifetime)), refresh_token=refresh.token,
                        refresh_token_expires_in=int(round(policy.refresh_token_lifetime)))
        shop.tokens[token] = access
        shop.installed = True
    return body


def refresh(shop: Shop, refresh_token: str, *, policy: TokenPolicy) -> dict[str, Any]:
    """``grant_type=refresh_token``: a new pair; the used token's predecessor is retired."""
    if policy.refresh_delay:
        time.sleep(policy.refresh_delay)
    with shop.lock:
        current = shop.refresh_tokens.get(refresh_token)
        if current is None or current.expires <= time.time():
            raise TokenError("invalid_grant", "The refresh token is invalid, expired or was replaced")
        if current.previous:
            shop.refresh_tokens.pop(current.previous, None)
        current.used = True
        shop.token_refreshes += 1
        body = grant(shop, current.scopes, policy=policy, expiring=True)
        shop.refresh_tokens[body["refresh_token"]].previous = current.token
        return body


def usable(shop: Shop, token: str | None, *, policy: TokenPolicy) -> tuple[bool, str]:
    """Whether the Admin API accepts ``token`` now, and the error message when it does not."""
    access = shop.tokens.get(token or "")
    if access is None:
        return False, ""
    if access.expires is None:
        return (False, NON_EXPIRING_REFUSED) if policy.non_expiring_refused() else (True, "")
    return (access.expires > time.time()), ""


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def session_token_mint(*, api_key: str, api_secret: str, shop_domain: str, user_id: str,
                       lifetime: int = 60) -> str:
    """A session token as the admin gives App Bridge (``id_token``): HS256 with the app secret,
    ``iss`` the shop's admin, ``dest`` the shop, ``aud`` the API key, valid one minute."""
    now = int(time.time())
    claims = {"iss": f"https://{shop_domain}/admin", "dest": f"https://{shop_domain}", "aud": api_key,
              "sub": user_id, "exp": now + lifetime, "nbf": now, "iat": now, "jti": secrets.token_hex(8),
              "sid": secrets.token_hex(16)}
    header = _b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(api_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64encode(signature)}"


def session_token_claims(token: str, *, api_key: str, api_secret: str, shop_domain: str) -> dict[str, Any]:
    """The claims of a valid session token for this app and shop (HS256), else ``TokenError``."""
    try:
        header_part, payload_part, signature_part = token.split(".")
        header = json.loads(_b64decode(header_part))
        claims = json.loads(_b64decode(payload_part))
        signature = _b64decode(signature_part)
    except (ValueError, json.JSONDecodeError) as error:
        raise TokenError("invalid_subject_token", "The session token is malformed") from error
    expected = hmac.new(api_secret.encode(), f"{header_part}.{payload_part}".encode(), hashlib.sha256).digest()
    if header.get("alg") != "HS256" or not hmac.compare_digest(expected, signature):
        raise TokenError("invalid_subject_token", "The session token signature is invalid")
    now = time.time()
    if float(claims.get("exp", 0)) < now - LEEWAY_SECONDS or float(claims.get("nbf", 0)) > now + LEEWAY_SECONDS:
        raise TokenError("invalid_subject_token", "The session token has expired")
    if claims.get("aud") != api_key or claims.get("dest") != f"https://{shop_domain}":
        raise TokenError("invalid_subject_token", "The session token is for another app or shop")
    return claims  # type: ignore[no-any-return]


def exchange(shop: Shop, body: dict[str, Any], *, api_key: str, api_secret: str, scopes: list[str],
             policy: TokenPolicy) -> dict[str, Any]:
    """Token exchange: a session token (or a legacy non-expiring offline token) for an offline token."""
    expiring = str(body.get("expiring", "")) == "1"
    if body.get("requested_token_type") != OFFLINE_TOKEN:
        raise TokenError("invalid_request", "Only offline access tokens can be requested here")
    subject = str(body.get("subject_token") or "")
    subject_type = body.get("subject_token_type")
    if subject_type == ID_TOKEN:
        session_token_claims(subject, api_key=api_key, api_secret=api_secret, shop_domain=shop.domain)
        return grant(shop, scopes, policy=policy, expiring=expiring)
    if subject_type == OFFLINE_TOKEN:
        with shop.lock:
            legacy = shop.tokens.get(subject)
            if legacy is None or legacy.expires is not None or not expiring:
                raise TokenError("invalid_subject_token",
                                 "Only a non-expiring offline token can be exchanged, for an expiring one")
            del shop.tokens[subject]  # the original token stops working once migrated
            return grant(shop, legacy.scopes, policy=policy, expiring=True)
    raise TokenError("invalid_request", "Unsupported subject_token_type")

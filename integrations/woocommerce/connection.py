"""Connecting a WooCommerce store (wc-auth) and what the WordPress plugin asks of the connection.

The flow, as a merchant lives it:

1. ``connect_start``: the merchant gives their store's address (our form, or the plugin's
   "Connect" button, which also gives its settings page as ``return_url``).  The address is
   checked (https and a public address in production: we are about to call it, so no SSRF) and
   the browser is sent to ``<store>/wc-auth/v1/authorize`` with a fresh, expiring ``user_id``
   (our ``state``).
2. The merchant approves in WordPress; WooCommerce POSTs the new key pair to our callback
   (``connect_callback``), unsigned.  It is accepted only for a pending, unexpired connection
   whose state is the POST's ``user_id``, keys of WooCommerce's shape with ``read_write``, and
   only once the keys work against the store.  Then the shop is installed (owner, dashboard
   membership, plugin secret) and, after the commit, its webhooks and history sync start.
   WooCommerce keeps the key only when the callback answers exactly 200.
3. WooCommerce sends the browser back (``connect_return``): the browser that started it is
   logged into our dashboard, or, when the plugin started it, sent back to the plugin with a
   single-use code the plugin trades for the shop's plugin secret (``plugin_claim``).
"""

import hashlib
import ipaddress
import json
import logging
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce import services as commerce
from commerce.models import Platform, Shop
from integrations.platforms import PlatformUnavailable
from integrations.woocommerce.client import WooAuthError, WooClient, WooError
from integrations.woocommerce.credentials import Credentials
from integrations.woocommerce.models import ConnectionStatus, WooConnection
from retention_app.errors import ApplicationError

logger = logging.getLogger(__name__)

CONNECT_MAX_AGE = timedelta(minutes=10)
CLAIM_MAX_AGE = timedelta(minutes=10)
SCOPE = "read_write"
APP_NAME = "Comeback"
KEY_SHAPE = re.compile(r"ck_[0-9a-f]{40}")
SECRET_SHAPE = re.compile(r"cs_[0-9a-f]{40}")
_PATH_SHAPE = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")


# --- the store's address -----------------------------------------------------------------------

@dataclass(frozen=True)
class StoreAddress:
    url: str  # scheme://host[:port][/path], no trailing slash
    domain: str  # host[:port][/path], lowercase: the Shop's domain
    hostname: str
    port: int


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, status=400, code="invalid_store_url", extra={"field": "store_url"})


def store_address(raw: str) -> StoreAddress:
    """Parse a store's home URL (``https://shop.example/``, ``shop.example``, a WordPress in a
    sub-folder) without any network: the form the Shop's domain and its links take."""
    text = (raw or "").strip()
    if not text:
        raise _invalid(_("Enter your store's address, e.g. https://shop.example."))
    if len(text) > 255 or not text.isprintable() or any(char.isspace() for char in text):
        raise _invalid(_("That is not a web address."))
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise _invalid(_("That is not a web address.")) from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(_("That is not a web address."))
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise _invalid(_("Enter the store's home address only, without a query or a log-in."))
    try:
        hostname = parts.hostname.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError as error:
        raise _invalid(_("That is not a web address.")) from error
    if not hostname or not re.fullmatch(r"[a-z0-9.\-:\[\]]+", hostname):
        raise _invalid(_("That is not a web address."))
    path = parts.path.rstrip("/")
    if not _PATH_SHAPE.fullmatch(path) or "/../" in f"{path}/" or "/./" in f"{path}/":
        raise _invalid(_("That is not a web address."))
    default_port = 443 if scheme == "https" else 80
    host = f"[{hostname}]" if ":" in hostname else hostname
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    return StoreAddress(url=f"{scheme}://{netloc}{path}", domain=f"{netloc}{path}".lower(),
                        hostname=hostname, port=port or default_port)


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return bool(settings.WOOCOMMERCE_ALLOW_LOCAL_STORES)
    return ip.is_global and not ip.is_multicast


def store_address_verify(raw: str) -> StoreAddress:
    """``store_address``, and the rules for a store we will call: https (plain http only for a
    local store in development), and every address the host resolves to public -- no private,
    loopback, link-local or reserved address (loopback only with ``WOOCOMMERCE_ALLOW_LOCAL_STORES``)."""
    address = store_address(raw)
    local = bool(settings.WOOCOMMERCE_ALLOW_LOCAL_STORES)
    if address.url.startswith("http://") and not local:
        raise _invalid(_("Your store must use https:// to connect."))
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(address.hostname.strip("[]"), address.port,
                                                              type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError) as error:
        raise _invalid(_("We could not find a store at that address.")) from error
    if not resolved or not all(_address_allowed(str(ip)) for ip in resolved):
        raise _invalid(_("That address is not a public web store."))
    return address


HOME_DISCOVERY_TIMEOUT = 5.0


def store_home_discover(address: StoreAddress) -> StoreAddress:
    """The store as WordPress itself names it (the REST index's ``home``), so that a merchant who
    typed ``shop.example`` for a WordPress at ``https://www.shop.example`` is connected to the
    latter: API calls to the typed address would be redirected, and a redirect to another host
    drops the keys.  Every hop is checked like the typed address; anything unexpected keeps it."""
    current = address
    for _hop in range(3):
        try:
            response = requests.get(f"{current.url}/wp-json/", timeout=HOME_DISCOVERY_TIMEOUT, allow_redirects=False,
                                    headers={"Accept": "application/json", "User-Agent": "Comeback/1.0"})
        except requests.RequestException:
            return current
        if response.is_redirect:
            location = response.headers.get("Location", "").split("/wp-json", 1)[0].split("?", 1)[0]
            try:
                current = store_address_verify(requests.compat.urljoin(current.url + "/", location))
            except ApplicationError:
                return address
            continue
        try:
            home = response.json().get("home") if response.status_code == 200 else None
        except (ValueError, AttributeError, RecursionError):
            home = None
        if not isinstance(home, str) or not home:
            return current
        try:
            return store_address_verify(home)
        except ApplicationError:
            return current
    return current


def _return_url_clean(raw: str, *, hosts: set[str]) -> str:
    """The plugin's settings page: an http(s) URL on the store's own host (never elsewhere: the
    single-use code travels to it)."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        hostname = (parts.hostname or "").lower().rstrip(".")
    except ValueError as error:
        raise ApplicationError(_("The return address is not a web address."), status=400,
                               code="invalid_return_url") from error
    if (parts.scheme.lower() not in ("http", "https") or hostname not in hosts
            or parts.username is not None or len(text) > 1000 or not text.isprintable()):
        raise ApplicationError(_("The return address must be a page of the store itself."), status=400,
                               code="invalid_return_url")
    return text


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


# --- 1. start ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectStart:
    connection: WooConnection
    authorize_url: str


def connect_start(*, store_url: str, return_url: str = "", session_key: str = "",
                  user: Any = None) -> ConnectStart:
    """A pending connection (10 minutes) and the store's wc-auth page to send the merchant to."""
    typed = store_address_verify(store_url)
    address = store_home_discover(typed)
    plugin_page = _return_url_clean(return_url, hosts={typed.hostname.strip("[]"), address.hostname.strip("[]")})
    now = timezone.now()
    WooConnection.objects.filter(status=ConnectionStatus.PENDING, expires_at__lt=now - timedelta(days=1)).delete()
    connection = WooConnection.objects.create(
        store_url=address.url, domain=address.domain, state=secrets.token_urlsafe(32),
        expires_at=now + CONNECT_MAX_AGE, return_url=plugin_page, session_key=session_key or "",
        started_by=user if user is not None and user.is_authenticated else None,
    )
    query = urlencode({
        "app_name": APP_NAME,
        "scope": SCOPE,
        "user_id": connection.state,
        "return_url": f"{settings.APP_URL}/woocommerce/connected?{urlencode({'state': connection.state})}",
        "callback_url": f"{settings.APP_URL}/woocommerce/callback",
    })
    return ConnectStart(connection=connection, authorize_url=f"{address.url}/wc-auth/v1/authorize?{query}")


# --- 2. the keys -------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyGrant:
    state: str
    key_id: str
    consumer_key: str
    consumer_secret: str
    permissions: str


def _refused(message: str, status: int = 400, code: str = "refused") -> ApplicationError:
    return ApplicationError(message, status=status, code=code)


def key_grant_parse(body: bytes) -> KeyGrant:
    """WooCommerce's key POST: ``{key_id, user_id, consumer_key, consumer_secret, key_permissions}``
    (``user_id`` is our state, a string; ``key_id`` a number)."""
    try:
        payload: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # RecursionError: nested thousands deep
        raise _refused("the body is not JSON", code="invalid_payload") from error
    if not isinstance(payload, dict):
        raise _refused("the body is not a JSON object", code="invalid_payload")
    state, key_id = payload.get("user_id"), payload.get("key_id")
    if isinstance(state, bool) or not isinstance(state, str | int) or not str(state):
        raise _refused("user_id is missing", code="invalid_payload")
    if isinstance(key_id, bool) or not isinstance(key_id, str | int) or not str(key_id).isdigit():
        raise _refused("key_id is missing", code="invalid_payload")
    key, secret = payload.get("consumer_key"), payload.get("consumer_secret")
    if not isinstance(key, str) or not KEY_SHAPE.fullmatch(key) or not isinstance(secret, str) \
            or not SECRET_SHAPE.fullmatch(secret):
        raise _refused("consumer_key and consumer_secret are not WooCommerce keys", code="invalid_keys")
    permissions = payload.get("key_permissions")
    if permissions != SCOPE:
        raise _refused("the keys must be read_write", code="insufficient_permissions")
    return KeyGrant(state=str(state)[:64], key_id=str(key_id)[:32], consumer_key=key, consumer_secret=secret,
                    permissions=permissions)


def _pending(state: str, *, lock: bool = False) -> WooConnection:
    rows = WooConnection.objects.select_for_update() if lock else WooConnection.objects
    connection = rows.filter(state=state).first()
    if connection is None:
        raise _refused("unknown connection", status=404, code="unknown_state")
    if connection.status != ConnectionStatus.PENDING:
        raise _refused("this connection has already been completed", status=409, code="state_used")
    if connection.expires_at < timezone.now():
        raise _refused("this connection has expired: start again", status=410, code="state_expired")
    return connection


def _keys_check(*, store_url: str, grant: KeyGrant) -> None:
    """The POST is unsigned: the keys must work against the store we sent the merchant to."""
    store_address_verify(store_url)  # again: the name may resolve elsewhere by now
    client = WooClient(Credentials(store_url=store_url, consumer_key=grant.consumer_key,
                                   consumer_secret=grant.consumer_secret), attempts=2, backoff_seconds=0.2)
    try:
        client.get("webhooks", {"per_page": 1})
    except WooAuthError as error:
        raise _refused("the store does not accept these keys", status=400, code="keys_refused") from error
    except (WooError, PlatformUnavailable) as error:
        raise _refused(f"could not check the keys with the store: {error}", status=502,
                       code="store_unavailable") from error


def _owner_for(connection: WooConnection, previous: WooConnection | None) -> AbstractBaseUser:
    """Who owns the shop in our dashboard: the logged-in user who connected it, else the shop's
    owner so far, else a new user for the store (reached by the plugin's admin link or a
    password an operator sets)."""
    for user in (connection.started_by, previous.owner if previous else None):
        if user is not None:
            return user
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=f"woocommerce:{connection.domain}"[:150])
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def membership_grant_owner(*, user: AbstractBaseUser, shop: Shop) -> None:
    # The dashboard's membership is the one way a Django login reaches a shop.
    from dashboard.models import MembershipRole
    from dashboard.services import membership_grant

    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)  # type: ignore[arg-type]


def connect_callback(*, body: bytes) -> WooConnection:
    """WooCommerce's key POST.  Refused (4xx, nothing stored) unless it completes a pending,
    unexpired connection with working read/write keys; a second POST for the same state changes
    nothing (409)."""
    grant = key_grant_parse(body)
    _keys_check(store_url=_pending(grant.state).store_url, grant=grant)
    with transaction.atomic():
        connection = _pending(grant.state, lock=True)
        previous = (WooConnection.objects.select_for_update()
                    .filter(shop__platform=Platform.WOOCOMMERCE, shop__domain=connection.domain).first())
        shop = commerce.shop_installed(
            platform=Platform.WOOCOMMERCE, domain=connection.domain, access_token=grant.consumer_key,
            scopes=SCOPE, details={"storefront_url": connection.store_url},
        )
        if not shop.name:
            commerce.shop_details_update(shop=shop, details={"name": connection.domain.split("/")[0][:255]})
        owner = _owner_for(connection, previous)
        plugin_secret = previous.plugin_secret if previous and previous.plugin_secret else secrets.token_hex(32)
        if previous is not None:
            WooConnection.objects.filter(pk=previous.pk).update(
                shop=None, status=ConnectionStatus.REPLACED, consumer_key="", consumer_secret="", plugin_secret="",
                updated_at=timezone.now())
        connection.shop = shop
        connection.status = ConnectionStatus.CONNECTED
        connection.consumer_key = grant.consumer_key
        connection.consumer_secret = grant.consumer_secret
        connection.key_id = grant.key_id
        connection.key_permissions = grant.permissions
        connection.plugin_secret = plugin_secret
        connection.connected_at = timezone.now()
        connection.owner = owner  # type: ignore[assignment]
        connection.save()
        membership_grant_owner(user=owner, shop=shop)

        def after_install() -> None:
            from integrations.tasks import shop_after_install

            # WooCommerce deletes the key unless this POST gets its 200: a broker that is away
            # (or, in eager mode, a store that stops answering mid-sync) must not turn the
            # stored connection into an error.  The reconciliation registers the webhooks later.
            try:
                shop_after_install.delay(shop.pk)
            except Exception as error:  # noqa: BLE001 - logged; the connection stands
                logger.warning("%s: the post-connect work was not started (%s)", shop.domain, error)

        transaction.on_commit(after_install)
    logger.info("%s connected (WooCommerce key %s)", connection.domain, grant.key_id)
    return connection


def credentials_for(*, shop: Shop) -> Credentials:
    """The REST credentials of a connected shop (``ApplicationError`` 409 when it has none)."""
    connection = WooConnection.objects.filter(shop=shop, status=ConnectionStatus.CONNECTED).first()
    if connection is None or not connection.consumer_key:
        raise ApplicationError(_("This store is not connected to WooCommerce."), status=409, code="not_connected")
    return Credentials(store_url=connection.store_url, consumer_key=connection.consumer_key,
                       consumer_secret=connection.consumer_secret)


# --- 3. the browser comes back -------------------------------------------------------------

@dataclass(frozen=True)
class ConnectReturn:
    shop: Shop
    owner: AbstractBaseUser | None  # log this user in (the connect started in our admin)
    redirect_url: str  # or send the browser back to the plugin with its claim code


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def connect_return(*, state: str, success: str, session_key: str) -> ConnectReturn:
    """WooCommerce sends the merchant back (``?success=1&user_id=<state>``).  Only the browser
    that started the connection, once: it is logged in, or sent to the plugin's page with a
    single-use claim code (10 minutes)."""
    with transaction.atomic():
        connection = WooConnection.objects.select_for_update().filter(state=state or "-").first()
        if connection is None:
            raise ApplicationError(_("This connection is unknown. Start again from your store's address."),
                                   status=404, code="unknown_state")
        if success == "0" and connection.status == ConnectionStatus.PENDING:
            WooConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.REFUSED,
                                                                  updated_at=timezone.now())
            connection.status = ConnectionStatus.REFUSED
    with transaction.atomic():
        connection = WooConnection.objects.select_for_update().get(pk=connection.pk)
        if connection.status == ConnectionStatus.REFUSED or success == "0":
            raise ApplicationError(_("The store did not grant Comeback access. Nothing was connected."),
                                   status=403, code="access_denied")
        if connection.status != ConnectionStatus.CONNECTED or connection.shop is None:
            raise ApplicationError(_("The store has not sent its keys. Start the connection again."),
                                   status=400, code="not_connected")
        if connection.returned_at is not None:
            raise ApplicationError(_("This link was used already. Open Comeback from your store."),
                                   status=409, code="state_used")
        if not session_key or not secrets.compare_digest(session_key, connection.session_key):
            raise ApplicationError(_("Open this link in the browser that started the connection."),
                                   status=403, code="other_browser")
        connection.returned_at = timezone.now()
        redirect_url = ""
        if connection.return_url:
            code = secrets.token_urlsafe(32)
            connection.claim_code_hash = _hash(code)
            connection.claim_expires_at = connection.returned_at + CLAIM_MAX_AGE
            redirect_url = _with_query(connection.return_url, comeback_code=code)
        connection.save(update_fields=["returned_at", "claim_code_hash", "claim_expires_at", "updated_at"])
    return ConnectReturn(shop=connection.shop, owner=None if redirect_url else connection.owner,
                         redirect_url=redirect_url)


# --- the plugin ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PluginClaim:
    shop_domain: str
    secret: str


def plugin_claim(*, code: str, store_url: str) -> PluginClaim:
    """The plugin trades its single-use code (and its store's address) for the shop's plugin
    secret.  Any mismatch, reuse or expiry is the same 400: nothing says which part was wrong."""
    refused = ApplicationError(_("This code is not valid (used, expired, or for another store)."), status=400,
                               code="invalid_code")
    if not isinstance(code, str) or not code or len(code) > 128 or not isinstance(store_url, str):
        raise refused
    try:
        domain = store_address(store_url).domain
    except ApplicationError as error:
        raise refused from error
    with transaction.atomic():
        connection = (WooConnection.objects.select_for_update(of=("self",)).select_related("shop")
                      .filter(claim_code_hash=_hash(code), claimed_at__isnull=True,
                              status=ConnectionStatus.CONNECTED).first())
        if (connection is None or connection.shop is None or connection.domain != domain
                or connection.claim_expires_at is None or connection.claim_expires_at < timezone.now()):
            raise refused
        connection.claimed_at = timezone.now()
        connection.save(update_fields=["claimed_at", "updated_at"])
    return PluginClaim(shop_domain=connection.shop.domain, secret=connection.plugin_secret)


def shop_disconnect(*, shop: Shop, erase: bool = False) -> bool:
    """The merchant disconnects the store (the plugin's "Disconnect", or its removal): our webhooks
    are deleted from the store (while the keys still work), the keys and the plugin's secret are
    forgotten, and the shop is uninstalled -- its data kept for a reconnect, unless ``erase``, which
    deletes it through the privacy registry as ``shop/redact`` does.  Returns whether it erased."""
    from integrations.woocommerce.webhooks import webhooks_delete  # it imports this module

    try:
        webhooks_delete(shop=shop)
    except (WooError, PlatformUnavailable, ApplicationError) as error:
        logger.warning("%s: webhooks not deleted from the store (%s)", shop.domain, error)
    with transaction.atomic():
        WooConnection.objects.filter(shop=shop).update(
            shop=None, status=ConnectionStatus.DISCONNECTED, consumer_key="", consumer_secret="", plugin_secret="",
            updated_at=timezone.now())
        commerce.shop_uninstalled(shop=shop)
        if erase:
            commerce.shop_erase(shop=shop)
    logger.info("%s disconnected%s", shop.domain, " and erased" if erase else "")
    return erase


def admin_user_for(*, shop: Shop, wordpress_user_id: str, email: str) -> AbstractBaseUser:
    """The Django user behind a store administrator coming from the plugin's admin link (one per
    WordPress user and store), a member of the shop."""
    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(
        username=f"woocommerce:{shop.domain}:{wordpress_user_id}"[:150])
    changed = []
    if _created:
        user.set_unusable_password()
        changed.append("password")
    clean_email = email.strip()[:254] if "@" in email and email.isprintable() else ""
    if clean_email and user.email != clean_email:
        user.email = clean_email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
    membership_grant_owner(user=user, shop=shop)
    return user

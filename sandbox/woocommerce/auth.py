"""REST API authentication as ``WC_REST_Authentication`` does it.

Over https: HTTP Basic auth (consumer key : secret) or ``consumer_key``/``consumer_secret`` query
parameters.  Over plain http: OAuth 1.0a one-legged: ``oauth_consumer_key``, ``oauth_timestamp``,
``oauth_nonce``, ``oauth_signature_method`` (HMAC-SHA1 or HMAC-SHA256) and ``oauth_signature`` in
the query, a form body or an ``Authorization: OAuth …`` header; the base string is
``METHOD&rawurlencode(home URL + path)&`` the sorted, doubly encoded parameters joined by ``%26``;
the key is ``consumer_secret&``.  The timestamp must be within 15 minutes and a nonce is single use
per key.  Keys carry ``read``, ``write`` or ``read_write`` permissions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from werkzeug.wrappers import Request

from .common import WPError, utc_now

if TYPE_CHECKING:
    from .store import ApiKey, WooStore

OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature",
                "oauth_signature_method")
WINDOW_SECONDS = 15 * 60
_HEADER_RE = re.compile(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))')


def _auth_error(message: str, code: str = "woocommerce_rest_authentication_error") -> WPError:
    return WPError(code, message, 401)


def rawurlencode(value: str) -> str:
    return quote(value, safe="-_.~")


def _normalize(value: str) -> str:
    return rawurlencode(unquote(value)).replace("%", "%25")


def php_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query/form pairs as PHP's ``$_GET`` holds them: a repeated key keeps its last value,
    ``key[]=…``/``key[sub]=…`` build arrays."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        match = re.match(r"^([^\[]+)\[([^\]]*)\]$", key)
        if match:
            base, inner = match.groups()
            bucket = params.get(base)
            if not isinstance(bucket, dict):
                bucket = params[base] = {}
            bucket[inner if inner else str(len(bucket))] = value
        else:
            params[key] = value
    return params


def oauth_signature(method: str, base_uri: str, params: dict[str, Any], secret: str,
                    algorithm: str = "HMAC-SHA256") -> str:
    """The signature WooCommerce expects for ``params`` (without ``oauth_signature``)."""
    parts = []
    for key in sorted(params, key=lambda k: k.encode()):
        value = params[key]
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                parts.append(f"{_normalize(key)}%255B{_normalize(inner)}%255D%3D{_normalize(inner_value)}")
        else:
            parts.append(f"{_normalize(key)}%3D{_normalize(str(value))}")
    to_sign = f"{method.upper()}&{rawurlencode(base_uri)}&{'%26'.join(parts)}"
    digest = hashlib.sha1 if algorithm == "HMAC-SHA1" else hashlib.sha256
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), digest).digest()).decode()


def authenticate(store: WooStore, request: Request, path: str, *, https: bool) -> ApiKey | None:
    """The key the request authenticates with, ``None`` when it carries no credentials at all;
    raises a 401 ``WPError`` for bad ones.  ``path`` is the request path below the home URL."""
    if https:
        key = _basic(store, request)
        if key is not None:
            return key
    return _oauth(store, request, path)


def _find_key(store: WooStore, consumer_key: str) -> ApiKey | None:
    for key in store.api_keys.values():
        if hmac.compare_digest(key.consumer_key.encode(), consumer_key.strip().encode()):
            return key
    return None


def _basic(store: WooStore, request: Request) -> ApiKey | None:
    consumer_key = consumer_secret = ""
    if request.authorization is not None and request.authorization.type == "basic":
        consumer_key = request.authorization.username or ""
        consumer_secret = request.authorization.password or ""
    elif request.args.get("consumer_key") and request.args.get("consumer_secret"):
        consumer_key = request.args["consumer_key"]
        consumer_secret = request.args["consumer_secret"]
    if not consumer_key or not consumer_secret:
        return None
    key = _find_key(store, consumer_key)
    if key is None:
        raise _auth_error("Consumer key is invalid.")
    if not hmac.compare_digest(key.consumer_secret.encode(), consumer_secret.encode()):
        raise _auth_error("Consumer secret is invalid.")
    return key


def _oauth(store: WooStore, request: Request, path: str) -> ApiKey | None:
    params: list[tuple[str, str]] = list(request.args.items(multi=True))
    if request.mimetype == "application/x-www-form-urlencoded":
        params += list(request.form.items(multi=True))
    header = (request.headers.get("Authorization") or "").strip()
    if header.startswith("OAuth "):
        for name, quoted, bare in _HEADER_RE.findall(header):
            params.append((name, unquote(quoted or bare)))
    values = php_params(params)
    missing = [name for name in OAUTH_PARAMS if not values.get(name)]
    if len(missing) == len(OAUTH_PARAMS):
        return None
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise _auth_error(f"Missing OAuth {noun} {', '.join(missing)}",
                          "woocommerce_rest_authentication_missing_parameter")
    key = _find_key(store, str(values["oauth_consumer_key"]))
    if key is None:
        raise _auth_error("Consumer key is invalid.")
    method = str(values["oauth_signature_method"])
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise _auth_error("Invalid signature - signature method is invalid.")
    given = unquote(str(values["oauth_signature"]).replace(" ", "+"))
    signed = {k: v for k, v in values.items() if k != "oauth_signature"}
    expected = oauth_signature(request.method, store.url + path, signed, key.consumer_secret, method)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise _auth_error("Invalid signature - provided signature does not match.")
    try:
        timestamp = int(str(values["oauth_timestamp"]))
    except ValueError:
        raise _auth_error("Invalid timestamp.") from None
    now = int(time.time())
    if timestamp < now - WINDOW_SECONDS or timestamp > now + WINDOW_SECONDS:
        raise _auth_error("Invalid timestamp.")
    nonce = str(values["oauth_nonce"])
    with store.lock:
        key.nonces = {n: t for n, t in key.nonces.items() if t >= now - WINDOW_SECONDS}
        if nonce in key.nonces:
            raise _auth_error("Invalid nonce - nonce has already been used.")
        key.nonces[nonce] = timestamp
    return key


def check_permissions(key: ApiKey, method: str) -> None:
    """A read key cannot write, a write key cannot read (``check_permissions``)."""
    if method in ("HEAD", "GET") and key.permissions not in ("read", "read_write"):
        raise _auth_error("The API key provided does not have read permissions.")
    if method in ("POST", "PUT", "PATCH", "DELETE") and key.permissions not in ("write", "read_write"):
        raise _auth_error("The API key provided does not have write permissions.")
    key.last_access = utc_now()

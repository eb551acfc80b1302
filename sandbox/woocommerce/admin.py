"""wp-admin as the store's administrator (user 1, always logged in) sees the Comeback plugin:
its settings page (connect, the claim on the way back, disconnect), the Comeback menu (a signed
link into the app's dashboard) and WordPress's privacy tools calling the app, as the plugin in
``integrations/woocommerce/plugin/comeback`` does."""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests
from werkzeug.wrappers import Request, Response

from .storefront import plugin_user_agent, proxy_message
from .webhooks import wp_json

if TYPE_CHECKING:
    from .sandbox import WooCommerceSandbox
    from .store import WooStore

SETTINGS_SLUG = "comeback-settings"
MENU_SLUG = "comeback"


def settings_url(store: WooStore) -> str:
    return f"{store.url}/wp-admin/admin.php?page={SETTINGS_SLUG}"


def signed_pairs(store: WooStore, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``Comeback_Connection::signed``: the pairs plus ``shop``, ``timestamp`` and ``signature``."""
    import hmac as _hmac

    plugin = store.plugin or {}
    pairs = [*pairs, ("shop", plugin.get("shop_domain", store.domain)), ("timestamp", str(int(time.time())))]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    digest = _hmac.new(str(plugin.get("secret", "")).encode(), proxy_message(grouped).encode(),
                       hashlib.sha256).hexdigest()
    return [*pairs, ("signature", digest)]


def _page(store: WooStore, title: str, body: str, status: int = 200) -> Response:
    doc = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)} ‹ "
           f"{html.escape(store.site_name)} — WordPress</title><style>body{{font-family:system-ui,sans-serif;"
           "margin:0}#adminmenu{float:left;width:10rem;background:#1d2327;min-height:100vh;padding:1rem}"
           "#adminmenu a{color:#f0f0f1;display:block;margin:.3rem 0}.wrap{margin-left:12rem;padding:1rem}"
           ".notice{border-left:4px solid #72aee6;padding:.5rem 1rem;background:#fff}</style></head>"
           f"<body class='wp-admin'><nav id='adminmenu'><a href='{store.url}/wp-admin/'>Dashboard</a>"
           f"<a href='{store.url}/wp-admin/admin.php?page={MENU_SLUG}'>Comeback</a>"
           f"<a href='{settings_url(store)}'>Comeback settings</a><a href='{store.url}/'>Visit store</a></nav>"
           f"<div class='wrap'>{body}</div></body></html>")
    return Response(doc, status=status, content_type="text/html; charset=UTF-8")


def _redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url, "X-Redirect-By": "WordPress"})


def dashboard(sandbox: WooCommerceSandbox, store: WooStore, request: Request) -> Response:
    page = request.args.get("page", "")
    if page == MENU_SLUG:
        return open_comeback(store)
    if page == SETTINGS_SLUG:
        return settings(sandbox, store, request)
    return _page(store, "Dashboard", f"<h1>Dashboard</h1><p>{html.escape(store.site_name)}: "
                 f"{len(store.orders)} orders, {len(store.customers)} customers.</p>")


def open_comeback(store: WooStore) -> Response:
    """The Comeback menu: a signed, one-minute link that logs the admin into the app."""
    plugin = store.plugin
    if not plugin or not plugin.get("secret"):
        return _redirect(settings_url(store))
    query = signed_pairs(store, [("user", "1"), ("email", store.admin_email)])
    return _redirect(f"{plugin['app_url']}/woocommerce/admin?{urlencode(query)}")


def settings(sandbox: WooCommerceSandbox, store: WooStore, request: Request) -> Response:
    """The settings page; with ``comeback_code`` (the way back from connecting) it claims first."""
    code = request.args.get("comeback_code")
    if code is not None:
        state = request.args.get("comeback_state", "")
        kept = store.connect_state
        if not kept or not state or not secrets.compare_digest(kept, state):  # only a Connect of its own
            return _redirect(f"{settings_url(store)}&comeback_notice=stale")
        store.connect_state = None
        error = claim(sandbox, store, code)
        if error:
            store.claim_error = error
            return _redirect(f"{settings_url(store)}&comeback_notice=failed")
        return _redirect(f"{settings_url(store)}&comeback_notice=connected")
    notice = request.args.get("comeback_notice", "")
    plugin = store.plugin or {}
    text = {"connected": "Your store is connected to Comeback.", "disconnected": "Disconnected from Comeback.",
            "stale": "That connection attempt expired. Please connect again.",
            "failed": f"Connecting failed: {store.claim_error or 'unknown error'}"}.get(notice, "")
    body = "<h1>Comeback settings</h1>"
    if text:
        body += f"<div class='notice notice-{notice}'><p>{html.escape(text)}</p></div>"
    if plugin.get("secret"):
        body += (f"<p>Connected as <code class='comeback-shop'>{html.escape(plugin['shop_domain'])}</code>.</p>"
                 f"<a class='button button-primary' href='{store.url}/wp-admin/admin.php?page={MENU_SLUG}'>"
                 "Open Comeback</a> <form method='post' action='admin-post.php'><input type='hidden' name='action' "
                 "value='comeback_disconnect'><button class='button'>Disconnect</button></form>")
    elif plugin.get("app_url"):
        body += ("<p>Connect this store to Comeback to start rewarding your customers.</p>"
                 "<form method='post' action='admin-post.php'><input type='hidden' name='action' "
                 "value='comeback_connect'><button class='button button-primary'>Connect to Comeback</button></form>")
    else:
        body += "<p>Set the Comeback address first (sandbox: <code>set_plugin(store, app_url=…)</code>).</p>"
    return _page(store, "Comeback settings", body)


def admin_post(sandbox: WooCommerceSandbox, store: WooStore, request: Request) -> Response:
    action = request.values.get("action", "")
    plugin = store.plugin or {}
    if action == "comeback_connect" and plugin.get("app_url"):
        store.connect_state = secrets.token_urlsafe(24)[:32]
        back = f"{settings_url(store)}&comeback_state={store.connect_state}"
        return _redirect(f"{plugin['app_url']}/woocommerce/connect?"
                         + urlencode([("store_url", store.url), ("return_url", back)]))
    if action == "comeback_disconnect" and store.plugin is not None:
        store.plugin.pop("secret", None)
        return _redirect(f"{settings_url(store)}&comeback_notice=disconnected")
    return _page(store, "Error", "<p>The link you followed has expired.</p>", 403)


def claim(sandbox: WooCommerceSandbox, store: WooStore, code: str) -> str | None:
    """``Comeback_Connection::claim``: trade the code for the shop and its secret; None when done,
    else what went wrong."""
    plugin = store.plugin or {}
    if not plugin.get("app_url"):
        return "no app address"
    try:
        answer = requests.post(f"{plugin['app_url']}/woocommerce/plugin/claim",
                               data=wp_json({"code": code, "store_url": store.url}), timeout=20,
                               headers={"Content-Type": "application/json", "Accept": "application/json",
                                        "User-Agent": plugin_user_agent(store)}, allow_redirects=False)
    except requests.RequestException as error:
        return str(error)
    try:
        data: Any = answer.json()
    except ValueError:
        data = None
    if answer.status_code != 200 or not isinstance(data, dict) or not data.get("shop") or not data.get("secret"):
        return str(data.get("error")) if isinstance(data, dict) and data.get("error") else f"HTTP {answer.status_code}"
    plugin.update({"shop_domain": str(data["shop"]), "secret": str(data["secret"]),
                   "app_url": str(data.get("app_url") or plugin["app_url"]).rstrip("/"),
                   "widget_script": str(data.get("widget_script") or ""),
                   "widget_style": str(data.get("widget_style") or "")})
    store.plugin = plugin
    return None


def privacy_request(sandbox: WooCommerceSandbox, store: WooStore, kind: str, email: str) -> tuple[int, Any]:
    """WordPress's personal-data exporter / eraser for ``email`` asking the app
    (``Comeback_Connection::post_signed``): ``(status, decoded JSON or None)``."""
    plugin = store.plugin or {}
    if not plugin.get("secret"):
        raise ValueError("the plugin is not connected")
    raw = wp_json({"email": email})
    query = signed_pairs(store, [("body_sha256", hashlib.sha256(raw).hexdigest())])
    answer = requests.post(f"{plugin['app_url']}/woocommerce/privacy/{kind}?{urlencode(query)}", data=raw, timeout=30,
                           headers={"Content-Type": "application/json", "Accept": "application/json",
                                    "User-Agent": plugin_user_agent(store)}, allow_redirects=False)
    try:
        return answer.status_code, json.loads(answer.content)
    except ValueError:
        return answer.status_code, None

"""The shopper side of a sandbox store, as a WordPress site with WooCommerce and the Comeback plugin
renders it: a shop page with the widget's mount point, a customer session (``my-account``), a cart
with coupons, a checkout, and the plugin's ``/wp-json/comeback/v1/<path>`` route, which forwards to
``{app_url}/proxy/<path>`` signed like Shopify's app proxy with the store's plugin secret.

Links the app hands out work here as with the plugin on a real store: ``?comeback_coupon=CODE``
applies the code to the cart and redirects to the cart (an empty cart keeps it until a product is
added, and the shopper lands on the shop page), ``?add-to-cart=<product or variation id>`` adds
one, and ``?ref=<code>`` is left to the widget (the page renders as usual).

The plugin's REST route believes WordPress's login cookie only with the page's REST nonce
(``X-WP-Nonce``, the mount point's ``data-nonce``), as WordPress does: without it the shopper is a
guest.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import requests
from werkzeug.wrappers import Request, Response

from .common import WP_VERSION, WPError, wc_money

if TYPE_CHECKING:
    from .sandbox import WooCommerceSandbox
    from .store import WooCustomer, WooStore

#: WordPress's logged-in cookie stands in as the shopper's id (per store: the cookie path).
LOGIN_COOKIE = "wordpress_logged_in_sandbox"
SESSION_COOKIE = "wp_woocommerce_session_sandbox"
#: Parameters the plugin sets itself, and WordPress's own: never forwarded from the shopper's query.
PROXY_PARAMS = frozenset({"platform", "shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature",
                          "rest_route", "_wpnonce", "_method", "_envelope", "_jsonp", "_locale"})
MAX_BODY_BYTES = 65536
LOCALES = {"en": "en-US", "he": "he-IL", "fa": "fa-IR", "fr": "fr-FR", "de": "de-DE", "ar": "ar"}
RTL = frozenset({"he", "fa", "ar", "ur"})
WIDGET_SCRIPT = "/storefront/comeback-widget.js"
WIDGET_STYLE = "/storefront/comeback-widget.css"


def proxy_message(params: Mapping[str, Sequence[str]]) -> str:
    """Every parameter but ``signature``, sorted by key, ``key=value`` (repeated keys' values
    joined by ``,``), concatenated with no separator (Shopify's app-proxy message)."""
    return "".join(f"{key}={','.join(values)}" for key, values in sorted(params.items()) if key != "signature")


def proxy_query(*, shop_domain: str, customer_id: int | str | None, secret: str,
                extra: Iterable[tuple[str, str]] = (), timestamp: int | None = None) -> list[tuple[str, str]]:
    """The query the plugin sends: the shopper's own parameters plus ``platform``, ``shop``,
    ``logged_in_customer_id``, ``timestamp`` and ``signature``."""
    pairs = [(k, v) for k, v in extra if k not in PROXY_PARAMS]
    pairs += [("platform", "woocommerce"), ("shop", shop_domain),
              ("logged_in_customer_id", str(customer_id) if customer_id else ""),
              ("timestamp", str(int(time.time()) if timestamp is None else timestamp))]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    digest = hmac.new(secret.encode(), proxy_message(grouped).encode(), hashlib.sha256).hexdigest()
    return [*pairs, ("signature", digest)]


def store_path(store: WooStore) -> str:
    return "/" + store.url.split("://", 1)[-1].split("/", 1)[-1]


def current_customer(request: Request, store: WooStore) -> WooCustomer | None:
    value = request.cookies.get(LOGIN_COOKIE, "")
    return store.customers.get(int(value)) if value.isdigit() else None


def _session(request: Request, store: WooStore) -> tuple[str, dict[str, Any]]:
    key = request.cookies.get(SESSION_COOKIE) or secrets.token_hex(16)
    with store.lock:
        session = store.sessions.setdefault(key, {"items": {}, "coupons": [], "notices": []})
    return key, session


def rest_nonce(store: WooStore, user_id: int) -> str:
    """``wp_create_nonce('wp_rest')`` for ``user_id``: what the page hands the widget."""
    return hmac.new(store.salt.encode(), f"wp_rest|{user_id}".encode(), hashlib.sha256).hexdigest()[:10]


def _with_session(response: Response, store: WooStore, key: str) -> Response:
    response.set_cookie(SESSION_COOKIE, key, path=store_path(store), httponly=True, samesite="Lax")
    return response


def _redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url})


def _locale(request: Request, store: WooStore | None = None) -> str:
    """The page's language: ``?lang=`` (a multilingual plugin's switch), else the site's."""
    site = (store.locale if store is not None else "en_US").split("_")[0]
    value = (request.args.get("lang") or request.args.get("locale") or site).split("-")[0].lower()
    return value if value.isalpha() and len(value) in (2, 3) else "en"


def wp_locale(language: str, store: WooStore | None = None) -> str:
    """``determine_locale()`` with ``-``: ``en-US``, ``he-IL``…"""
    if store is not None and store.locale.split("_")[0] == language:
        return store.locale.replace("_", "-")
    return LOCALES.get(language, language)


def _document(store: WooStore, title: str, body: str, *, locale: str = "en", head: str = "",
              customer: WooCustomer | None = None, status: int = 200) -> Response:
    base = store.url
    account = (f"<a href='{base}/my-account'>{html.escape(customer.first_name or customer.email)}</a> · "
               f"<a href='{base}/my-account/customer-logout'>Log out</a>" if customer
               else f"<a href='{base}/my-account'>Log in</a>")
    doc = (f"<!doctype html><html lang='{locale}' dir='{'rtl' if locale in RTL else 'ltr'}'><head>"
           f"<meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>"
           f"<title>{html.escape(title)} – {html.escape(store.site_name)}</title>{head}"
           "<style>body{font-family:system-ui,sans-serif;margin:0}header,main{padding:1rem 2rem}"
           "header{display:flex;justify-content:space-between;border-bottom:1px solid #ddd}"
           ".products{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:1rem;"
           "list-style:none;padding:0}.product{border:1px solid #eee;padding:.75rem}"
           ".woocommerce-message{background:#eef7ee;padding:.5rem 1rem}"
           ".woocommerce-error{background:#fbeaea;padding:.5rem 1rem}</style></head>"
           f"<body class='woocommerce-page'><header><a href='{base}/'><strong>{html.escape(store.site_name)}</strong>"
           f"</a><nav><a href='{base}/cart'>Cart</a> · {account}</nav></header><main>{body}</main></body></html>")
    return Response(doc, status=status, content_type="text/html; charset=UTF-8")


def widget_markup(sandbox: WooCommerceSandbox, store: WooStore, customer: WooCustomer | None, locale: str) -> str:
    """What the Comeback plugin prints once connected: its script (deferred, in the footer) and, in
    ``wp_footer``, the mount point the widget reads its settings from."""
    plugin = store.plugin
    if not plugin or not plugin.get("secret") or not plugin.get("widget_script"):
        return "<!-- Comeback: not connected -->"
    attrs = {
        "id": "comeback-widget", "class": "comeback-widget",
        "data-endpoint": f"{store.url}/wp-json/comeback/v1",
        "data-shop": plugin["shop_domain"], "data-locale": wp_locale(locale, store),
        "data-customer-id": str(customer.id) if customer else "",
        "data-login-url": f"{store.url}/my-account/",
        "data-nonce": rest_nonce(store, customer.id if customer else 0),
        "data-css": plugin.get("widget_style", ""),
    }
    rendered = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items() if v or k == "data-customer-id")
    return (f"<div data-comeback-widget{rendered}></div>\n"
            f'<script defer src="{html.escape(plugin["widget_script"])}" id="comeback-widget-js"></script>')


def _link_actions(sandbox: WooCommerceSandbox, store: WooStore, request: Request,
                  session: dict[str, Any]) -> str | None:
    """``?add-to-cart`` (WooCommerce) then ``?comeback_coupon`` (the plugin) on any page: where to
    redirect, if anywhere."""
    added = request.args.get("add-to-cart")
    if added and added.isdigit():
        try:
            product, variation = store.product_of(int(added))
        except WPError:
            session["notices"].append(("error", "Sorry, this product cannot be purchased."))
        else:
            if product.type == "variable" and variation is None:
                session["notices"].append(("error", "Please choose product options by visiting the product page."))
            else:
                pid = variation.id if variation else product.id
                with store.lock:
                    session["items"][pid] = session["items"].get(pid, 0) + 1
                session["notices"].append(("message", f"“{product.name}” has been added to your cart."))
                pending = session.pop("pending_coupon", None)
                if pending and pending not in session["coupons"]:
                    _apply_to_cart(store, session, pending)
    code = request.args.get("comeback_coupon")
    if code is None:
        return None
    code = code.strip().lower()
    if not code:
        return store.url + "/"
    if code in session["coupons"]:
        return f"{store.url}/cart/"
    if not session["items"]:
        session["pending_coupon"] = code
        session["notices"].append(("notice", f"Your code {code} will be applied when you add a product to your cart."))
        return f"{store.url}/shop/"
    _apply_to_cart(store, session, code)
    return f"{store.url}/cart/"


def _apply_to_cart(store: WooStore, session: dict[str, Any], code: str) -> None:
    coupon = store.find_coupon(code)
    if coupon is None:
        session["notices"].append(("error", f'Coupon "{code.lower()}" does not exist!'))
    elif coupon.code in session["coupons"]:
        session["notices"].append(("error", "Coupon code already applied!"))
    else:
        session["coupons"].append(coupon.code)
        session["notices"].append(("message", "Coupon code applied successfully."))


def _notices(session: dict[str, Any]) -> str:
    out = "".join(f"<div class='woocommerce-{kind}' role='alert'>{html.escape(text)}</div>"
                  for kind, text in session["notices"])
    session["notices"] = []
    return out


def home(sandbox: WooCommerceSandbox, store: WooStore, request: Request) -> Response:
    key, session = _session(request, store)
    target = _link_actions(sandbox, store, request, session)
    if target:
        return _with_session(_redirect(target), store, key)
    customer = current_customer(request, store)
    locale = _locale(request, store)
    with store.lock:
        products = [p for p in store.products.values() if p.status == "publish"][:12]
        cards = "".join(
            f"<li class='product' data-product-id='{p.id}'><h2>{html.escape(p.name)}</h2>"
            f"<span class='price'>{wc_money(p.price)} {store.currency}</span><br>"
            f"<a class='button add_to_cart_button' href='{store.url}/?add-to-cart="
            f"{p.variations[0].id if p.variations else p.id}'>Add to cart</a></li>" for p in products)
    body = (_notices(session) + f"<h1>Shop</h1><ul class='products'>{cards}</ul>"
            + widget_markup(sandbox, store, customer, locale))
    return _with_session(_document(store, "Shop", body, locale=locale, customer=customer), store, key)


def my_account(sandbox: WooCommerceSandbox, store: WooStore, request: Request) -> Response:
    """Log in as a customer (``?sandbox_login=<id>``, or pick one), or register (POST email)."""
    key, session = _session(request, store)
    login = request.args.get("sandbox_login")
    if request.method == "POST":
        try:
            registered = store.create_customer(email=request.form.get("email", ""),
                                               first_name=request.form.get("first_name", ""),
                                               last_name=request.form.get("last_name", ""))
        except WPError as error:
            session["notices"].append(("error", error.message))
            return _with_session(_redirect(f"{store.url}/my-account"), store, key)
        login = str(registered.id)
    if login is not None:
        response = _redirect(request.args.get("redirect_to") or f"{store.url}/my-account")
        if login.isdigit() and int(login) in store.customers:
            response.set_cookie(LOGIN_COOKIE, login, path=store_path(store), httponly=True, samesite="Lax")
        else:
            response.delete_cookie(LOGIN_COOKIE, path=store_path(store))
        return _with_session(response, store, key)
    customer = current_customer(request, store)
    if customer is not None:
        with store.lock:
            orders = [o for o in store.orders.values() if o.customer_id == customer.id][-10:]
            rows = "".join(f"<tr><td>#{o.id}</td><td>{o.status}</td><td>{wc_money(o.total)} {o.currency}</td></tr>"
                           for o in reversed(orders))
        body = (_notices(session) + f"<h1>My account</h1><p>Hello {html.escape(customer.first_name)} "
                f"({html.escape(customer.email)})</p><table class='orders'>{rows}</table>"
                + widget_markup(sandbox, store, customer, _locale(request, store)))
        return _with_session(_document(store, "My account", body, customer=customer), store, key)
    with store.lock:
        some = list(store.customers.values())[:15]
    links = "".join(f"<li><a href='{store.url}/my-account?sandbox_login={c.id}'>{html.escape(c.email)}</a></li>"
                    for c in some)
    body = (_notices(session) + "<h1>My account</h1><h2>Log in as</h2><ul class='customers'>" + links + "</ul>"
            "<h2>Register</h2><form method='post'><input name='email' type='email' placeholder='Email' required>"
            "<input name='first_name' placeholder='First name'><button>Register</button></form>")
    return _with_session(_document(store, "My account", body), store, key)


def logout(store: WooStore) -> Response:
    response = _redirect(f"{store.url}/my-account")
    response.delete_cookie(LOGIN_COOKIE, path=store_path(store))
    return response


def cart(sandbox: WooCommerceSandbox, store: WooStore, request: Request) -> Response:
    key, session = _session(request, store)
    if request.method == "POST" and request.form.get("coupon_code"):
        _apply_to_cart(store, session, request.form["coupon_code"])
        return _with_session(_redirect(f"{store.url}/cart"), store, key)
    customer = current_customer(request, store)
    rows = []
    with store.lock:
        for pid, qty in session["items"].items():
            product, variation = store.product_of(pid)
            unit = variation.regular_price if variation else product.price
            rows.append(f"<tr data-product-id='{pid}'><td>{html.escape(product.name)}</td><td>{qty}</td>"
                        f"<td>{wc_money(unit * qty)}</td></tr>")
    coupons = "".join(f"<li class='cart-discount coupon-{html.escape(c)}'>Coupon: {html.escape(c)}</li>"
                      for c in session["coupons"])
    form = ("<form method='post' action='checkout'>"
            + ("" if customer else "<input name='billing_email' type='email' placeholder='Email' required>")
            + "<button name='place_order'>Place order</button></form>") if session["items"] else ""
    body = (_notices(session) + f"<h1>Cart</h1><table class='shop_table cart'>{''.join(rows)}</table>"
            f"<ul class='coupons'>{coupons}</ul>"
            "<form method='post'><input name='coupon_code' placeholder='Coupon code'><button>Apply coupon</button>"
            f"</form>{form}" + widget_markup(sandbox, store, customer, _locale(request, store)))
    return _with_session(_document(store, "Cart", body, customer=customer), store, key)


def checkout(sandbox: WooCommerceSandbox, store: WooStore, request: Request) -> Response:
    """Place the cart as a paid order (``processing``), with its coupons and the kept referral."""
    key, session = _session(request, store)
    customer = current_customer(request, store)
    if not session["items"]:
        session["notices"].append(("error", "Your cart is currently empty."))
        return _with_session(_redirect(f"{store.url}/cart"), store, key)
    try:
        order = store.place_order(customer_id=customer.id if customer else None,
                                  items=list(session["items"].items()), coupons=list(session["coupons"]),
                                  email=request.form.get("billing_email"))
    except WPError as error:
        session["notices"].append(("error", error.message))
        return _with_session(_redirect(f"{store.url}/cart"), store, key)
    session["items"], session["coupons"] = {}, []
    body = (f"<h1>Order received</h1><p class='woocommerce-thankyou-order-received'>Thank you. Your order "
            f"has been received.</p><ul><li>Order number: <strong class='order-number'>{order.id}</strong></li>"
            f"<li>Total: {wc_money(order.total)} {order.currency}</li></ul>"
            + widget_markup(sandbox, store, customer, _locale(request, store)))
    return _with_session(_document(store, "Order received", body, customer=customer), store, key)


def _plugin_error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"error": message, "code": code}), status=status,
                    content_type="application/json; charset=UTF-8")


def request_user(request: Request, store: WooStore) -> int:
    """WordPress's REST cookie check: the login cookie counts only with the page's nonce."""
    customer = current_customer(request, store)
    nonce = request.headers.get("X-WP-Nonce") or request.args.get("_wpnonce") or ""
    if customer is None or not hmac.compare_digest(nonce.encode(), rest_nonce(store, customer.id).encode()):
        return 0
    return customer.id


def plugin_proxy(sandbox: WooCommerceSandbox, store: WooStore, request: Request, path: str) -> Response:
    """``/wp-json/comeback/v1/<path>`` → ``{app_url}/proxy/<path>``, signed; the app's answer back
    (``Comeback_Proxy::forward``)."""
    plugin = store.plugin
    if plugin is None:  # the plugin is not installed: WordPress has no such route
        return Response(json.dumps({"code": "rest_no_route", "message": "No route was found matching the URL and "
                                    "request method.", "data": {"status": 404}}), status=404,
                        content_type="application/json; charset=UTF-8")
    if not plugin.get("secret"):
        return _plugin_error(503, "not_connected", "This store is not connected to Comeback yet.")
    body = request.get_data()
    if len(body) > MAX_BODY_BYTES:
        return _plugin_error(413, "too_large", "The request is too large.")
    user = request_user(request, store)
    query = proxy_query(shop_domain=plugin["shop_domain"], customer_id=user, secret=plugin["secret"],
                        extra=parse_qsl(request.query_string.decode("utf-8", "replace"), keep_blank_values=True))
    target = f"{plugin['app_url'].rstrip('/')}/proxy/{path}"
    headers = {"Accept": "application/json", "User-Agent": plugin_user_agent(store)}
    if request.remote_addr:
        headers["X-Forwarded-For"] = request.remote_addr
    if request.headers.get("Accept-Language"):
        headers["Accept-Language"] = request.headers["Accept-Language"][:200]
    method = request.method
    data = None
    if method != "GET" and body:
        headers["Content-Type"] = "application/json"
        data = body
    sandbox.proxy_log.append({"store": store.name, "method": method, "url": target, "params": query,
                              "headers": headers})
    try:
        answer = requests.request(method, target, params=query, data=data, headers=headers,
                                  timeout=15 if method == "GET" else 45, allow_redirects=False)
    except requests.RequestException:
        return _plugin_error(502, "unreachable", "Comeback could not be reached. Please try again.")
    raw = answer.content
    try:
        json.loads(raw)
    except ValueError:
        return _plugin_error(502, "bad_gateway", "Comeback answered with something unexpected.")
    passed = {"Retry-After": answer.headers["Retry-After"]} if "Retry-After" in answer.headers else {}
    passed["Cache-Control"] = "no-cache, must-revalidate, max-age=0, no-store, private"
    return Response(raw, status=answer.status_code, headers=passed, content_type="application/json; charset=UTF-8")


def plugin_user_agent(store: WooStore) -> str:
    return f"Comeback-WordPress/1.0.0 (WordPress/{WP_VERSION}; {store.url})"


__all__ = ["LOGIN_COOKIE", "plugin_proxy", "proxy_message", "proxy_query", "rest_nonce", "widget_markup"]

"""The shopper side of a shop: a small demo storefront that embeds the app's widget, a stand-in for
the shop's customer session, and the app proxy.

Shopify forwards storefront requests under the app's proxy path (``/apps/comeback/*``) to the app's
proxy URL, server side, adding ``shop``, ``logged_in_customer_id`` (empty for a guest),
``path_prefix``, ``timestamp`` and ``signature``: hex HMAC-SHA256 (app secret) of every other
query parameter sorted by key, as ``key=value`` with a repeated key's values joined by ``,``,
concatenated with no separator.  The app's answer goes back to the browser unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlparse

import requests
from werkzeug.wrappers import Request, Response

from sandbox.store.model import Customer

from .common import money
from .store import SandboxError, Shop
from .theme import ThemeExtension

if TYPE_CHECKING:
    from .sandbox import ShopifySandbox

#: The stand-in for Shopify's customer session: the logged-in customer's id, per shop (path).
CUSTOMER_COOKIE = "sandbox_customer_id"
#: The code a shareable discount link (``/discount/<code>``) keeps for checkout, as Shopify does.
DISCOUNT_COOKIE = "discount_code"
#: Parameters the proxy sets itself; a shopper's query cannot supply them.
PROXY_PARAMS = frozenset({"shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature"})
#: Shopify's allowed proxy prefixes (``/apps/<subpath>``, ``/a/…``, ``/community/…``, ``/tools/…``).
PROXY_PREFIXES = ("apps", "a", "community", "tools")
RTL_LANGUAGES = frozenset({"he", "fa", "ar", "ur", "yi"})
WIDGET_SCRIPT_PATH = "/storefront/comeback-widget.js"
#: Request headers passed on to the app (Shopify drops cookies and most others).
FORWARDED_HEADERS = ("Accept", "Accept-Language", "User-Agent", "Content-Type")
PASSED_BACK_HEADERS = ("Cache-Control", "Location", "Retry-After")

_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "ILS": "₪", "JPY": "¥"}

TEXT: dict[str, dict[str, str]] = {
    "en": {"featured": "Featured products", "login": "Log in", "logout": "Log out", "hello": "Hello, {name}",
           "choose": "Log in as a customer of this sandbox shop", "other": "Customer id", "go": "Log in",
           "no_app": "No app URL is configured (sandbox.app_config(app_url=…) or --app-url): the widget is off.",
           "unknown": "There is no customer {id} in this shop.", "back": "Back to the store",
           "discount": "Discount code {code} will be applied at checkout."},
    "he": {"featured": "מוצרים נבחרים", "login": "התחברות", "logout": "התנתקות", "hello": "שלום, {name}",
           "choose": "התחברות כלקוח של חנות הדמו", "other": "מזהה לקוח", "go": "התחברות",
           "no_app": "לא הוגדרה כתובת אפליקציה: הווידג'ט כבוי.",
           "unknown": "אין לקוח {id} בחנות הזו.", "back": "חזרה לחנות",
           "discount": "קוד ההנחה {code} יוחל בקופה."},
    "fa": {"featured": "محصولات منتخب", "login": "ورود", "logout": "خروج", "hello": "سلام، {name}",
           "choose": "ورود به عنوان یکی از مشتریان این فروشگاه آزمایشی", "other": "شناسهٔ مشتری", "go": "ورود",
           "no_app": "نشانی برنامه تنظیم نشده است: ویجت خاموش است.",
           "unknown": "مشتری {id} در این فروشگاه وجود ندارد.", "back": "بازگشت به فروشگاه",
           "discount": "کد تخفیف {code} هنگام پرداخت اعمال می‌شود."},
}


# --- signing ---------------------------------------------------------------------------------


def proxy_message(params: Mapping[str, Sequence[str]]) -> str:
    """Every parameter but ``signature``, sorted by key, ``key=value`` with a repeated key's
    values joined by ``,``, concatenated with no separator."""
    return "".join(f"{key}={','.join(values)}" for key, values in sorted(params.items()) if key != "signature")


def proxy_signature(params: Mapping[str, Sequence[str]], secret: str) -> str:
    return hmac.new(secret.encode(), proxy_message(params).encode(), hashlib.sha256).hexdigest()


def proxy_query(shop_domain: str, customer_id: int | str | None, path_prefix: str, secret: str,
                extra: Iterable[tuple[str, str]] = (), timestamp: int | None = None) -> list[tuple[str, str]]:
    """The query string Shopify sends to the app: the shopper's own parameters (minus the ones
    the proxy sets), then ``shop, logged_in_customer_id, path_prefix, timestamp, signature``."""
    pairs = [(k, v) for k, v in extra if k not in PROXY_PARAMS]
    pairs += [("shop", shop_domain), ("logged_in_customer_id", "" if customer_id is None else str(customer_id)),
              ("path_prefix", path_prefix), ("timestamp", str(int(time.time()) if timestamp is None else timestamp))]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return [*pairs, ("signature", proxy_signature(grouped, secret))]


def valid_proxy_path(path: str) -> str:
    """``/apps/comeback`` style: one of Shopify's prefixes and a subpath."""
    parts = path.strip().strip("/").split("/")
    if len(parts) != 2 or parts[0] not in PROXY_PREFIXES or not re.fullmatch(r"[A-Za-z0-9_-]+", parts[1]):
        raise SandboxError(f"an app proxy path is /<{'|'.join(PROXY_PREFIXES)}>/<subpath>, not {path!r}")
    return "/" + "/".join(parts)


# --- the customer session --------------------------------------------------------------------


def cookie_path(shop: Shop) -> str:
    return urlparse(shop.origin).path or "/"


def current_customer(request: Request, shop: Shop) -> Customer | None:
    raw = request.cookies.get(CUSTOMER_COOKIE, "")
    return shop.get_customer(raw) if raw.isdigit() else None


def page_locale(request: Request) -> str:
    locale = request.args.get("locale", "en")
    return locale if _LOCALE_RE.match(locale) else "en"


def _text(locale: str) -> dict[str, str]:
    return TEXT.get(locale.split("-")[0].lower(), TEXT["en"])


def price(amount: Decimal, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{money(amount)}" if symbol else f"{money(amount)} {currency}"


def customer_name(customer: Customer) -> str:
    name = " ".join(p for p in (customer.first_name, customer.last_name) if p)
    return name or customer.email or str(customer.id)


# --- pages -----------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:0;color:#1f2328;background:#faf7f2}"
    "header{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:1rem 2rem;"
    "background:#fff;border-block-end:1px solid #e5e0d8}header h1{margin:0;font-size:1.4rem}"
    "main{padding:1.5rem 2rem;max-width:64rem}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:1rem;padding:0;"
    "list-style:none}.grid li{background:#fff;border:1px solid #e5e0d8;border-radius:.5rem;padding:1rem}"
    ".grid .img{aspect-ratio:4/3;border-radius:.35rem;margin-block-end:.75rem}.price{font-weight:600}"
    ".notice{background:#fff4d6;border:1px solid #e8c96a;padding:.5rem 1rem;border-radius:.35rem}"
    "a{color:#0b5cad}"
)


def _document(locale: str, title: str, body: str, status: int = 200, head: str = "") -> Response:
    direction = "rtl" if locale.split("-")[0].lower() in RTL_LANGUAGES else "ltr"
    doc = (f"<!doctype html><html lang='{html.escape(locale)}' dir='{direction}'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width,initial-scale=1'>"
           f"<title>{html.escape(title)}</title><style>{_STYLE}</style>{head}</head><body>{body}</body></html>")
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


def storefront_page(sandbox: ShopifySandbox, shop: Shop, request: Request) -> Response:
    """``GET {origin}/``: header, a few products, and the app's widget as an app embed would add it.
    ``?customer=<id>`` logs that customer in (cookie on the shop's path); ``?customer=`` logs out."""
    locale = page_locale(request)
    text = _text(locale)
    notices: list[str] = []
    set_customer: str | None = None  # None: leave the cookie; "": clear it; else the id
    customer = current_customer(request, shop)
    if "customer" in request.args:
        wanted = request.args.get("customer", "").strip()
        chosen = shop.get_customer(wanted) if wanted.isdigit() else None
        if wanted and chosen is None:
            notices.append(text["unknown"].format(id=html.escape(wanted)))
        customer = chosen
        set_customer = str(chosen.id) if chosen else ""
    code = request.cookies.get(DISCOUNT_COOKIE, "")
    if code and shop.discount_by_code(code) is not None:
        notices.append(text["discount"].format(code=f"<bdi dir='ltr'>{html.escape(code)}</bdi>"))
    origin = shop.origin
    suffix = f"?{urlencode({'locale': locale})}"
    if customer is not None:
        account = (f"<span>{html.escape(text['hello'].format(name=customer_name(customer)))}</span> · "
                   f"<a href='{html.escape(origin)}/account/logout{suffix}'>{text['logout']}</a>")
    else:
        account = f"<a href='{html.escape(origin)}/account/login{suffix}'>{text['login']}</a>"
    products = [p for p in shop.products if p.status == "ACTIVE" and p.variants][:8]
    items = "".join(
        f"<li><div class='img' style='background:hsl({(p.id * 47) % 360} 45% 85%)' aria-hidden='true'></div>"
        f"<div>{html.escape(p.title)}</div>"
        f"<div class='price'>{html.escape(price(p.variants[0].price, shop.currency))}</div></li>"
        for p in products)
    widget = ""
    extension = sandbox.theme_extension
    if sandbox.app_url and shop.installed and shop.app_embed_enabled and extension is not None:
        widget = app_embeds(sandbox, extension, shop, request, customer, locale)
    elif sandbox.app_url and shop.installed and shop.widget_snippet:
        endpoint = f"{origin}{sandbox.app_proxy_path}"
        widget = (f"<script src='{html.escape(sandbox.app_url + WIDGET_SCRIPT_PATH)}' "
                  f"data-endpoint='{html.escape(endpoint)}' "
                  f"data-login-url='{html.escape(origin + '/account/login' + suffix)}' defer></script>")
    elif not sandbox.app_url:
        notices.append(text["no_app"])
    notice_html = "".join(f"<p class='notice' role='status'>{n}</p>" for n in notices)
    body = (f"<header><h1>{html.escape(shop.name)}</h1><nav>{account}</nav></header>"
            f"<main>{notice_html}<h2>{text['featured']}</h2><ul class='grid'>{items}</ul></main>{widget}")
    response = _document(locale, shop.name, body)
    if set_customer:
        response.set_cookie(CUSTOMER_COOKIE, set_customer, path=cookie_path(shop), httponly=True, samesite="Lax")
    elif set_customer == "":
        response.delete_cookie(CUSTOMER_COOKIE, path=cookie_path(shop), httponly=True, samesite="Lax")
    return response


def liquid_objects(shop: Shop, request: Request, customer: Customer | None, locale: str) -> dict[str, object]:
    """Shopify's storefront objects as a theme block sees them (the fields our block and the
    common ones use).  ``routes`` are paths on the shop's origin, as on Shopify."""
    root = cookie_path(shop).rstrip("/") + "/"
    primary = next((code for code, is_primary in shop.config.locales if is_primary), "en")
    query = "" if locale == primary else f"?{urlencode({'locale': locale})}"
    person = None
    if customer is not None:
        person = {"id": customer.id, "email": customer.email or "", "first_name": customer.first_name or "",
                  "last_name": customer.last_name or "", "name": customer_name(customer),
                  "has_account": True}
    return {
        "customer": person,
        "shop": {"name": shop.name, "permanent_domain": shop.domain, "domain": shop.domain, "url": shop.origin,
                 "secure_url": shop.origin, "currency": shop.currency, "email": shop.config.email,
                 "locale": primary},
        "request": {"locale": {"iso_code": locale, "primary": locale == primary, "root_url": root.rstrip("/") or "/"},
                    "design_mode": False, "page_type": "index", "path": root, "host": urlparse(shop.origin).netloc},
        "routes": {"root_url": root, "account_url": f"{root}account{query}",
                   "account_login_url": f"{root}account/login{query}",
                   "account_logout_url": f"{root}account/logout{query}", "cart_url": f"{root}cart",
                   "search_url": f"{root}search"},
        "localization": {"language": {"iso_code": locale}},
    }


def app_embeds(sandbox: ShopifySandbox, extension: ThemeExtension, shop: Shop, request: Request,
               customer: Customer | None, locale: str) -> str:
    """The app's embed blocks with ``target: body``, rendered with Liquid, as Shopify adds them
    before ``</body>`` when the merchant switched the embed on."""
    objects = liquid_objects(shop, request, customer, locale)
    return "".join(
        extension.render_block(block, cdn_origin=sandbox.base_url, locale=locale,
                               settings=shop.app_embed_settings, objects=objects)
        for block in extension.app_embeds if block.target == "body")


def extension_asset(sandbox: ShopifySandbox, handle: str, name: str) -> Response:
    """``GET {sandbox}/extensions/<handle>/<version>/assets/<name>``: the extension's file, as
    Shopify's CDN serves it (cacheable for a year: a new version has a new URL)."""
    extension = sandbox.theme_extension
    found = extension.asset(name) if extension is not None and extension.handle == handle else None
    if found is None:
        return _json_error("Not Found", 404)
    content, content_type = found
    return Response(content, content_type=content_type, headers={
        "Cache-Control": "public, max-age=31536000, immutable", "Access-Control-Allow-Origin": "*"})


_EDITOR_TEXT = {"accent": "Accent colour", "position": "Launcher position", "label": "Launcher label",
                "auto": "Bottom corner where lines end", "right": "Bottom right", "left": "Bottom left"}


def theme_editor_page(sandbox: ShopifySandbox, shop: Shop, request: Request) -> Response:
    """``{origin}/admin/themes/current/editor?context=apps&activateAppId=<client id>/<block>``: the
    theme editor's App embeds panel.  Shopify's deep link turns the named embed's switch on in the
    editor; nothing is live until the merchant saves (a POST here)."""
    extension = sandbox.theme_extension
    if extension is None or not extension.app_embeds:
        return _document("en", "Theme editor", "<main><p>This app has no app embed.</p></main>", status=404)
    block = extension.app_embeds[0]
    saved, error = False, ""
    if request.method == "POST":
        form = request.form
        ids = [setting.get("id") for setting in block.schema.get("settings", [])]
        try:
            values = block.settings_clean({key: form.get(key, "").strip() for key in ids if key in form})
        except SandboxError as problem:
            error = str(problem)
        else:
            shop.app_embed_set(enabled=form.get("enabled") == "on", settings=values)
            saved = True
    activate = request.args.get("activateAppId", "")
    deep_linked = activate == f"{sandbox.api_key}/{block.handle}"
    enabled = shop.app_embed_enabled or (deep_linked and request.method == "GET")
    current = {**block.defaults(), **shop.app_embed_settings}
    fields = []
    for setting in block.schema.get("settings", []):
        key, kind = setting.get("id"), setting.get("type")
        label = html.escape(_EDITOR_TEXT.get(key, key))
        value = "" if current.get(key) is None else str(current.get(key))
        if kind == "select":
            options = "".join(
                f"<option value='{html.escape(o['value'])}'{' selected' if o['value'] == value else ''}>"
                f"{html.escape(_EDITOR_TEXT.get(o['value'], o['value']))}</option>" for o in setting.get("options", []))
            control = f"<select id='s-{key}' name='{key}'>{options}</select>"
        else:
            control = (f"<input id='s-{key}' name='{key}' type='{'color' if kind == 'color' else 'text'}' "
                       f"value='{html.escape(value)}'>")
        fields.append(f"<p><label for='s-{key}'>{label}</label> {control}</p>")
    note = "<p class='notice' role='status'>Saved.</p>" if saved else ""
    if error:
        note = f"<p class='notice' role='alert'>Not saved: {html.escape(error)}</p>"
    if deep_linked and not shop.app_embed_enabled and not saved:
        note = "<p class='notice' role='status'>Comeback rewards is switched on below: save to publish it.</p>"
    body = (f"<header><h1>{html.escape(shop.name)} · Theme editor</h1><nav><a href='{html.escape(shop.origin)}/'>"
            f"View store</a></nav></header><main>{note}<h2>App embeds</h2>"
            f"<form method='post' action=''><fieldset><legend>Comeback rewards</legend>"
            f"<p><label><input type='checkbox' name='enabled' role='switch'{' checked' if enabled else ''}> "
            f"Enabled</label></p>{''.join(fields)}</fieldset><p><button type='submit'>Save</button></p></form></main>")
    return _document("en", f"Theme editor · {shop.name}", body, status=400 if error else 200)


def login_page(shop: Shop, request: Request) -> Response:
    """``GET {origin}/account/login``: pick a customer to be (the sandbox has no passwords)."""
    locale = page_locale(request)
    text = _text(locale)
    origin = html.escape(shop.origin)
    people = [c for c in shop.customers if c.email][:12]
    rows = "".join(
        f"<li><a href='{origin}/?{html.escape(urlencode({'customer': c.id, 'locale': locale}))}'>"
        f"{html.escape(customer_name(c))}</a> <small>{html.escape(c.email or '')} · {c.id}</small></li>"
        for c in people)
    body = (f"<header><h1>{html.escape(shop.name)}</h1><nav><a href='{origin}/?locale={html.escape(locale)}'>"
            f"{text['back']}</a></nav></header><main><h2>{text['choose']}</h2><ul>{rows}</ul>"
            f"<form method='get' action='{origin}/'><input type='hidden' name='locale' value='{html.escape(locale)}'>"
            f"<label>{text['other']} <input name='customer' inputmode='numeric' required></label> "
            f"<button type='submit'>{text['go']}</button></form></main>")
    return _document(locale, f"{text['login']} · {shop.name}", body)


def discount_link(shop: Shop, request: Request, code: str) -> Response:
    """``GET {origin}/discount/<code>?redirect=/path``: Shopify's shareable discount link.  The code
    is kept in a cookie for checkout (the store page says so) and the shopper goes on to
    ``redirect``, a path in the shop (anything else: the home page)."""
    target = request.args.get("redirect", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = Response("", status=302, headers={"Location": shop.origin + target})
    response.set_cookie(DISCOUNT_COOKIE, code, path=cookie_path(shop), samesite="Lax")
    return response


def logout(shop: Shop, request: Request) -> Response:
    location = f"{shop.origin}/?{urlencode({'locale': page_locale(request)})}"
    response = Response("", status=302, headers={"Location": location})
    response.delete_cookie(CUSTOMER_COOKIE, path=cookie_path(shop), httponly=True, samesite="Lax")
    return response


# --- the app proxy ---------------------------------------------------------------------------


def _json_error(message: str, status: int) -> Response:
    return Response(json.dumps({"errors": message}), status=status, content_type="application/json; charset=utf-8")


def app_proxy(sandbox: ShopifySandbox, shop: Shop, request: Request, path_prefix: str, rest: str) -> Response:
    """Forward ``{origin}{path_prefix}/<rest>`` to ``{app proxy url}/<rest>``, signed."""
    if not sandbox.app_url or path_prefix != sandbox.app_proxy_path or not shop.installed:
        return _json_error("Not Found", 404)
    customer = current_customer(request, shop)
    query = proxy_query(shop.domain, customer.id if customer else None, path_prefix, sandbox.api_secret,
                        extra=request.args.items(multi=True))
    target = sandbox.app_proxy_target + (f"/{rest}" if rest else "")
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    headers["X-Forwarded-For"] = request.remote_addr or ""
    body = request.get_data() if request.method not in ("GET", "HEAD") else None
    try:
        answer = requests.request(request.method, target, params=query, data=body, headers=headers,
                                  timeout=sandbox.app_proxy_timeout, allow_redirects=False)
    except requests.RequestException as error:
        return _json_error(f"the app did not answer: {type(error).__name__}", 502)
    passed = {name: answer.headers[name] for name in PASSED_BACK_HEADERS if name in answer.headers}
    return Response(answer.content, status=answer.status_code, headers=passed,
                    content_type=answer.headers.get("Content-Type", "application/octet-stream"))


__all__ = ["CUSTOMER_COOKIE", "DISCOUNT_COOKIE", "app_embeds", "app_proxy", "discount_link", "extension_asset",
           "liquid_objects", "login_page", "logout", "proxy_query", "theme_editor_page",
           "proxy_signature", "storefront_page", "valid_proxy_path"]
